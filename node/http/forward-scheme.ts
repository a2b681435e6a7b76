/**
 * HTTP forwarding across a scheme change (issue #14): while a cluster's
 * pods are rolled from plain HTTP to HTTPS (--tls-http), a node may forward
 * to a peer that speaks the other scheme. A failed attempt tells which
 * (a TLS handshake answered by a plain server: OpenSSL "wrong version
 * number" / "packet length too long"; a plain request to a TLS server: the
 * connection closed without an answer, or a proxy's 400 "plain HTTP request
 * was sent to HTTPS port"), and the request is sent once more with the other
 * scheme, which is then remembered for that peer for a while.
 *
 * Only upwards, never down: a node serving HTTPS never sends a request
 * (and the client's credentials in it) in clear, whatever a peer answers,
 * since whoever can make a TLS handshake fail could otherwise make it do so.
 * A plain node retries over HTTPS verifying the peer as HTTPS forwarding
 * does (the cluster CA, tlsCaCertFile), so that path adds no exposure.
 * Pure apart from the clock the memory is given.
 */
import type { Logger } from '../../common/logger.js';
import type { HttpTarget } from './forward-target.js';

export type Scheme = 'http' | 'https';

/** How long a peer's learnt scheme is used before its own default is tried again (a roll finishes within minutes). */
export const PEER_SCHEME_TTL_MS = 60_000;

/** TLS handshake with a server that answered in plain HTTP (OpenSSL's texts, Node's codes). */
const PLAIN_ANSWER = /wrong version number|packet length too long|http request|ERR_SSL_WRONG_VERSION_NUMBER|ERR_SSL_PACKET_LENGTH_TOO_LONG|ERR_SSL_HTTP_REQUEST/i;
/** A plain request to a TLS port: Node's TLS server closes the connection without a byte (undici: "other side closed"). */
const CLOSED_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE']);
/** What nginx-style TLS front ends answer a plain request with. */
const PLAIN_TO_HTTPS_PAGE = /plain HTTP request was sent to HTTPS port/i;

function causes(err: unknown): Array<{ code?: unknown; message?: unknown }> {
  const out: Array<{ code?: unknown; message?: unknown }> = [];
  for (let e: unknown = err, i = 0; typeof e === 'object' && e !== null && i < 5; e = (e as { cause?: unknown }).cause, i++) out.push(e as { code?: unknown; message?: unknown });
  return out;
}

/** The scheme a connection failure shows the peer speaks instead of `tried`, or null (not a scheme mismatch). */
export function schemeShownByError(tried: Scheme, err: unknown): Scheme | null {
  const cs = causes(err);
  if (tried === 'https') return cs.some((c) => PLAIN_ANSWER.test(`${String(c.code ?? '')} ${String(c.message ?? '')}`)) ? 'http' : null;
  return cs.some((c) => typeof c.code === 'string' && CLOSED_CODES.has(c.code)) ? 'https' : null;
}

/** A plain request answered by a TLS front end's "400 plain HTTP request was sent to HTTPS port" page. */
export function isPlainToHttpsPage(status: number, contentType: string | null, body: string): boolean {
  return status === 400 && !(contentType ?? '').includes('json') && PLAIN_TO_HTTPS_PAGE.test(body);
}

export type SchemeStep = { readonly retry: Scheme } | { readonly refuse: string };

/**
 * What to do when `target` speaks `speaks`: retry with it, or refuse (a
 * node serving HTTPS never forwards in clear).
 */
export function schemeFallback(ownHttps: boolean, speaks: Scheme): SchemeStep {
  if (speaks === 'https') return { retry: 'https' };
  if (ownHttps) {
    return { refuse: 'it serves plain HTTP (not yet rolled to --tls-http?), and this node serves HTTPS only: it never forwards a request, credentials included, in clear. Send the request to that node directly, or retry once the roll is done' };
  }
  return { retry: 'http' };
}

export function ownScheme(tlsHttp: boolean): Scheme {
  return tlsHttp ? 'https' : 'http';
}

/** The scheme each peer was last found to speak, when it differs from this node's own, for PEER_SCHEME_TTL_MS. */
export class PeerSchemes {
  private readonly learnt = new Map<string, { scheme: Scheme; until: number }>();

  constructor(
    private readonly own: Scheme,
    private readonly opts: { readonly ttlMs?: number; readonly now?: () => number; readonly onLearn?: (target: HttpTarget, scheme: Scheme) => void } = {},
  ) {}

  /** The scheme to try first for `target`. */
  schemeFor(target: HttpTarget): Scheme {
    const k = keyOf(target);
    const e = this.learnt.get(k);
    if (e === undefined) return this.own;
    if (e.until <= this.now()) {
      this.learnt.delete(k);
      return this.own;
    }
    return e.scheme;
  }

  /** `target` answered over `scheme`. */
  learn(target: HttpTarget, scheme: Scheme): void {
    const k = keyOf(target);
    const had = this.learnt.get(k)?.scheme ?? this.own;
    if (scheme === this.own) this.learnt.delete(k);
    else this.learnt.set(k, { scheme, until: this.now() + (this.opts.ttlMs ?? PEER_SCHEME_TTL_MS) });
    if (had !== scheme) this.opts.onLearn?.(target, scheme);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

/** A node's memory of its peers' schemes, logging each change. */
export function peerSchemes(tlsHttp: boolean, logger: Logger): PeerSchemes {
  return new PeerSchemes(ownScheme(tlsHttp), {
    onLearn: (t, scheme) => logger.info('HTTP forwarding: peer answers over another scheme than this node serves; using it for that peer', { node: t.name, host: t.host, httpPort: t.httpPort, scheme, forMs: PEER_SCHEME_TTL_MS }),
  });
}

function keyOf(t: HttpTarget): string {
  return `${t.host}:${t.httpPort}`;
}
