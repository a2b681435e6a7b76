/**
 * Redis's TLS tuning settings as Node TLS options (pure): tls-protocols
 * ("TLSv1.2 TLSv1.3", the versions a listener accepts), tls-ciphers (TLS
 * 1.2 cipher list, OpenSSL syntax), tls-ciphersuites (TLS 1.3 suites) and
 * tls-prefer-server-ciphers. Node takes both cipher lists in one `ciphers`
 * string: an empty setting keeps that half of Node's default, so setting
 * one never switches the other version off.
 */
import tls, { type SecureVersion } from 'node:tls';

export interface TlsPolicySettings {
  readonly tlsProtocols: string;
  readonly tlsCiphers: string;
  readonly tlsCiphersuites: string;
  readonly tlsPreferServerCiphers: boolean;
}

export interface TlsPolicy {
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** Empty: Node's default list. */
  readonly ciphers: string;
  readonly honorCipherOrder: boolean;
}

export const DEFAULT_TLS_POLICY: TlsPolicy = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: '', honorCipherOrder: false };

/** The versions IrisDB serves, oldest first (Redis also knows TLSv1 and TLSv1.1, which Node's OpenSSL refuses by default). */
const VERSIONS: readonly SecureVersion[] = ['TLSv1.2', 'TLSv1.3'];

export class TlsPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsPolicyError';
  }
}

const splitList = (s: string): string[] => s.split(/[\s:,]+/).filter((x) => x !== '');

/**
 * The listener options for these settings; `defaultCiphers` is Node's
 * tls.DEFAULT_CIPHERS (its TLS_* entries are the TLS 1.3 suites).
 */
export function tlsPolicy(s: TlsPolicySettings, defaultCiphers: string): TlsPolicy {
  let minVersion = DEFAULT_TLS_POLICY.minVersion;
  let maxVersion = DEFAULT_TLS_POLICY.maxVersion;
  const asked = s.tlsProtocols.split(/\s+/).filter((x) => x !== '');
  if (asked.length > 0) {
    const idx = asked.map((v) => {
      const i = VERSIONS.findIndex((k) => k.toLowerCase() === v.toLowerCase());
      if (i < 0) throw new TlsPolicyError(`tlsProtocols: unknown or unsupported version "${v}" (use TLSv1.2 and/or TLSv1.3)`);
      return i;
    });
    minVersion = VERSIONS[Math.min(...idx)]!;
    maxVersion = VERSIONS[Math.max(...idx)]!;
  }
  const defaults = splitList(defaultCiphers);
  const suites = s.tlsCiphersuites === '' ? defaults.filter((c) => c.startsWith('TLS_')) : splitList(s.tlsCiphersuites);
  const bad = suites.find((c) => !c.startsWith('TLS_'));
  if (bad !== undefined) throw new TlsPolicyError(`tlsCiphersuites: "${bad}" is not a TLS 1.3 suite (they are named TLS_..., e.g. TLS_AES_256_GCM_SHA384)`);
  const legacy = s.tlsCiphers === '' ? defaults.filter((c) => !c.startsWith('TLS_')) : splitList(s.tlsCiphers);
  const custom = s.tlsCiphers !== '' || s.tlsCiphersuites !== '';
  return { minVersion, maxVersion, ciphers: custom ? [...suites, ...legacy].join(':') : '', honorCipherOrder: s.tlsPreferServerCiphers };
}

/** The error a bad setting gives at startup, or null. */
export function tlsPolicyError(s: TlsPolicySettings, defaultCiphers: string): string | null {
  try {
    tlsPolicy(s, defaultCiphers);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** tlsPolicy with Node's own default cipher lists. */
export function tlsPolicyOf(s: TlsPolicySettings): TlsPolicy {
  return tlsPolicy(s, tls.DEFAULT_CIPHERS);
}
