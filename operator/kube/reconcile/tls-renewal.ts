/**
 * When the operator issues a cluster's server certificate again: when there
 * is none, when it is not the CA's, when its names are not the ones the
 * cluster needs, or when less than RENEW_FRACTION of its lifetime is left
 * (cert-manager's default: renew at two thirds). The nodes re-read the
 * files when the kubelet refreshes the Secret volume; every copy is signed
 * by the same CA, so peers on the bus trust old and new alike. Pure (X.509
 * parsing with node:crypto, no I/O).
 */
import { X509Certificate } from 'node:crypto';

/** Issued certificates are valid this long. */
export const CERT_DAYS = 90;
/** The operator's CA is valid this long by default (IRIS_OPERATOR_CA_DAYS; rotated at RENEW_FRACTION left: tls-ca-rotation.ts). */
export const CA_DAYS = 3650;
/** Renew when less than this share of the lifetime is left. */
export const RENEW_FRACTION = 1 / 3;

export interface CertificateFacts {
  readonly notBefore: number;
  readonly notAfter: number;
  readonly hosts: readonly string[];
  /** Signed by the CA (its signature verifies with the CA's key). */
  readonly signedByCa: boolean;
}

export type RenewalDecision = { readonly issue: false } | { readonly issue: true; readonly reason: string };

/** What matters of a PEM certificate, or null when it does not parse. */
export function certificateFacts(certPem: string, caPem: string): CertificateFacts | null {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    const hosts = (cert.subjectAltName ?? '').split(',').map((s) => s.trim()).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
    return {
      notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo), hosts,
      signedByCa: cert.checkIssued(ca) && cert.verify(ca.publicKey),
    };
  } catch {
    return null;
  }
}

/** The certificate's expiry (ms since the epoch), or null when it does not parse. */
export function certificateNotAfter(certPem: string): number | null {
  try {
    return Date.parse(new X509Certificate(certPem).validTo);
  } catch {
    return null;
  }
}

export function renewalDecision(facts: CertificateFacts | null, wantHosts: readonly string[], now: number, fraction = RENEW_FRACTION): RenewalDecision {
  if (facts === null) return { issue: true, reason: 'no certificate yet' };
  if (!facts.signedByCa) return { issue: true, reason: 'the certificate is not signed by the cluster\'s CA' };
  const missing = wantHosts.filter((h) => !facts.hosts.includes(h));
  if (missing.length > 0) return { issue: true, reason: `the certificate does not name ${missing.join(', ')}` };
  const lifetime = facts.notAfter - facts.notBefore;
  const left = facts.notAfter - now;
  if (left < lifetime * fraction) return { issue: true, reason: `renewal due: ${left <= 0 ? 'expired' : `${Math.floor(left / 86_400_000)} days left of ${Math.round(lifetime / 86_400_000)}`}` };
  return { issue: false };
}
