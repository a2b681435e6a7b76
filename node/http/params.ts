/** Reading and validating request inputs (query, headers, key in the path) into typed values or 4xx errors. */
import type { NextFunction, Request, Response } from 'express';
import type { NodeConfig } from '../config/schema.js';
import { type BytesEncoding, type EtagCondition, decodeBase64Strict, parseEtagCondition, parseIntStrict, percentDecode } from './codec.js';
import { HttpError, badRequest } from './errors.js';

const NO_QUERY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * Middleware: express 5 re-parses the query string on every `req.query`
 * access; this parses it once and keeps the result on the request itself
 * (an own property shadowing express's getter).
 */
export function parseQueryOnce(req: Request, _res: Response, next: NextFunction): void {
  if (req.url.indexOf('?') !== -1) {
    Object.defineProperty(req, 'query', { value: req.query, writable: true, enumerable: true, configurable: true });
  }
  next();
}

function queryOf(req: Request): Record<string, unknown> {
  if (req.url.indexOf('?') === -1) return NO_QUERY;
  return req.query as Record<string, unknown>;
}

/** One query parameter; repeating it is an error rather than a silent pick. */
export function queryParam(req: Request, name: string): string | undefined {
  const q = queryOf(req);
  const v: unknown = Object.prototype.hasOwnProperty.call(q, name) ? q[name] : undefined;
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`query parameter "${name}" must be given at most once`);
  return v;
}

export function enumParam<T extends string>(req: Request, name: string, values: readonly T[], dflt: T): T {
  const v = queryParam(req, name);
  if (v === undefined || v === '') return dflt;
  if (!(values as readonly string[]).includes(v)) throw badRequest(`query parameter "${name}" must be one of ${values.join(', ')}; got "${v}"`);
  return v as T;
}

const ENCODINGS = ['utf8', 'base64'] as const;

export function encodingParam(req: Request, name: string): BytesEncoding {
  return enumParam(req, name, ENCODINGS, 'utf8');
}

export function boolParam(req: Request, name: string, dflt: boolean): boolean {
  const v = queryParam(req, name);
  if (v === undefined || v === '') return dflt;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw badRequest(`query parameter "${name}" must be true or false; got "${v}"`);
}

export function intParam(req: Request, name: string, min: number, max: number, dflt: number): number {
  const v = queryParam(req, name);
  if (v === undefined || v === '') return dflt;
  const n = parseIntStrict(v, min, max);
  if (n === null) throw badRequest(`query parameter "${name}" must be an integer from ${min} to ${max}; got "${v}"`);
  return n;
}

export function keyTooLarge(len: number, max: number, what = 'key'): HttpError {
  return new HttpError(413, 'key_too_large', `${what} is ${len} bytes; the limit is ${max} (maxKeyBytes)`, { bytes: len, limit: max });
}

export function valueTooLarge(len: number, max: number): HttpError {
  return new HttpError(413, 'value_too_large', `value is ${len} bytes; the limit is ${max} (maxValueBytes)`, { bytes: len, limit: max });
}

const KV_PREFIX = '/v1/kv';

/**
 * The key of a /v1/kv/... request, from the raw (still percent-encoded)
 * path: everything after "/v1/kv/", so "/" inside keys works either literally
 * or as %2F. With keyEncoding=base64 the text is base64 (and may be empty:
 * the empty key); in utf8 an empty key is rejected, since "/v1/kv/" is more
 * often a client bug than a deliberate empty key.
 */
export function keyFromRequest(req: Request, config: Pick<NodeConfig, 'maxKeyBytes'>): Buffer {
  const path = req.path;
  const raw = path.length > KV_PREFIX.length ? path.slice(KV_PREFIX.length + 1) : '';
  const bytes = percentDecode(raw);
  if (bytes === null) throw badRequest('malformed percent-escape in the key (use %XX with two hex digits)');
  let key = bytes;
  if (encodingParam(req, 'keyEncoding') === 'base64') {
    const decoded = decodeBase64Strict(bytes.toString('latin1'));
    if (decoded === null) throw badRequest('key is not valid base64 (keyEncoding=base64)');
    key = decoded;
  } else if (key.length === 0) {
    throw badRequest('missing key: use /v1/kv/{key}; the empty key is /v1/kv/?keyEncoding=base64');
  }
  if (key.length > config.maxKeyBytes) throw keyTooLarge(key.length, config.maxKeyBytes);
  return key;
}

/** TTL from ?ttlMs or X-Iris-TTL-Ms (null: none). Both given must agree. */
export function ttlFromRequest(req: Request, now: number): number | null {
  const q = queryParam(req, 'ttlMs');
  const h = req.get('x-iris-ttl-ms');
  if (q !== undefined && h !== undefined && q !== h.trim()) throw badRequest('ttlMs and X-Iris-TTL-Ms disagree');
  const text = q ?? h?.trim();
  if (text === undefined) return null;
  const max = Number.MAX_SAFE_INTEGER - now;
  const n = parseIntStrict(text, 1, max);
  if (n === null) throw badRequest(`TTL must be an integer number of milliseconds from 1 to ${max}; got "${text}"`);
  return n;
}

export interface Conditions {
  readonly ifMatch: EtagCondition | null;
  readonly ifNoneMatch: EtagCondition | null;
}

export function conditionsFromRequest(req: Request): Conditions {
  const parse = (name: string): EtagCondition | null => {
    const h = req.get(name);
    if (h === undefined) return null;
    const c = parseEtagCondition(h);
    if (c === null) throw badRequest(`malformed ${name} header: expected "*" or a list of quoted versions like "42"`);
    return c;
  };
  return { ifMatch: parse('if-match'), ifNoneMatch: parse('if-none-match') };
}
