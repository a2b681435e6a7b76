/**
 * The operator-issued TLS of a cluster with spec.tls.enabled and no
 * secretRef: its CA (Secret <cluster>-ca, tls-issuing.ts; rotated by
 * tls-ca-rotation.ts) and the server certificate the pods mount (Secret
 * <cluster>-tls), issued again when tls-renewal.ts says so. For
 * spec.tls.secretRef, only checks that the user's Secret has the three keys
 * the nodes read; for spec.tls.certManager, cert-manager-certificate.ts.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { secretText } from '../build/auth-secret.js';
import {
  CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY, certManagerIssuesCertificate, certificateHosts, issuedTlsSecret, issuedTlsSecretName, operatorIssuesCertificate, tlsEnabled,
} from '../build/tls-secret.js';
import type { KubeClient } from '../client.js';
import { OperatorError } from '../errors.js';
import { ensureCertManagerCertificate } from './cert-manager-certificate.js';
import type { IrisCluster } from '../iris-cluster.js';
import { SECRETS, resourcePath } from '../paths.js';
import { CA_DAYS, certificateFacts, certificateNotAfter, renewalDecision } from './tls-renewal.js';
import { ensureCa, issueServerCertificate } from './tls-issuing.js';
import { pemFingerprints } from '../../../node/tls/tls-report.js';
import { type CaRotationOutcome, type PodTlsProbe, stepCaRotation } from './tls-ca-rotation.js';
import type { CaWritten } from './node-https.js';

/** What ensureTls found (null: TLS off): why it issued a certificate (null: it did not), the nodes' certificate's and the operator CA's expiry, and the CA rotation's state. */
export type TlsOutcome = {
  readonly issued: string | null;
  readonly notAfter: number | null;
  /** The operator's CA (null: the user's or cert-manager's TLS). */
  readonly caNotAfter: number | null;
  readonly rotation: CaRotationOutcome | null;
} | null;

export interface TlsCheck {
  /** Lifetime of a CA the operator makes (IRIS_OPERATOR_CA_DAYS). */
  readonly caDays: number;
  /** Asks every pod what it trusts and serves; null: no pods to ask (before the controller runs). */
  readonly probe: PodTlsProbe | null;
  /** The last recorded rotation phase is not over: ask the pods even if the CA Secret holds no next CA. */
  readonly underWay: boolean;
  /** Hears each ca.crt written to the pods' Secret, after the write (the operator's own node clients' CA: node-https.ts). */
  readonly caWritten?: CaWritten | null;
}

const DEFAULT_CHECK: TlsCheck = { caDays: CA_DAYS, probe: null, underWay: false };

/** The user's Secret must hold tls.crt, tls.key and ca.crt (the bus verifies peers against ca.crt); returns the certificate's expiry. */
async function checkUserSecret(client: KubeClient, cr: IrisCluster, name: string): Promise<number | null> {
  const ns = cr.metadata.namespace ?? '';
  const secret = await client.find<V1Secret>(resourcePath(SECRETS, ns, name));
  if (secret === null) throw new OperatorError('not found: spec.tls.secretRef names it; the pods wait for it', `Secret ${ns}/${name}`);
  const missing = [TLS_CERT_KEY, TLS_KEY_KEY, CA_CERT_KEY].filter((k) => secretText(secret, k) === null);
  if (missing.length > 0) throw new OperatorError(`has no ${missing.join(', ')}: spec.tls.secretRef needs tls.crt, tls.key and ca.crt`, `Secret ${ns}/${name}`);
  return certificateNotAfter(secretText(secret, TLS_CERT_KEY)!);
}

export async function ensureTls(client: KubeClient, cr: IrisCluster, now: number, check: TlsCheck = DEFAULT_CHECK): Promise<TlsOutcome> {
  const spec = cr.spec ?? {};
  if (!tlsEnabled(spec)) return null;
  if (certManagerIssuesCertificate(spec)) {
    return { issued: null, notAfter: certificateNotAfter(await ensureCertManagerCertificate(client, cr, spec.tls!.certManager!)), caNotAfter: null, rotation: null };
  }
  if (!operatorIssuesCertificate(spec)) {
    return { issued: null, notAfter: await checkUserSecret(client, cr, spec.tls!.secretRef!.name), caNotAfter: null, rotation: null };
  }
  const cluster = cr.metadata.name ?? '';
  const ns = cr.metadata.namespace ?? '';
  const ca = await ensureCa(client, cr, check.caDays);
  const caNotAfter = certificateNotAfter(ca.current.cert);
  const secretPath = resourcePath(SECRETS, ns, issuedTlsSecretName(cluster));
  const current = await client.find<V1Secret>(secretPath);
  const rotation = await stepCaRotation({ client, cr, ca, podSecret: current, now, check });
  if (rotation.wroteSecrets || ca.next !== null) {
    // The rotation owns the certificate until the new CA is the CA (it renews it when due meanwhile: tls-ca-rotation.ts).
    return { issued: rotation.issued, notAfter: rotation.servedNotAfter, caNotAfter: rotation.caNotAfter ?? caNotAfter, rotation: rotation.phase === null ? null : rotation };
  }
  const hosts = certificateHosts(cluster, ns);
  const certPem = current === null ? null : secretText(current, TLS_CERT_KEY);
  const facts = certPem === null ? null : certificateFacts(certPem, ca.current.cert);
  const decision = renewalDecision(facts, hosts, now);
  const outcome = { caNotAfter, rotation: rotation.phase === null ? null : rotation };
  const bundle = current === null ? null : secretText(current, CA_CERT_KEY);
  // ca.crt must be the CA alone outside a rotation (someone may have edited the Secret).
  const bundleOk = bundle !== null && JSON.stringify(pemFingerprints(bundle)) === JSON.stringify(pemFingerprints(ca.current.cert));
  if (!decision.issue && bundleOk) return { issued: null, notAfter: facts?.notAfter ?? null, ...outcome };
  const pem = decision.issue ? await issueServerCertificate(ca.current, hosts, now) : { cert: certPem!, key: secretText(current!, TLS_KEY_KEY) ?? '' };
  const desired = issuedTlsSecret(cr, { ...pem, ca: ca.current.cert }, new Date(now).toISOString());
  if (current === null) await client.create(resourcePath(SECRETS, ns), desired);
  // With the resourceVersion read above: a concurrent writer makes this a conflict, retried next time.
  else await client.replace(secretPath, { ...desired, metadata: { ...desired.metadata, resourceVersion: current.metadata?.resourceVersion } });
  check.caWritten?.remember(ca.current.cert);
  return { issued: decision.issue ? decision.reason : null, notAfter: certificateNotAfter(pem.cert), ...outcome };
}
