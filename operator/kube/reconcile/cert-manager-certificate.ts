/**
 * spec.tls.certManager: makes sure cert-manager's Certificate CRD is served
 * (else a clear error, not a silent fallback), creates or updates the
 * Certificate the cluster owns, and waits for cert-manager to fill its
 * Secret. Until then the step reports why it waits (status and a Warning
 * Event) and the pods, which mount that Secret, wait for it. Renewal is
 * cert-manager's: it rewrites the Secret and the nodes re-read it from disk.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { secretText } from '../build/auth-secret.js';
import {
  CERTIFICATES, CERT_MANAGER_DISCOVERY, certManagerCertificateName, certificateReadiness, certificateUpToDate, desiredCertificate, ownedByCluster,
  updatedCertificate, type Certificate,
} from '../build/cert-manager-certificate.js';
import { CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY, issuedTlsSecretName } from '../build/tls-secret.js';
import type { KubeClient } from '../client.js';
import { OperatorError } from '../errors.js';
import type { CertManagerSpec, IrisCluster } from '../iris-cluster.js';
import { SECRETS, resourcePath } from '../paths.js';

/** Why the TLS Secret is not there yet; `reason` is the Event's reason. */
export class TlsWaitError extends OperatorError {
  constructor(readonly reason: 'CertManagerMissing' | 'WaitingForCertificate', message: string, object?: string) {
    super(message, object);
    this.name = 'TlsWaitError';
  }
}

/** Whether the API server serves cert-manager.io/v1 certificates (the CRD is installed). */
export async function certManagerInstalled(client: KubeClient): Promise<boolean> {
  const list = await client.find<{ resources?: Array<{ name?: string }> }>(CERT_MANAGER_DISCOVERY);
  return list?.resources?.some((r) => r.name === CERTIFICATES.plural) ?? false;
}

/** Creates or updates the cluster's Certificate; returns what the API server holds afterwards. */
async function applyCertificate(client: KubeClient, cr: IrisCluster, cm: CertManagerSpec): Promise<Certificate> {
  const ns = cr.metadata.namespace ?? '';
  const desired = desiredCertificate(cr, cm);
  const path = resourcePath(CERTIFICATES, ns, desired.metadata.name);
  const current = await client.find<Certificate>(path);
  if (current === null) return client.create<Certificate>(resourcePath(CERTIFICATES, ns), desired);
  if (!ownedByCluster(current, cr)) {
    throw new OperatorError(`exists and is not owned by IrisCluster ${ns}/${cr.metadata.name ?? ''}: spec.tls.certManager makes its own Certificate of that name; rename or delete yours (or give its Secret through spec.tls.secretRef instead)`, `Certificate ${ns}/${desired.metadata.name ?? ''}`);
  }
  if (certificateUpToDate(current, desired)) return current;
  // With the resourceVersion read above: a concurrent writer makes this a conflict, retried next pass.
  return client.replace<Certificate>(path, updatedCertificate(current, desired));
}

/** The Secret cert-manager fills, checked like a user's; returns the certificate's PEM. Throws TlsWaitError while it is not there. */
export async function ensureCertManagerCertificate(client: KubeClient, cr: IrisCluster, cm: CertManagerSpec): Promise<string> {
  const ns = cr.metadata.namespace ?? '';
  const cluster = cr.metadata.name ?? '';
  if (!(await certManagerInstalled(client))) {
    throw new TlsWaitError('CertManagerMissing', `spec.tls.certManager needs cert-manager: the API server does not serve certificates.cert-manager.io/v1 (install cert-manager, or use spec.tls.secretRef or the operator's own CA by removing certManager); the pods wait for Secret ${ns}/${issuedTlsSecretName(cluster)}`);
  }
  const cert = await applyCertificate(client, cr, cm);
  const object = `Certificate ${ns}/${certManagerCertificateName(cluster)}`;
  const secret = await client.find<V1Secret>(resourcePath(SECRETS, ns, issuedTlsSecretName(cluster)));
  const missing = secret === null ? [TLS_CERT_KEY] : [TLS_CERT_KEY, TLS_KEY_KEY].filter((k) => secretText(secret, k) === null);
  if (missing.length > 0) {
    throw new TlsWaitError('WaitingForCertificate', `waiting for cert-manager to issue it into Secret ${issuedTlsSecretName(cluster)} (${certificateReadiness(cert)}); the pods start once it exists`, object);
  }
  if (secretText(secret!, CA_CERT_KEY) === null) {
    throw new TlsWaitError('WaitingForCertificate', `its Secret has no ca.crt: the bus verifies peers against it, so the issuer must write one (CA, SelfSigned and Vault issuers do; ACME does not)`, object);
  }
  return secretText(secret!, TLS_CERT_KEY)!;
}
