/**
 * The I/O of the operator's CA rotation (decided by tls-ca-rotation-plan.ts):
 * reads <cluster>-ca (current and next CA) and the pods' <cluster>-tls, asks
 * the pods what they trust and serve, and makes the one write the decision
 * names. Each write is one phase's step, and the phase is derived again from
 * the Secrets on every pass, so an operator restarted mid-way goes on where
 * it stopped. startCaRotation makes the next CA (the rotate-ca request, or
 * the CA's renewal).
 */
import { X509Certificate } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { pemFingerprints } from '../../../node/tls/tls-report.js';
import { secretText } from '../build/auth-secret.js';
import {
  CA_BUNDLE_WRITTEN_ANNOTATION, CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY, caSecret, caSecretName, certificateHosts, issuedTlsSecret,
  issuedTlsSecretName, operatorIssuesCertificate,
} from '../build/tls-secret.js';
import type { KubeClient } from '../client.js';
import { OperatorError } from '../errors.js';
import type { IrisCluster } from '../iris-cluster.js';
import { SECRETS, resourcePath } from '../paths.js';
import type { CaWritten } from './node-https.js';
import { type CaRotationFacts, type CaRotationPhase, type PodTlsObservation, decideCaRotation, shortFingerprint } from './tls-ca-rotation-plan.js';
import { type CaState, type Pem, ensureCa, issueServerCertificate, makeCa } from './tls-issuing.js';
import { RENEW_FRACTION, certificateFacts, certificateNotAfter, renewalDecision } from './tls-renewal.js';

/** Asks every pod (GET /admin/tls), verifying them against `trustPem`. */
export type PodTlsProbe = (trustPem: string) => Promise<PodTlsObservation[]>;

export interface CaRotationOutcome {
  /** The phase now (null: no rotation under way or just recorded). */
  readonly phase: CaRotationPhase | null;
  readonly message: string;
  /** Why the rotation started (the request's annotation text, or the CA's renewal). */
  readonly reason: string;
  /** A Secret was written this pass. */
  readonly wroteSecrets: boolean;
  /** Why a server certificate was issued this pass (null: none). */
  readonly issued: string | null;
  /** The pods' certificate's expiry. */
  readonly servedNotAfter: number | null;
  /** The operator CA's expiry after this pass (the new CA's once promoted). */
  readonly caNotAfter: number | null;
}

export interface CaRotationStep {
  readonly client: KubeClient;
  readonly cr: IrisCluster;
  readonly ca: CaState;
  /** <cluster>-tls as read (null: not made yet). */
  readonly podSecret: V1Secret | null;
  readonly now: number;
  readonly check: { readonly caDays: number; readonly probe: PodTlsProbe | null; readonly underWay: boolean; readonly caWritten?: CaWritten | null };
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

function signedBy(certPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** The facts the decision takes, from the two Secrets (the pods' answers are added by the caller). */
export function rotationFacts(ca: CaState, podSecret: V1Secret | null, now: number): Omit<CaRotationFacts, 'pods'> {
  const current = new X509Certificate(ca.current.cert);
  const bundlePem = podSecret === null ? null : secretText(podSecret, CA_CERT_KEY);
  const certPem = podSecret === null ? null : secretText(podSecret, TLS_CERT_KEY);
  let served: CaRotationFacts['served'] = null;
  if (certPem !== null) {
    try {
      const by = signedBy(certPem, ca.current.cert) ? 'ca' : ca.next !== null && signedBy(certPem, ca.next.cert) ? 'next' : 'other';
      served = { fingerprint: fingerprint(certPem), signedBy: by };
    } catch {
      served = null;
    }
  }
  return {
    ca: { fingerprint: current.fingerprint256, notBefore: Date.parse(current.validFrom), notAfter: Date.parse(current.validTo) },
    next: ca.next === null ? null : { fingerprint: fingerprint(ca.next.cert) },
    bundle: bundlePem === null ? null : pemFingerprints(bundlePem),
    served,
    now,
  };
}

function bundleOf(...cas: Pem[]): string {
  return cas.map((c) => c.cert.trimEnd() + '\n').join('');
}

async function replaceSecret(client: KubeClient, ns: string, name: string, desired: V1Secret, current: V1Secret): Promise<void> {
  // With the resourceVersion read: a concurrent writer makes this a conflict, retried next pass.
  await client.replace(resourcePath(SECRETS, ns, name), { ...desired, metadata: { ...desired.metadata, resourceVersion: current.metadata?.resourceVersion } });
}

/**
 * Writes the pods' Secret with `bundle` as ca.crt and, once written, hands
 * the bundle to the operator's own node clients, so that they verify against
 * it from their next call (no wait for their periodic re-read).
 */
async function writePodSecret(s: CaRotationStep, pem: Pem, bundle: string, bundleWrittenAt: string): Promise<void> {
  const { client, cr } = s;
  await replaceSecret(client, cr.metadata.namespace ?? '', issuedTlsSecretName(cr.metadata.name ?? ''), issuedTlsSecret(cr, { ...pem, ca: bundle }, bundleWrittenAt), s.podSecret!);
  s.check.caWritten?.remember(bundle);
}

/**
 * While a rotation waits on a pod (TrustBoth or ServeNew, which may last as
 * long as a pod is down), the ordinary renewal is not run, so the served
 * certificate is renewed here when due, from the CA that signed it, with
 * ca.crt and its written-at stamp unchanged: the phase stays as it is (in
 * ServeNew the pods then wait to serve the renewed one). Null: not due.
 */
async function renewWhileWaiting(s: CaRotationStep, served: CaRotationFacts['served'], stamp: string): Promise<{ issued: string; servedNotAfter: number | null } | null> {
  const { ca, podSecret, now, cr } = s;
  if (ca.next === null || podSecret === null || served === null || served.signedBy === 'other') return null;
  const certPem = secretText(podSecret, TLS_CERT_KEY);
  const bundle = secretText(podSecret, CA_CERT_KEY);
  if (certPem === null || bundle === null) return null;
  const signer = served.signedBy === 'next' ? ca.next : ca.current;
  const hosts = certificateHosts(cr.metadata.name ?? '', cr.metadata.namespace ?? '');
  const due = renewalDecision(certificateFacts(certPem, signer.cert), hosts, now);
  if (!due.issue) return null;
  const pem = await issueServerCertificate(signer, hosts, now);
  await writePodSecret(s, pem, bundle, podSecret.metadata?.annotations?.[CA_BUNDLE_WRITTEN_ANNOTATION] ?? stamp);
  return { issued: `${due.reason} (during the CA rotation: from the ${served.signedBy === 'next' ? 'new' : 'current'} CA)`, servedNotAfter: certificateNotAfter(pem.cert) };
}

/** One pass of the rotation: at most one phase's write. */
export async function stepCaRotation(s: CaRotationStep): Promise<CaRotationOutcome> {
  const { client, cr, ca, podSecret, now } = s;
  const ns = cr.metadata.namespace ?? '';
  const cluster = cr.metadata.name ?? '';
  const base = rotationFacts(ca, podSecret, now);
  const certPem = podSecret === null ? null : secretText(podSecret, TLS_CERT_KEY);
  const keyPem = podSecret === null ? null : secretText(podSecret, TLS_KEY_KEY);
  const ask = (ca.next !== null || s.check.underWay) && s.check.probe !== null && podSecret !== null;
  const pods = ask ? await s.check.probe!(bundleOf(ca.current, ...(ca.next === null ? [] : [ca.next]))) : null;
  const decision = decideCaRotation({ ...base, pods }, { renewFraction: RENEW_FRACTION });
  const out = { reason: ca.reason, issued: null, servedNotAfter: certPem === null ? null : certificateNotAfter(certPem), caNotAfter: base.ca.notAfter };
  const stamp = new Date(now).toISOString();
  switch (decision.do) {
    case 'none':
      return { ...out, phase: null, message: '', wroteSecrets: false };
    case 'start': {
      const message = await startCaRotation(client, cr, decision.reason, s.check.caDays);
      return { ...out, reason: decision.reason, phase: 'TrustBoth', message, wroteSecrets: true };
    }
    case 'wait': {
      const renewed = await renewWhileWaiting(s, base.served, stamp);
      return { ...out, ...renewed, phase: decision.phase, message: decision.message, wroteSecrets: renewed !== null };
    }
    case 'done':
      return { ...out, phase: decision.phase, message: decision.message, wroteSecrets: false };
    case 'write-bundle': {
      const bundle = decision.bundle === 'both' && ca.next !== null ? bundleOf(ca.current, ca.next) : bundleOf(ca.current);
      await writePodSecret(s, { cert: certPem!, key: keyPem! }, bundle, stamp);
      return { ...out, phase: decision.phase, message: decision.message, wroteSecrets: true };
    }
    case 'issue-from-next': {
      const pem = await issueServerCertificate(ca.next!, certificateHosts(cluster, ns), now);
      // The bundle is unchanged (both CAs), so its written-at stamp is kept.
      const keep = podSecret?.metadata?.annotations?.[CA_BUNDLE_WRITTEN_ANNOTATION] ?? stamp;
      await writePodSecret(s, pem, bundleOf(ca.current, ca.next!), keep);
      return { ...out, phase: decision.phase, message: decision.message, wroteSecrets: true, issued: 'CA rotation: from the new CA', servedNotAfter: certificateNotAfter(pem.cert) };
    }
    case 'promote': {
      const next = ca.next!;
      await replaceSecret(client, ns, caSecretName(cluster), caSecret(cr, next, null, ca.reason), ca.secret);
      // If this second write fails, the next pass finds ca.crt holding both and writes the new CA alone.
      await writePodSecret(s, { cert: certPem!, key: keyPem! }, bundleOf(next), stamp);
      return { ...out, phase: decision.phase, message: decision.message, wroteSecrets: true, caNotAfter: certificateNotAfter(next.cert) };
    }
  }
}

/**
 * Makes the CA the cluster moves to and keeps it as next in <cluster>-ca
 * (the pods see nothing yet); the message for status and the request. A
 * rotation already under way is left to finish.
 */
export async function startCaRotation(client: KubeClient, cr: IrisCluster, reason: string, caDays: number): Promise<string> {
  const refused = rotateCaRefusal(cr);
  if (refused !== null) throw new OperatorError(refused, `IrisCluster ${cr.metadata.namespace ?? ''}/${cr.metadata.name ?? ''}`);
  const ca = await ensureCa(client, cr, caDays);
  if (ca.next !== null) return `a CA rotation is already under way (${ca.reason}): new CA ${shortFingerprint(fingerprint(ca.next.cert))}`;
  // The same request seen again (an operator restarted after it started): it ran already.
  if (ca.reason === reason) return `the CA was rotated for this request already (${reason})`;
  const next = await makeCa(cr.metadata.name ?? '', caDays);
  await replaceSecret(client, cr.metadata.namespace ?? '', caSecretName(cr.metadata.name ?? ''), caSecret(cr, ca.current, next, reason), ca.secret);
  return `new CA ${shortFingerprint(fingerprint(next.cert))} made (valid until ${new Date(certificateNotAfter(next.cert) ?? 0).toISOString()}); rotating from ${shortFingerprint(fingerprint(ca.current.cert))}: ca.crt first holds both`;
}

/** Why the operator cannot rotate this cluster's CA (null: it can). */
export function rotateCaRefusal(cr: IrisCluster): string | null {
  const spec = cr.spec ?? {};
  if (spec.tls?.enabled !== true) return 'spec.tls is not enabled: there is no CA to rotate';
  if (!operatorIssuesCertificate(spec)) return 'only the operator\'s own CA is rotated by the operator (spec.tls without secretRef or certManager): replace the ca.crt of a secretRef Secret yourself, or rotate cert-manager\'s issuer';
  return null;
}
