/**
 * HTTP forwarding across a scheme change (issue #14): while a cluster's
 * pods are rolled from plain HTTP to HTTPS (--tls-http), a node may forward
 * to a peer that speaks the other scheme. The request itself is never used
 * to find out: a request whose bytes may have reached the peer is never sent
 * again (a peer may apply a write and die before answering). A node holding
 * the cluster CA asks a peer whose scheme it does not know with a bare TLS
 * handshake (forward-probe.ts) and remembers the answer for a while; a TLS
 * handshake answered in plain (OpenSSL "wrong version number" / "packet
 * length too long") fails before any request byte is sent, so that attempt
 * may go again over http.
 *
 * Only upwards, never down: a node serving HTTPS never sends a request
 * (and the client's credentials in it) in clear, whatever a peer answers,
 * since whoever can make a TLS handshake fail could otherwise make it do so.
 * A plain node sends over HTTPS verifying the peer as HTTPS forwarding
 * does (the cluster CA, tlsCaCertFile), so that path adds no exposure.
 * Pure apart from the clock and the probe the memory is given.
 */
import type { Logger } from '../../common/logger.js';
import type { HttpTarget } from './forward-target.js';

export type Scheme = 'http' | 'https';

/** How long a peer's learnt scheme is used before its own default is tried again (a roll finishes within minutes). */
export const PEER_SCHEME_TTL_MS = 60_000;

/** TLS handshake with a server that answered in plain HTTP (OpenSSL's texts, Node's codes). */
const PLAIN_ANSWER = /wrong version number|packet length too long|http request|ERR_SSL_WRONG_VERSION_NUMBER|ERR_SSL_PACKET_LENGTH_TOO_LONG|ERR_SSL_HTTP_REQUEST/i;
/** Failures before any request byte left this node: nothing reached the peer. */
const NOT_SENT_CODE = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|ERR_SSL_.*|ERR_TLS_.*|CERT_.*|UNABLE_TO_.*|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_INVALID_URL)$/;
/** What nginx-style TLS front ends answer a plain request with. */
const PLAIN_TO_HTTPS_PAGE = /plain HTTP request was sent to HTTPS port/i;

function causes(err: unknown): Array<{ code?: unknown; message?: unknown }> {
  const out: Array<{ code?: unknown; message?: unknown }> = [];
  for (let e: unknown = err, i = 0; typeof e === 'object' && e !== null && i < 5; e = (e as { cause?: unknown }).cause, i++) out.push(e as { code?: unknown; message?: unknown });
  return out;
}

/**
 * A TLS handshake answered in plain HTTP: the peer speaks http. Nothing
 * else is read as a scheme: a connection closed or reset after a plain
 * request may as well be a peer that applied it and died.
 */
export function answeredInPlain(err: unknown): boolean {
  return causes(err).some((c) => PLAIN_ANSWER.test(`${String(c.code ?? '')} ${String(c.message ?? '')}`));
}

/** The scheme a connection failure shows the peer speaks instead of `tried`, or null (unknown: not a handshake answered in plain). */
export function schemeShownByError(tried: Scheme, err: unknown): Scheme | null {
  return tried === 'https' && answeredInPlain(err) ? 'http' : null;
}

/**
 * Whether a failed request's bytes may have reached the peer (false only
 * for failures before the request was written: connection refused, unknown
 * host, TLS handshake or certificate errors). A write that may have reached
 * it is never sent again.
 */
export function mayHaveReachedPeer(err: unknown): boolean {
  if (answeredInPlain(err)) return false;
  const codes = causes(err).map((c) => c.code).filter((c): c is string => typeof c === 'string');
  return !codes.some((c) => NOT_SENT_CODE.test(c));
}

/** Methods whose request may be sent again after a reset: they change nothing (POST batches may write). */
export function isReadMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
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

/** Asks a peer which scheme it speaks without sending it a request (forward-probe.ts); null: no answer. */
export type SchemeProbe = (target: HttpTarget) => Promise<Scheme | null>;

/**
 * The scheme each peer was last found to speak, for PEER_SCHEME_TTL_MS. One
 * per node (HttpDeps.peerSchemes), shared by forwarding and cluster scans.
 */
export class PeerSchemes {
  private readonly learnt = new Map<string, { scheme: Scheme; until: number }>();
  private readonly probing = new Map<string, Promise<Scheme | null>>();

  constructor(
    private readonly own: Scheme,
    private readonly opts: { readonly ttlMs?: number; readonly now?: () => number; readonly onLearn?: (target: HttpTarget, scheme: Scheme) => void; readonly probe?: SchemeProbe } = {},
  ) {}

  /** The scheme known for `target`, or null (never learnt, or learnt longer ago than the TTL). */
  known(target: HttpTarget): Scheme | null {
    const k = keyOf(target);
    const e = this.learnt.get(k);
    if (e === undefined) return null;
    if (e.until <= this.now()) {
      this.learnt.delete(k);
      return null;
    }
    return e.scheme;
  }

  /** The scheme to use for `target` without asking it. */
  schemeFor(target: HttpTarget): Scheme {
    return this.known(target) ?? this.own;
  }

  /**
   * The scheme to send `target` a request over: a node serving HTTPS always
   * https; else the known one, else (with a probe: this node has the CA)
   * what a TLS handshake shows, else this node's own.
   */
  async resolve(target: HttpTarget): Promise<Scheme> {
    if (this.own === 'https') return 'https';
    const known = this.known(target);
    if (known !== null) return known;
    return (await this.probeNow(target)) ?? this.own;
  }

  /** Asks `target` again (after a failure that may be a scheme change); null: no probe or no answer. */
  async reprobe(target: HttpTarget): Promise<Scheme | null> {
    if (this.own === 'https') return null;
    return this.probeNow(target);
  }

  /** `target` answered over `scheme`. */
  learn(target: HttpTarget, scheme: Scheme): void {
    const k = keyOf(target);
    const had = this.known(target) ?? this.own;
    this.learnt.set(k, { scheme, until: this.now() + (this.opts.ttlMs ?? PEER_SCHEME_TTL_MS) });
    if (had !== scheme) this.opts.onLearn?.(target, scheme);
  }

  private probeNow(target: HttpTarget): Promise<Scheme | null> {
    const probe = this.opts.probe;
    if (probe === undefined) return Promise.resolve(null);
    const k = keyOf(target);
    // Concurrent requests to one peer share one handshake.
    let p = this.probing.get(k);
    if (p === undefined) {
      p = probe(target).then((scheme) => {
        if (scheme !== null) this.learn(target, scheme);
        return scheme;
      }).finally(() => this.probing.delete(k));
      this.probing.set(k, p);
    }
    return p;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

/** A node's memory of its peers' schemes, logging each change; `probe` when it holds the cluster CA. */
export function peerSchemes(tlsHttp: boolean, logger: Logger, probe?: SchemeProbe): PeerSchemes {
  return new PeerSchemes(ownScheme(tlsHttp), {
    ...(probe !== undefined ? { probe } : {}),
    onLearn: (t, scheme) => logger.info('HTTP forwarding: peer answers over another scheme than this node serves; using it for that peer', { node: t.name, host: t.host, httpPort: t.httpPort, scheme, forMs: PEER_SCHEME_TTL_MS }),
  });
}

function keyOf(t: HttpTarget): string {
  return `${t.host}:${t.httpPort}`;
}
