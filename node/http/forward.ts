/**
 * HTTP forwarding (issue #13, docs/http-api.md "Any node"): a /v1 request for
 * a slot another node serves (a route answered 421 `moved`) is sent on to
 * that slot's primary with the same method, path, query, body and
 * Authorization (the primary checks it again), marked so it is never
 * forwarded twice, and the primary's answer goes back as it came.
 * `?redirect=true` (or `X-Iris-Redirect: true`) answers 307 instead.
 */
import type { Request, Response } from 'express';
import type { ClusterMap } from '../../common/cluster-map.js';
import type { NodeConfig } from '../config/schema.js';
import { HttpError, sendError } from './errors.js';
import { FORWARDED_HEADER, type HttpTarget, REDIRECT_HEADER, forwardDecision, httpTargetOf, targetUrl } from './forward-target.js';
import { queryParam } from './params.js';
import { type FetchLike, nodeFetch } from '../../common/node-fetch.js';
import { type PeerSchemes, type Scheme, isPlainToHttpsPage, isReadMethod, mayHaveReachedPeer, schemeFallback, schemeShownByError } from './forward-scheme.js';

export interface ForwardDeps extends PeerLink {
  /** The installed cluster map (null: standalone, nothing to forward to). */
  clusterMap(): ClusterMap | null;
}

/** Hop-by-hop and framing headers: fetch sets its own; the body may have been inflated by the body parser. */
const DROP_REQUEST = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'content-length', 'content-encoding', 'proxy-authorization', FORWARDED_HEADER, REDIRECT_HEADER]);
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'date']);

export function isForwarded(req: Request): boolean {
  return req.get(FORWARDED_HEADER) !== undefined;
}

export function wantsRedirect(req: Request): boolean {
  const q = queryParam(req, 'redirect');
  return q === 'true' || q === '1' || (req.get(REDIRECT_HEADER) ?? '').toLowerCase() === 'true';
}

/** The body as the route read it: raw bytes (PUT), a parsed JSON document (batch), or none. */
function bodyOf(req: Request): Buffer | null {
  const b: unknown = req.body;
  if (Buffer.isBuffer(b)) return b;
  if (b !== undefined && b !== null && req.method === 'POST') return Buffer.from(JSON.stringify(b), 'utf8');
  return null;
}

function requestHeaders(req: Request, body: Buffer | null): Headers {
  const h = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || DROP_REQUEST.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) h.append(name, v);
  }
  if (body !== null && req.method === 'POST' && !Buffer.isBuffer(req.body)) h.set('content-type', 'application/json');
  h.set(FORWARDED_HEADER, '1');
  // Traced here: the peer's span is a child of this node's request span (node/tracing/http-tracing.ts).
  const traceparent: unknown = req.res?.locals.traceparent;
  if (typeof traceparent === 'string') h.set('traceparent', traceparent);
  return h;
}

/**
 * Peers are reached over HTTPS (the cluster runs --tls-http, or the peer was
 * found to serve HTTPS: forward-scheme.ts) trusting the cluster CA,
 * presenting this node's certificate (peers may ask for one). Peers are
 * reached by address (on Kubernetes a pod IP the certificate does not
 * name), so the CA's signature identifies a member, as on the bus.
 */
function peerFetch(config: NodeConfig): FetchLike {
  if (config.tlsCaCertFile === '') return nodeFetch(null);
  const identity = config.tlsCertFile !== '' && config.tlsKeyFile !== '' ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile } : {};
  return nodeFetch({ caFile: config.tlsCaCertFile, ...identity, serverName: null });
}

/** This node's settings and its memory of which peers speak another scheme than its own. */
export interface PeerLink {
  readonly config: NodeConfig;
  readonly schemes: PeerSchemes;
}

/**
 * Sends `pathAndQuery` to the target once, over the scheme the peer is known
 * (or probed: forward-scheme.ts) to speak, with the client's method, headers
 * and body. HttpError 504 `forward_failed` when it does not answer in time,
 * or when a write's connection broke after the request may have reached
 * the peer (never sent again: it may have been applied); 502 when it could
 * not be reached (nothing sent). A read whose connection broke is sent once
 * more if a TLS handshake then shows the peer changed scheme. A TLS
 * handshake answered in plain goes again over http from a plain node
 * (nothing was sent), and is refused from a node serving HTTPS.
 */
export async function sendToPeer(link: PeerLink, target: HttpTarget, req: Request, pathAndQuery: string, body: Buffer | null): Promise<globalThis.Response> {
  const { config } = link;
  const signal = AbortSignal.timeout(config.httpForwardTimeoutMs);
  const attempt = (scheme: Scheme): Promise<globalThis.Response> => peerFetch(config)(targetUrl(target, pathAndQuery, scheme), {
    method: req.method,
    headers: requestHeaders(req, body),
    body: body === null || req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    redirect: 'manual',
    signal,
  });
  const once = async (scheme: Scheme, note = ''): Promise<globalThis.Response> => {
    try {
      return await attempt(scheme);
    } catch (err) {
      throw forwardFailure(config, target, targetUrl(target, pathAndQuery, scheme), err, req.method, note);
    }
  };
  const first = await link.schemes.resolve(target);
  try {
    const answer = await attempt(first);
    if (first === 'https' || answer.status !== 400) return answer;
    // A TLS front end's page: it refused the plain request, which reached no node.
    const page = await answer.clone().text().catch(() => '');
    if (!isPlainToHttpsPage(answer.status, answer.headers.get('content-type'), page)) return answer;
    link.schemes.learn(target, 'https');
    return await once('https', ' (after a TLS front end refused it in plain HTTP)');
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const url = targetUrl(target, pathAndQuery, first);
    if (schemeShownByError(first, err) === 'http') {
      // The handshake was answered in plain: no byte of the request was sent.
      const step = schemeFallback(config.tlsHttp, 'http');
      if ('refuse' in step) throw new HttpError(502, 'forward_failed', `could not forward to ${target.name} (${url}): ${step.refuse}`, { node: target.name, reason: 'scheme_mismatch' });
      link.schemes.learn(target, 'http');
      return once('http', ' (after its TLS handshake was answered in plain HTTP)');
    }
    if (!mayHaveReachedPeer(err)) throw forwardFailure(config, target, url, err, req.method);
    // The connection broke after the request was sent: a scheme change, or a peer that died.
    const now = await link.schemes.reprobe(target);
    if (isReadMethod(req.method) && now !== null && now !== first) return once(now, ` (after ${first} was closed and a TLS handshake showed ${now})`);
    throw forwardFailure(config, target, url, err, req.method);
  }
}

function forwardFailure(config: NodeConfig, target: HttpTarget, url: string, err: unknown, method: string, note = ''): HttpError {
  const e = err as Error;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new HttpError(504, 'forward_failed', `forwarded to ${target.name} (${url}), no answer within ${config.httpForwardTimeoutMs} ms (httpForwardTimeoutMs); a write may or may not have been applied${note}`, { node: target.name });
  }
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
  if (mayHaveReachedPeer(err) && !isReadMethod(method)) {
    return new HttpError(504, 'forward_failed', `forwarded to ${target.name} (${url}), the connection closed before an answer${cause}; the write may or may not have been applied (not sent again)${note}`, { node: target.name });
  }
  return new HttpError(502, 'forward_failed', `could not forward to ${target.name} (${url}): ${e.message}${cause}${note}`, { node: target.name });
}

/**
 * Handles a 421 `moved` a route raised: forwards, redirects, or returns false
 * (answer the 421 itself: a request already forwarded once, or an owner
 * whose HTTP address the map does not carry).
 */
export async function tryForward(deps: ForwardDeps, err: HttpError, req: Request, res: Response): Promise<boolean> {
  if (err.code !== 'moved' || err.status !== 421) return false;
  const primary = err.details?.primary as { host: string; port: number } | undefined;
  if (primary === undefined) return false;
  const target = httpTargetOf(deps.clusterMap(), primary);
  const decision = forwardDecision({ forwarded: isForwarded(req), redirect: wantsRedirect(req), target });
  if (decision === 'refuse' || target === null) return false;
  if (decision === 'redirect') {
    sendError(res, new HttpError(307, 'moved', err.message, err.details, { Location: targetUrl(target, req.originalUrl, deps.schemes.schemeFor(target)) }));
    return true;
  }
  const answer = await sendToPeer(deps, target, req, req.originalUrl, bodyOf(req));
  const bytes = Buffer.from(await answer.arrayBuffer());
  answer.headers.forEach((value, name) => {
    if (!DROP_RESPONSE.has(name)) res.append(name, value);
  });
  res.status(answer.status);
  if (req.method === 'HEAD' || answer.status === 304 || answer.status === 204) res.end();
  else res.end(bytes);
  return true;
}
