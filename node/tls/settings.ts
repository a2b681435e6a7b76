/**
 * TLS settings (Redis's tls-* names) checked together: which listeners use
 * TLS, and whether the settings make sense. Pure: no I/O.
 */
import type { NodeConfig } from '../config/schema.js';

export type TlsSettings = Pick<NodeConfig, 'port' | 'tlsPort' | 'tlsCertFile' | 'tlsKeyFile' | 'tlsCaCertFile' | 'tlsAuthClients' | 'tlsHttp' | 'tlsCluster'>;

/** Some listener serves TLS, so the certificate and key must load. */
export function tlsEnabled(c: TlsSettings): boolean {
  return c.tlsPort !== 0 || c.tlsHttp || c.tlsCluster;
}

/** As Redis: with a TLS port, `--port 0` means no plain-text RESP port (without one, 0 picks a free port). */
export function plainRespEnabled(c: Pick<TlsSettings, 'port' | 'tlsPort'>): boolean {
  return c.port !== 0 || c.tlsPort === 0;
}

/** What is wrong with the TLS settings, or null. */
export function tlsSettingsError(c: TlsSettings): string | null {
  if (!tlsEnabled(c)) return null;
  const what = c.tlsPort !== 0 ? 'tlsPort' : c.tlsHttp ? 'tlsHttp' : 'tlsCluster';
  if (c.tlsCertFile === '') return `${what} needs tlsCertFile (the server certificate, PEM)`;
  if (c.tlsKeyFile === '') return `${what} needs tlsKeyFile (the server private key, PEM)`;
  if (c.tlsCluster && c.tlsCaCertFile === '') return 'tlsCluster needs tlsCaCertFile (the CA bus peers\' certificates are verified against)';
  if (c.tlsAuthClients !== 'no' && c.tlsCaCertFile === '') {
    return `tlsAuthClients ${c.tlsAuthClients} needs tlsCaCertFile (the CA client certificates are verified against)`;
  }
  return null;
}
