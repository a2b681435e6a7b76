/**
 * What a node's TLS trusts and serves, as SHA-256 fingerprints (node:crypto's
 * fingerprint256, "AB:CD:..."): the operator compares them with its Secrets
 * to know when every pod has picked up a CA bundle or a certificate from
 * its refreshed Secret volume (a CA rotation's phases). Pure.
 */
import { X509Certificate } from 'node:crypto';

export interface ServedCertificate {
  readonly fingerprint256: string;
  readonly issuer: string;
  /** RFC 3339. */
  readonly notAfter: string;
}

/** GET /admin/tls. */
export interface TlsReport {
  readonly enabled: boolean;
  /** Fingerprints of the certificates in the CA file, in file order ([] without one). */
  readonly caFingerprints: readonly string[];
  readonly certificate: ServedCertificate | null;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Each certificate of a PEM bundle; blocks that do not parse are left out. */
export function pemCertificates(pem: string | Buffer): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of pem.toString().match(PEM_BLOCK) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // not a certificate: nothing to trust
    }
  }
  return out;
}

/** The fingerprints of a PEM bundle's certificates, in order. */
export function pemFingerprints(pem: string | Buffer): string[] {
  return pemCertificates(pem).map((c) => c.fingerprint256);
}

/** The report for the loaded files (null: TLS off). The served certificate is the first of the certificate file (a chain's leaf). */
export function tlsReport(pem: { readonly cert: Buffer; readonly ca?: Buffer } | null): TlsReport {
  if (pem === null) return { enabled: false, caFingerprints: [], certificate: null };
  const leaf = pemCertificates(pem.cert)[0];
  return {
    enabled: true,
    caFingerprints: pem.ca === undefined ? [] : pemFingerprints(pem.ca),
    certificate: leaf === undefined ? null : { fingerprint256: leaf.fingerprint256, issuer: leaf.issuer, notAfter: new Date(leaf.validTo).toISOString() },
  };
}
