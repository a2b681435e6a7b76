/**
 * Which scheme a peer's HTTP port speaks, asked without sending it a
 * request (issue #14, forward-scheme.ts): a bare TLS handshake verified
 * against the cluster CA, closed at once. A completed handshake, or one the
 * peer answered as TLS but that failed verification, is https (a request
 * over https then fails at the handshake, before any byte of it is sent);
 * a handshake answered in plain HTTP is http; no answer is unknown.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import type { NodeConfig } from '../config/schema.js';
import type { HttpTarget } from './forward-target.js';
import type { Logger } from '../../common/logger.js';
import { type PeerSchemes, type Scheme, type SchemeProbe, answeredInPlain, peerSchemes } from './forward-scheme.js';

/** Failures that mean nothing answered at all (no scheme learnt). */
const NO_ANSWER_CODE = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|ETIMEDOUT|EPIPE)$/;

/** One handshake with `target`, bounded by `timeoutMs`. */
export function probeScheme(target: HttpTarget, trust: { readonly caFile: string; readonly certFile: string; readonly keyFile: string }, timeoutMs: number): Promise<Scheme | null> {
  return new Promise((resolve) => {
    let ca: Buffer;
    let identity: { cert?: Buffer; key?: Buffer } = {};
    try {
      ca = fs.readFileSync(trust.caFile);
      if (trust.certFile !== '' && trust.keyFile !== '') identity = { cert: fs.readFileSync(trust.certFile), key: fs.readFileSync(trust.keyFile) };
    } catch {
      resolve(null);
      return;
    }
    let done = false;
    const finish = (scheme: Scheme | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(scheme);
    };
    // Peers are reached by address: the CA's signature identifies a member (as forwarding's own requests do).
    const socket = tls.connect({ host: target.host, port: target.httpPort, ca, ...identity, checkServerIdentity: () => undefined, rejectUnauthorized: true });
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.once('secureConnect', () => finish('https'));
    socket.once('error', (err: Error & { code?: string }) => {
      if (answeredInPlain(err)) finish('http');
      else finish(typeof err.code === 'string' && NO_ANSWER_CODE.test(err.code) ? null : 'https');
    });
    socket.once('close', () => finish(null));
  });
}

/** The probe of a node that holds the cluster CA (tlsCaCertFile); none otherwise: a plain cluster never probes. */
export function peerSchemeProbe(config: NodeConfig): SchemeProbe | undefined {
  if (config.tlsCaCertFile === '' || config.tlsHttp) return undefined;
  const trust = { caFile: config.tlsCaCertFile, certFile: config.tlsCertFile, keyFile: config.tlsKeyFile };
  return (target) => probeScheme(target, trust, config.httpForwardTimeoutMs);
}

/** The one memory of peers' schemes a node's HTTP app shares between forwarding and cluster scans (HttpDeps.peerSchemes). */
export function nodePeerSchemes(config: NodeConfig, logger: Logger): PeerSchemes {
  return peerSchemes(config.tlsHttp, logger, peerSchemeProbe(config));
}
