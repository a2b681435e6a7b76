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

export interface ForwardDeps {
  readonly config: NodeConfig;
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
 * With --tls-http every node serves HTTPS: peers are reached trusting the
 * cluster CA, presenting this node's certificate (peers may ask for one).
 * Peers are reached by address (on Kubernetes a pod IP the certificate does
 * not name), so the CA's signature identifies a member, as on the bus.
 */
function peerFetch(config: NodeConfig): FetchLike {
  const trusted = config.tlsHttp && config.tlsCaCertFile !== '';
  return nodeFetch(trusted ? { caFile: config.tlsCaCertFile, certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, serverName: null } : null);
}

/**
 * Sends `pathAndQuery` to the target with the client's method, headers and
 * body; HttpError 504/502 `forward_failed` when it does not answer in time
 * or cannot be reached.
 */
export async function sendToPeer(config: NodeConfig, target: HttpTarget, req: Request, pathAndQuery: string, body: Buffer | null): Promise<globalThis.Response> {
  const url = targetUrl(target, pathAndQuery, config.tlsHttp ? 'https' : 'http');
  try {
    return await peerFetch(config)(url, {
      method: req.method,
      headers: requestHeaders(req, body),
      body: body === null || req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      redirect: 'manual',
      signal: AbortSignal.timeout(config.httpForwardTimeoutMs),
    });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      throw new HttpError(504, 'forward_failed', `forwarded to ${target.name} (${url}), no answer within ${config.httpForwardTimeoutMs} ms (httpForwardTimeoutMs); a write may or may not have been applied`, { node: target.name });
    }
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    throw new HttpError(502, 'forward_failed', `could not forward to ${target.name} (${url}): ${e.message}${cause}`, { node: target.name });
  }
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
    sendError(res, new HttpError(307, 'moved', err.message, err.details, { Location: targetUrl(target, req.originalUrl, deps.config.tlsHttp ? 'https' : 'http') }));
    return true;
  }
  const answer = await sendToPeer(deps.config, target, req, req.originalUrl, bodyOf(req));
  const bytes = Buffer.from(await answer.arrayBuffer());
  answer.headers.forEach((value, name) => {
    if (!DROP_RESPONSE.has(name)) res.append(name, value);
  });
  res.status(answer.status);
  if (req.method === 'HEAD' || answer.status === 304 || answer.status === 204) res.end();
  else res.end(bytes);
  return true;
}
