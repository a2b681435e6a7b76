/**
 * fetch for node HTTP APIs that may be HTTPS with a private CA (a local
 * cluster started with --tls): Node's global fetch cannot be given a CA
 * without an extra package, so https URLs go through node:https with the
 * CA (and a client certificate, for --tls-auth-clients yes), answered as a
 * WHATWG Response (streamed body), so callers keep using the fetch API.
 * Plain http URLs, and https ones without `tls`, use the global fetch.
 */
import fs from 'node:fs';
import https from 'node:https';
import { Readable } from 'node:stream';

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** The PEM files an HTTPS client of the nodes uses. */
export interface NodeTlsTrust {
  /** The CA the nodes' certificates are verified against. */
  readonly caFile: string;
  /** A client certificate and key (nodes with tls-auth-clients yes or optional). */
  readonly certFile?: string;
  readonly keyFile?: string;
}

function requestBody(body: RequestInit['body']): Buffer | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError('nodeFetch over HTTPS takes a string or bytes body');
}

function requestHeaders(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(h).forEach((value, name) => { out[name] = value; });
  return out;
}

/** One request over node:https, trusting `trust`'s CA; the files are read per request (a renewed certificate applies at once). */
function httpsFetch(trust: NodeTlsTrust, url: string, init: RequestInit = {}): Promise<Response> {
  const body = requestBody(init.body);
  const ca = fs.readFileSync(trust.caFile);
  const cert = trust.certFile !== undefined ? fs.readFileSync(trust.certFile) : undefined;
  const key = trust.keyFile !== undefined ? fs.readFileSync(trust.keyFile) : undefined;
  return new Promise<Response>((resolve, reject) => {
    const req = https.request(url, {
      method: init.method ?? 'GET',
      headers: { ...requestHeaders(init.headers), ...(body !== null ? { 'content-length': String(body.length) } : {}) },
      ca, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}),
      ...(init.signal !== undefined && init.signal !== null ? { signal: init.signal } : {}),
    }, (res) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
      }
      const status = res.statusCode ?? 502;
      // A Response may not carry a body with these statuses.
      const noBody = status === 204 || status === 304 || init.method === 'HEAD';
      if (noBody) res.resume();
      resolve(new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage ?? '', headers }));
    });
    req.once('error', (err) => {
      // As fetch: an abort rejects with the signal's reason (TimeoutError for AbortSignal.timeout).
      reject(init.signal?.aborted === true ? (init.signal.reason as Error) : new TypeError('fetch failed', { cause: err }));
    });
    req.end(body ?? undefined);
  });
}

/** A fetch that reaches nodes over https with `trust` (null: the global fetch for every URL). */
export function nodeFetch(trust: NodeTlsTrust | null): FetchLike {
  if (trust === null) return (url, init) => fetch(url, init);
  return (url, init) => (url.startsWith('https:') ? httpsFetch(trust, url, init) : fetch(url, init));
}
