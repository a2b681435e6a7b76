/**
 * spec.tls.certManager (issue #14): the cert-manager Certificate the
 * operator owns — its Secret is the one the pods mount, the DNS names are
 * those of the operator's own certificates, usages allow the bus's mutual
 * TLS, issuerRef/duration/renewBefore come from the spec — and when an
 * existing Certificate is rewritten. The real cert-manager issuing it runs
 * in test/e2e/cert-manager-tls.test.ts.
 */
import { expect } from 'chai';
import {
  CERTIFICATES, certificateReadiness, certificateSpec, certificateUpToDate, certManagerCertificateName, desiredCertificate, ownedByCluster, updatedCertificate,
  type Certificate,
} from '../../operator/kube/build/cert-manager-certificate.js';
import { certificateHosts, certManagerIssuesCertificate, operatorIssuesCertificate, podTlsSecretName } from '../../operator/kube/build/tls-secret.js';
import type { CertManagerSpec, IrisCluster, IrisClusterSpec } from '../../operator/kube/iris-cluster.js';

const CM: CertManagerSpec = { issuerRef: { name: 'iris-ca' } };
const CR: IrisCluster = { metadata: { name: 'iris', namespace: 'db', uid: 'uid-1' }, spec: { tls: { enabled: true, certManager: CM } } };

describe('operator/kube spec.tls.certManager Certificate', () => {
  it('is chosen by spec.tls.certManager with TLS on; the pods mount the Secret it names (<cluster>-tls)', () => {
    const spec = CR.spec!;
    expect(certManagerIssuesCertificate(spec)).to.equal(true);
    expect(operatorIssuesCertificate(spec), 'the operator CA issues nothing').to.equal(false);
    expect(podTlsSecretName('iris', spec)).to.equal('iris-tls');
    expect(desiredCertificate(CR, CM).spec.secretName).to.equal('iris-tls');
    expect(certManagerIssuesCertificate({ tls: { enabled: false, certManager: CM } } as IrisClusterSpec)).to.equal(false);
    expect(certManagerIssuesCertificate({ tls: { enabled: true } })).to.equal(false);
    expect(operatorIssuesCertificate({ tls: { enabled: true } })).to.equal(true);
  });

  it('carries the operator certificate\'s DNS names, server and client auth, and the issuerRef with cert-manager\'s defaults', () => {
    const c = desiredCertificate(CR, CM);
    expect(c.apiVersion).to.equal('cert-manager.io/v1');
    expect(c.kind).to.equal('Certificate');
    expect(CERTIFICATES.plural).to.equal('certificates');
    expect(c.metadata).to.include({ name: certManagerCertificateName('iris'), namespace: 'db' });
    expect(c.spec.dnsNames).to.deep.equal(certificateHosts('iris', 'db'));
    expect(c.spec.dnsNames).to.include('*.iris-nodes.db.svc.cluster.local');
    expect(c.spec.usages).to.include.members(['server auth', 'client auth']);
    expect(c.spec.issuerRef).to.deep.equal({ name: 'iris-ca', kind: 'Issuer', group: 'cert-manager.io' });
    expect(c.spec).to.not.have.property('duration');
    expect(c.spec).to.not.have.property('renewBefore');
    expect(c.spec.secretTemplate.labels).to.include({ 'app.kubernetes.io/instance': 'iris' });
  });

  it('owned by the IrisCluster (garbage-collected with it)', () => {
    const c = desiredCertificate(CR, CM);
    expect(c.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisCluster', name: 'iris', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
    expect(ownedByCluster(c, CR)).to.equal(true);
    expect(ownedByCluster({ ...c, metadata: { ...c.metadata, ownerReferences: [] } }, CR)).to.equal(false);
    expect(ownedByCluster(c, { ...CR, metadata: { ...CR.metadata, uid: 'other' } })).to.equal(false);
  });

  it('passes a ClusterIssuer, an external issuer group, duration and renewBefore through', () => {
    const s = certificateSpec('iris', 'db', { issuerRef: { name: 'corp', kind: 'ClusterIssuer', group: 'awspca.cert-manager.io' }, duration: '2160h', renewBefore: '720h' });
    expect(s.issuerRef).to.deep.equal({ name: 'corp', kind: 'ClusterIssuer', group: 'awspca.cert-manager.io' });
    expect(s).to.include({ duration: '2160h', renewBefore: '720h' });
  });

  it('is rewritten only when what the spec asks for differs; other fields (privateKey) are kept, a removed duration is dropped', () => {
    const desired = desiredCertificate(CR, CM);
    const stored = (spec: object): Certificate => ({ ...desired, metadata: { ...desired.metadata, resourceVersion: '7' }, spec: { ...desired.spec, ...spec } });
    expect(certificateUpToDate(stored({ privateKey: { algorithm: 'ECDSA' } }), desired), 'a field cert-manager or a user added').to.equal(true);
    expect(certificateUpToDate(stored({ issuerRef: { name: 'old', kind: 'Issuer', group: 'cert-manager.io' } }), desired)).to.equal(false);
    expect(certificateUpToDate(stored({ dnsNames: ['x'] }), desired)).to.equal(false);
    expect(certificateUpToDate(stored({ duration: '24h' }), desired), 'duration removed from the spec').to.equal(false);
    const updated = updatedCertificate(stored({ duration: '24h', privateKey: { algorithm: 'ECDSA' } }), desired);
    expect(updated.metadata.resourceVersion).to.equal('7');
    expect(updated.spec).to.not.have.property('duration');
    expect((updated.spec as unknown as { privateKey: unknown }).privateKey).to.deep.equal({ algorithm: 'ECDSA' });
    expect(certificateUpToDate(updated, desired)).to.equal(true);
  });

  it('says what cert-manager reports while the Secret is not there', () => {
    expect(certificateReadiness(null)).to.match(/has not reported/);
    const c: Certificate = { ...desiredCertificate(CR, CM), status: { conditions: [{ type: 'Ready', status: 'False', reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist' }] } };
    expect(certificateReadiness(c)).to.equal('Ready=False DoesNotExist: Issuing certificate as Secret does not exist');
  });
});
