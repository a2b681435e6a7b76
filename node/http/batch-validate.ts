/**
 * Validation of a /v1/kv:batch body, before anything is applied: the shape
 * against the published BatchRequest schema, then what a schema cannot say
 * (base64 that decodes, byte limits, exclusive preconditions). Pure.
 */
import type { NodeConfig } from '../config/schema.js';
import { type BytesEncoding, decodeBytes } from './codec.js';
import { HttpError, badRequest } from './errors.js';
import { type SchemaRegistry, validateJson } from './json-schema.js';
import { keyTooLarge, valueTooLarge } from './params.js';

export type BatchOp =
  | { readonly op: 'get'; readonly key: Buffer; readonly encoding: BytesEncoding; readonly ifVersion: number | null; readonly ifAbsent: boolean }
  | { readonly op: 'put'; readonly key: Buffer; readonly value: Buffer; readonly ttlMs: number | null; readonly ifVersion: number | null; readonly ifAbsent: boolean }
  | { readonly op: 'delete'; readonly key: Buffer; readonly ifVersion: number | null; readonly ifAbsent: boolean };

interface RawOp {
  op: 'get' | 'put' | 'delete';
  key: string;
  keyEncoding?: BytesEncoding;
  value?: string;
  valueEncoding?: BytesEncoding;
  ttlMs?: number | null;
  ifVersion?: number | string;
  ifAbsent?: boolean;
}

type Limits = Pick<NodeConfig, 'maxBatchOps' | 'maxKeyBytes' | 'maxValueBytes'>;

function withOp(err: HttpError, i: number): HttpError {
  return new HttpError(err.status, err.code, `ops[${i}]: ${err.message}`, { ...err.details, op: i }, err.headers);
}

export function validateBatch(body: unknown, schemas: SchemaRegistry, limits: Limits): BatchOp[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object like {"ops": [...]}');
  const ops: unknown = (body as Record<string, unknown>).ops;
  // Counted before the schema walk, so an oversized batch is refused cheaply and with its own code.
  if (Array.isArray(ops) && ops.length > limits.maxBatchOps) {
    throw new HttpError(413, 'too_many_ops', `batch has ${ops.length} operations; the limit is ${limits.maxBatchOps} (maxBatchOps)`, { ops: ops.length, limit: limits.maxBatchOps });
  }
  const shapeError = validateJson({ $ref: '#/components/schemas/BatchRequest' }, body, schemas);
  if (shapeError !== null) {
    const m = /^\$\.ops\[(\d+)\]/.exec(shapeError);
    throw badRequest(shapeError.replace(/^\$\.?/, '') || 'invalid body', m ? { op: Number(m[1]) } : undefined);
  }
  return (ops as RawOp[]).map((raw, i) => {
    try {
      return checkOp(raw, limits);
    } catch (err) {
      throw err instanceof HttpError ? withOp(err, i) : err;
    }
  });
}

function checkOp(raw: RawOp, limits: Limits): BatchOp {
  const key = decodeBytes(raw.key, raw.keyEncoding ?? 'utf8');
  if (key === null) throw badRequest('key is not valid base64');
  if (key.length > limits.maxKeyBytes) throw keyTooLarge(key.length, limits.maxKeyBytes);
  let ifVersion: number | null = null;
  if (raw.ifVersion !== undefined) {
    ifVersion = Number(raw.ifVersion);
    if (!Number.isSafeInteger(ifVersion) || ifVersion < 0) throw badRequest('ifVersion must be a non-negative integer');
  }
  const ifAbsent = raw.ifAbsent === true;
  if (ifVersion !== null && ifAbsent) throw badRequest('ifVersion and ifAbsent exclude each other');
  switch (raw.op) {
    case 'get':
      return { op: 'get', key, encoding: raw.valueEncoding ?? 'utf8', ifVersion, ifAbsent };
    case 'delete':
      return { op: 'delete', key, ifVersion, ifAbsent };
    case 'put': {
      const value = decodeBytes(raw.value!, raw.valueEncoding ?? 'utf8');
      if (value === null) throw badRequest('value is not valid base64');
      if (value.length > limits.maxValueBytes) throw valueTooLarge(value.length, limits.maxValueBytes);
      const ttlMs = raw.ttlMs ?? null;
      if (ttlMs !== null && !Number.isSafeInteger(ttlMs)) throw badRequest('ttlMs is too large');
      return { op: 'put', key, value, ttlMs, ifVersion, ifAbsent };
    }
  }
}
