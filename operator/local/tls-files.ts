/**
 * `irisctl local up --tls`: a CA and one certificate for the local nodes
 * under DIR/tls (made once, kept across restarts), with loopback SANs.
 * Nodes serve RESP over TLS only and talk to each other over mutual TLS on
 * the bus; clients trust DIR/tls/ca.crt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../node/tls/cert-authority.js';
import { type FetchLike, nodeFetch } from '../../common/node-fetch.js';

export interface LocalTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** `--tls-keep-plain`: the nodes also serve plain RESP, on a port of their own (kept while DIR/tls/keep-plain exists). */
  readonly keepPlain?: boolean;
}

export function localTlsDir(dir: string): string {
  return path.join(dir, 'tls');
}

/** Whether the cluster in `dir` was started with --tls (its CA exists): a restart keeps TLS on. */
export function localTlsExists(dir: string): boolean {
  return fs.existsSync(path.join(localTlsDir(dir), 'ca.crt'));
}

/**
 * The files, created when missing; `hosts` are the addresses the nodes are reached at (127.0.0.1, localhost, ...).
 * keepPlain (recorded as DIR/tls/keep-plain, so a restart keeps it) adds plain RESP ports beside the TLS ones.
 */
export async function ensureLocalTls(dir: string, hosts: readonly string[], keepPlain = false): Promise<LocalTlsFiles> {
  const tlsDir = localTlsDir(dir);
  const marker = path.join(tlsDir, 'keep-plain');
  if (keepPlain) {
    fs.mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(marker, 'plain RESP ports beside the TLS ones (irisctl local up --tls-keep-plain)\n');
  }
  const files = { caFile: path.join(tlsDir, 'ca.crt'), certFile: path.join(tlsDir, 'node.crt'), keyFile: path.join(tlsDir, 'node.key') };
  const ca = fs.existsSync(files.caFile) && fs.existsSync(path.join(tlsDir, 'ca.key'))
    ? { certFile: files.caFile, keyFile: path.join(tlsDir, 'ca.key') }
    : await createCertificateAuthority(tlsDir, 'ca');
  if (!fs.existsSync(files.certFile) || !fs.existsSync(files.keyFile)) {
    await issueCertificate(ca, tlsDir, 'node', { hosts });
  }
  return fs.existsSync(marker) ? { ...files, keepPlain: true } : files;
}

/**
 * Node flags: RESP over TLS only, on the port plain RESP would have used (so the cluster map, MOVED and CLUSTER SLOTS
 * need no change), HTTPS only on the HTTP port (the controller and irisctl trust ca.crt: common/node-fetch.ts), and the bus over mutual TLS.
 */
export function localTlsNodeArgs(files: LocalTlsFiles, respPort: number, plainPort = 0): string[] {
  return ['--port', String(plainPort), '--tls-port', String(respPort), '--tls-cert-file', files.certFile, '--tls-key-file', files.keyFile, '--tls-ca-cert-file', files.caFile,
    '--tls-cluster', 'yes', '--tls-http', 'yes'];
}

/** How irisctl reaches the nodes of the local cluster in `dir` (its CA when it runs TLS). */
export function localNodeFetchForDir(dir: string): FetchLike {
  return localTlsExists(dir) ? nodeFetch({ caFile: path.join(localTlsDir(dir), 'ca.crt') }) : nodeFetch(null);
}

/** How the controller and irisctl reach the nodes of a local cluster: over HTTPS trusting its CA when it runs TLS. */
export function localNodeFetch(files: LocalTlsFiles | undefined): FetchLike {
  return nodeFetch(files === undefined ? null : { caFile: files.caFile });
}
