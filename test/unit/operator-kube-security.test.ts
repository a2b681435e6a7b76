/**
 * spec.auth and spec.tls on Kubernetes (issue #14): the pods' Secret volumes
 * and node flags, the aclfile the operator derives from the password (only
 * its digest), the names the operator's certificate is valid for, and when
 * it is issued again.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import { createCommandTable } from '../../node/commands/table.js';
import { catalogFromTable } from '../../node/acl/catalog.js';
import { parseAclFile } from '../../node/acl/aclfile.js';
import { AclStore } from '../../node/acl/store.js';
import { createCertificateAuthority, issueCertificate } from '../../node/tls/cert-authority.js';
import { ACL_FILE, ACL_KEY, aclFileFor, aclSecret, aclSecretName, aclSecretRefOf, authSecretRef, composeAclFile } from '../../operator/kube/build/auth-secret.js';
import { AclChecker } from '../../operator/kube/reconcile/auth-acl.js';
import { podTemplate } from '../../operator/kube/build/pod-template.js';
import { podSpecHash } from '../../operator/kube/build/spec-hash.js';
import { servesHttps } from '../../operator/kube/pod-facts.js';
import { certificateHosts, issuedTlsSecret, operatorIssuesCertificate, podTlsSecretName } from '../../operator/kube/build/tls-secret.js';
import type { IrisCluster, IrisClusterSpec } from '../../operator/kube/iris-cluster.js';
import { certificateFacts, certificateNotAfter, renewalDecision, type CertificateFacts } from '../../operator/kube/reconcile/tls-renewal.js';

const CR: IrisCluster = { metadata: { name: 'iris', namespace: 'db', uid: 'uid-1' }, spec: {} };
const node = (t: V1PodTemplateSpec): V1Container => t.spec!.containers.find((c) => c.name === 'node')!;
const flag = (c: V1Container, name: string): string | undefined => {
  const args = c.args ?? [];
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

describe('operator/kube spec.auth and spec.tls in the pod template', () => {
  it('without either, the pod has no Secret volume and serves plain RESP on 6379', () => {
    for (const spec of [{}, { tls: { enabled: false } }] as IrisClusterSpec[]) {
      const t = podTemplate('iris', 0, spec);
      expect(t.spec!.volumes!.filter((v) => v.secret !== undefined)).to.deep.equal([]);
      expect(flag(node(t), '--port')).to.equal('6379');
      expect(node(t).args).to.not.include.members(['--aclfile', '--tls-port']);
    }
  });

  it('spec.auth.secretRef: mounts the operator\'s aclfile Secret (not the user\'s) and passes --aclfile', () => {
    const spec: IrisClusterSpec = { auth: { secretRef: { name: 'my-password', key: 'pw' } } };
    const t = podTemplate('iris', 1, spec);
    const vol = t.spec!.volumes!.find((v) => v.secret !== undefined)!;
    expect(vol.secret).to.deep.equal({ secretName: aclSecretName('iris'), defaultMode: 0o440 });
    expect(JSON.stringify(t)).to.not.contain('my-password');
    const c = node(t);
    expect(flag(c, '--aclfile')).to.equal(ACL_FILE);
    expect(ACL_FILE.startsWith(c.volumeMounts!.find((m) => m.name === vol.name)!.mountPath + '/')).to.equal(true);
    // /tmp stays the last mount (the test kubelet's sources live under /tmp).
    expect(c.volumeMounts!.at(-1)!.mountPath).to.equal('/tmp');
    expect(flag(c, '--port')).to.equal('6379');
    expect(authSecretRef(spec)).to.deep.equal({ name: 'my-password', key: 'pw' });
    expect(authSecretRef({ auth: { secretRef: { name: 'p' } } })).to.deep.equal({ name: 'p', key: 'password' });
  });

  it('spec.tls with secretRef: mounts that Secret, TLS only on the RESP port, mutual TLS on the bus', () => {
    const spec: IrisClusterSpec = { tls: { enabled: true, secretRef: { name: 'my-tls' } } };
    const t = podTemplate('iris', 0, spec);
    expect(t.spec!.volumes!.find((v) => v.name === 'tls')!.secret!.secretName).to.equal('my-tls');
    const c = node(t);
    expect(flag(c, '--port')).to.equal('0');
    expect(flag(c, '--tls-port')).to.equal('6379');
    expect(flag(c, '--tls-cluster')).to.equal('yes');
    expect([flag(c, '--tls-cert-file'), flag(c, '--tls-key-file'), flag(c, '--tls-ca-cert-file')]).to.deep.equal(['/etc/irisdb/tls/tls.crt', '/etc/irisdb/tls/tls.key', '/etc/irisdb/tls/ca.crt']);
    expect(c.volumeMounts!.find((m) => m.name === 'tls')).to.deep.include({ mountPath: '/etc/irisdb/tls', readOnly: true });
    // The HTTP port (probes, the operator's admin API, /v1) serves HTTPS only.
    expect(flag(c, '--tls-http')).to.equal('yes');
    expect(c.readinessProbe!.httpGet!.scheme).to.equal('HTTPS');
    expect(c.livenessProbe!.httpGet!.scheme).to.equal('HTTPS');
    expect(c.readinessProbe!.httpGet!.path).to.equal('/readyz');
    expect(servesHttps({ spec: { containers: [c] } })).to.equal(true);
    const plain = node(podTemplate('iris', 0, {}));
    expect(plain.readinessProbe!.httpGet!.scheme ?? 'HTTP').to.equal('HTTP');
    expect(plain.args).to.not.include('--tls-http');
    expect(servesHttps({ spec: { containers: [plain] } })).to.equal(false);
    expect(operatorIssuesCertificate(spec)).to.equal(false);
  });

  it('spec.tls.enabled without secretRef: mounts the operator-issued Secret', () => {
    const spec: IrisClusterSpec = { tls: { enabled: true } };
    expect(podTlsSecretName('iris', spec)).to.equal('iris-tls');
    expect(podTemplate('iris', 0, spec).spec!.volumes!.find((v) => v.name === 'tls')!.secret!.secretName).to.equal('iris-tls');
    expect(operatorIssuesCertificate(spec)).to.equal(true);
    expect(podTlsSecretName('iris', { tls: { enabled: false, secretRef: { name: 'x' } } })).to.equal(null);
  });

  it('the spec hash changes when auth or tls is turned on, not for a new password Secret nor for tls left off', () => {
    const base = podSpecHash({});
    expect(podSpecHash({ tls: { enabled: false } })).to.equal(base);
    expect(podSpecHash({ tls: {} })).to.equal(base);
    expect(podSpecHash({ tls: { enabled: true } })).to.not.equal(base);
    const a = podSpecHash({ auth: { secretRef: { name: 'a' } } });
    expect(a).to.not.equal(base);
    expect(podSpecHash({ auth: { secretRef: { name: 'b', key: 'k' } } })).to.equal(a);
  });
});

describe('operator/kube spec.auth aclfile', () => {
  const catalog = catalogFromTable(createCommandTable());

  it('holds the password\'s digest only, and the node\'s parser authenticates the password with it', () => {
    const password = 'correct horse:battery staple';
    const text = aclFileFor(password);
    expect(text).to.not.contain(password);
    const io = { read: () => text, write: () => {} };
    const store = new AclStore(catalog, { requirePass: '', aclfile: '/x', logMaxLen: 10, io });
    expect(store.defaultOpen()).to.equal(false);
    expect(store.authenticate('default', Buffer.from(password))?.name).to.equal('default');
    expect(store.authenticate('default', Buffer.from('wrong'))).to.equal(null);
    expect(parseAclFile(text, catalog).size).to.equal(1);
  });

  it('is an owned Secret of the cluster', () => {
    const s = aclSecret(CR, aclFileFor('pw'));
    expect(s.metadata!.name).to.equal('iris-acl');
    expect(s.metadata!.ownerReferences![0]).to.include({ kind: 'IrisCluster', uid: 'uid-1', controller: true });
    expect(Buffer.from(s.data![ACL_KEY]!, 'base64').toString()).to.equal(aclFileFor('pw'));
  });

  it('spec.auth.aclSecretRef: the user\'s aclfile, its default user replaced by secretRef\'s password, checked and stored as digests', () => {
    expect(aclSecretRefOf({ auth: { aclSecretRef: { name: 'users' } } })).to.deep.equal({ name: 'users', key: 'users.acl' });
    expect(aclSecretRefOf({ auth: { secretRef: { name: 'p' } } })).to.equal(null);
    const file = '# tenants\nuser default on nopass ~* +@all\nuser alice on >alice-pw ~alice:* +@all\n';
    expect(composeAclFile(file, null)).to.equal('user default on nopass ~* +@all\nuser alice on >alice-pw ~alice:* +@all\n');
    expect(composeAclFile(file, 'pw')).to.equal(`user alice on >alice-pw ~alice:* +@all\n${aclFileFor('pw')}`);
    const checker = new AclChecker();
    const text = checker.canonical(composeAclFile(file, 'pw'));
    expect(text).to.not.contain('alice-pw');
    const store = new AclStore(catalog, { requirePass: '', aclfile: '/x', logMaxLen: 10, io: { read: () => text, write: () => {} } });
    expect(store.authenticate('alice', Buffer.from('alice-pw'))?.name).to.equal('alice');
    expect(store.authenticate('default', Buffer.from('pw'))?.name).to.equal('default');
    expect(store.defaultOpen()).to.equal(false);
    expect(() => checker.canonical('user bob on +nosuchcommand\n')).to.throw(/nosuchcommand/i);
    // Only an aclfile: the pods mount the aclfile Secret all the same.
    const t = podTemplate('iris', 0, { auth: { aclSecretRef: { name: 'users' } } });
    expect(flag(node(t), '--aclfile')).to.equal(ACL_FILE);
  });
});

describe('operator/kube operator-issued certificate', () => {
  it('names the client Service and every pod through the headless Service, in short and qualified forms', () => {
    const hosts = certificateHosts('iris', 'db');
    expect(hosts).to.include.members(['iris', 'iris.db.svc', 'iris.db.svc.cluster.local', '*.iris-nodes', '*.iris-nodes.db.svc.cluster.local', 'iris-nodes.db.svc']);
    expect(hosts.every((h) => !/^[\d.]+$/.test(h)), 'no pod IPs: they change').to.equal(true);
  });

  const day = 86_400_000;
  const facts = (over: Partial<CertificateFacts> = {}): CertificateFacts => ({ notBefore: 0, notAfter: 90 * day, hosts: ['a', 'b'], signedByCa: true, ...over });

  it('is issued again when missing, not the CA\'s, missing a name, or with less than a third of its life left', () => {
    expect(renewalDecision(null, ['a'], 0)).to.deep.equal({ issue: true, reason: 'no certificate yet' });
    expect(renewalDecision(facts(), ['a', 'b'], 10 * day)).to.deep.equal({ issue: false });
    expect(renewalDecision(facts(), ['a', 'b'], 60 * day - 1)).to.deep.equal({ issue: false });
    expect(renewalDecision(facts(), ['a', 'b'], 60 * day + 1)).to.deep.include({ issue: true });
    expect(renewalDecision(facts(), ['a'], 100 * day)).to.deep.equal({ issue: true, reason: 'renewal due: expired' });
    expect(renewalDecision(facts({ signedByCa: false }), ['a'], 0)).to.deep.include({ issue: true });
    expect(renewalDecision(facts(), ['a', 'c'], 0)).to.deep.equal({ issue: true, reason: 'the certificate does not name c' });
  });

  it('reads validity, names and issuer from real certificates (openssl)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-sec-'));
    try {
      const ca = await createCertificateAuthority(dir, 'ca');
      const other = await createCertificateAuthority(dir, 'other');
      const cert = await issueCertificate(ca, dir, 'node', { hosts: certificateHosts('iris', 'db'), days: 90 });
      const pem = fs.readFileSync(cert.certFile, 'utf8');
      const f = certificateFacts(pem, fs.readFileSync(ca.certFile, 'utf8'))!;
      expect(f.signedByCa).to.equal(true);
      expect(Math.round((f.notAfter - f.notBefore) / day)).to.equal(90);
      expect(renewalDecision(f, certificateHosts('iris', 'db'), Date.now())).to.deep.equal({ issue: false });
      expect(renewalDecision(f, certificateHosts('iris', 'other-ns'), Date.now())).to.deep.include({ issue: true });
      expect(certificateFacts(pem, fs.readFileSync(other.certFile, 'utf8'))!.signedByCa).to.equal(false);
      expect(certificateFacts('not a certificate', pem)).to.equal(null);
      expect(certificateNotAfter(pem)).to.equal(f.notAfter);
      expect(certificateNotAfter('not a certificate')).to.equal(null);
      const secret = issuedTlsSecret(CR, { cert: pem, key: 'k', ca: 'c' });
      expect(secret.type).to.equal('kubernetes.io/tls');
      expect(Object.keys(secret.data!)).to.have.members(['tls.crt', 'tls.key', 'ca.crt']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
