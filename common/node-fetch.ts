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
import tls from 'node:tls';
import { Readable } from 'node:stream';

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** The PEM files an HTTPS client of the nodes uses. */
export interface NodeTlsTrust {
  /** The CA the nodes' certificates are verified against (read per request) ... */
  readonly caFile?: string;
  /**
   * ... or the CA's PEM itself, asked for per request (the Kubernetes
   * operator holds it from a Secret); null: not known, the request fails.
   */
  readonly caPem?: () => string | null | Promise<string | null>;
  /** A client certificate and key (nodes with tls-auth-clients yes or optional). */
  readonly certFile?: string;
  readonly keyFile?: string;
  /**
   * Absent: the certificate must name the URL's host. A string: it must
   * name this host instead (nodes reached by pod IP hold certificates with
   * DNS names only; also sent as SNI). null: any name, the CA's signature
   * alone identifies a member (peers reached by address, as the bus does).
   */
  readonly serverName?: string | null;
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

async function caOf(trust: NodeTlsTrust): Promise<string | Buffer> {
  if (trust.caFile !== undefined) return fs.readFileSync(trust.caFile);
  const pem = trust.caPem === undefined ? null : await trust.caPem();
  if (pem === null) throw new Error('no CA to verify the node\'s certificate against (the cluster\'s ca.crt is not known)');
  return pem;
}

function identity(serverName: string | null | undefined): Pick<https.RequestOptions, 'servername' | 'checkServerIdentity'> {
  if (serverName === undefined) return {};
  if (serverName === null) return { checkServerIdentity: () => undefined };
  return { servername: serverName, checkServerIdentity: (_host, cert) => tls.checkServerIdentity(serverName, cert) };
}

/** One request over node:https, trusting `trust`'s CA; the files are read per request (a renewed certificate applies at once). */
async function httpsFetch(trust: NodeTlsTrust, url: string, init: RequestInit = {}): Promise<Response> {
  let ca: string | Buffer;
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  const body = requestBody(init.body);
  try {
    ca = await caOf(trust);
    cert = trust.certFile !== undefined ? fs.readFileSync(trust.certFile) : undefined;
    key = trust.keyFile !== undefined ? fs.readFileSync(trust.keyFile) : undefined;
  } catch (err) {
    throw new TypeError('fetch failed', { cause: err });
  }
  return new Promise<Response>((resolve, reject) => {
    const req = https.request(url, {
      method: init.method ?? 'GET',
      headers: { ...requestHeaders(init.headers), ...(body !== null ? { 'content-length': String(body.length) } : {}) },
      ca, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}), ...identity(trust.serverName),
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
