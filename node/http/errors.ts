/**
 * The one error shape of the HTTP API: {error: {code, message, details?}}
 * with a matching status. Handlers throw HttpError; the error handler turns
 * it (and express/body-parser errors) into that JSON.
 */
import type { Response } from 'express';
import { EncryptionAtRestError } from '../crypto/errors.js';

export const ERROR_CODES = [
  'bad_request',
  'not_found',
  'method_not_allowed',
  'precondition_failed',
  'payload_too_large',
  'key_too_large',
  'value_too_large',
  'too_many_ops',
  'unsupported',
  'not_ready',
  'write_failed',
  'replication_timeout',
  'read_only_replica',
  'moved',
  'cross_slot',
  'cluster_down',
  'forward_failed',
  'not_confirmed',
  'unauthorized',
  'forbidden',
  'conflict',
  'gone',
  'too_many_streams',
  'internal',
  'storage_failed',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>): HttpError => new HttpError(400, 'bad_request', message, details);

export function sendError(res: Response, err: HttpError): void {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err.details !== undefined) body.error.details = err.details;
  if (err.headers) res.set(err.headers);
  res.status(err.status).json(body);
}

interface BodyParserError {
  type?: unknown;
  status?: unknown;
  limit?: unknown;
  length?: unknown;
  message?: unknown;
}

/**
 * Maps a thrown value to the API's error, or null for an unexpected failure
 * (a 500 that the caller logs). body-parser tags its errors with `type`.
 */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  // A value this node cannot decrypt: the client learns which key id is missing (never the value).
  if (err instanceof EncryptionAtRestError) return new HttpError(500, 'internal', err.message, { keyId: err.keyId });
  if (typeof err !== 'object' || err === null) return null;
  const e = err as BodyParserError;
  const msg = typeof e.message === 'string' ? e.message : 'bad request';
  switch (e.type) {
    case 'entity.too.large':
      return new HttpError(413, 'payload_too_large', `request body is larger than the limit of ${String(e.limit)} bytes (maxHttpBodyBytes)`, { limit: e.limit });
    case 'entity.parse.failed':
      return badRequest(`malformed JSON body: ${msg}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'unsupported', msg);
    case 'request.aborted':
      return badRequest('request aborted by the client');
    case 'request.size.invalid':
      return badRequest('request body length does not match Content-Length');
    default:
      break;
  }
  // Other client errors raised by express itself (e.g. a malformed URL).
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return e.status === 413 ? new HttpError(413, 'payload_too_large', msg) : badRequest(msg);
  }
  return null;
}
