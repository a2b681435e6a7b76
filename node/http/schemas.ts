/**
 * The OpenAPI components (schemas, parameters, headers, responses) of the
 * HTTP API. Route files refer to these by name; the batch route validates
 * its body against BatchRequest; tests validate responses against the rest.
 */
import type { NodeConfig } from '../config/schema.js';
import { ERROR_CODES } from './errors.js';
import type { JsonSchema } from './json-schema.js';

type Limits = Pick<NodeConfig, 'maxBatchOps' | 'maxScanLimit' | 'maxKeyBytes' | 'maxValueBytes' | 'maxHttpBodyBytes'>;

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const encoding: JsonSchema = ref('Encoding');
const version: JsonSchema = { type: 'integer', minimum: 0, description: 'Per-key version: the node-wide sequence number of the last write to the key. Also the ETag.' };
const expiresAt: JsonSchema = { type: ['integer', 'null'], description: 'Absolute expiry in Unix milliseconds, or null for no expiry.' };
const ifVersion: JsonSchema = {
  type: ['integer', 'string'], minimum: 0, pattern: '^(0|[1-9][0-9]{0,15})$',
  description: 'Precondition: the key must exist at exactly this version (else 412 and nothing is applied).',
};
const ifAbsent: JsonSchema = { type: 'boolean', description: 'Precondition: the key must not exist (else 412 and nothing is applied).' };
const keyFields = {
  key: { type: 'string', description: 'The key, in keyEncoding. The empty string is the empty key.' } as JsonSchema,
  keyEncoding: { ...encoding, description: 'How `key` is encoded (default utf8).' } as JsonSchema,
};

export function buildSchemas(limits: Limits): Record<string, JsonSchema> {
  return {
    Encoding: { type: 'string', enum: ['utf8', 'base64'], description: 'Text encoding of bytes in JSON. base64 accepts the standard and URL-safe alphabets, padding optional.' },
    Error: {
      type: 'object', required: ['error'], additionalProperties: false,
      properties: {
        error: {
          type: 'object', required: ['code', 'message'], additionalProperties: false,
          properties: {
            code: { type: 'string', enum: [...ERROR_CODES] },
            message: { type: 'string', description: 'Human-readable explanation.' },
            details: { type: 'object', description: 'Machine-readable context, e.g. {"op": 3} for the batch operation that failed.' },
          },
        },
      },
    },
    Entry: {
      type: 'object', required: ['key', 'keyEncoding', 'version', 'expiresAt'], additionalProperties: false,
      description: 'A key and (unless omitted) its value. With encoding=utf8, bytes that are not valid UTF-8 are returned in base64 and keyEncoding/valueEncoding say so.',
      properties: {
        key: { type: 'string' }, keyEncoding: encoding,
        value: { type: 'string' }, valueEncoding: encoding,
        version, expiresAt,
      },
    },
    PutResult: { type: 'object', required: ['version', 'expiresAt'], additionalProperties: false, properties: { version, expiresAt } },
    DeleteResult: { type: 'object', required: ['deleted'], additionalProperties: false, properties: { deleted: { type: 'boolean', description: 'true if a live key was removed.' } } },
    BatchGetOp: {
      type: 'object', required: ['op', 'key'], additionalProperties: false,
      properties: { op: { const: 'get' }, ...keyFields, valueEncoding: { ...encoding, description: 'Encoding of the returned key and value (default utf8, falling back to base64 for non-UTF-8 bytes).' }, ifVersion, ifAbsent },
    },
    BatchPutOp: {
      type: 'object', required: ['op', 'key', 'value'], additionalProperties: false,
      properties: {
        op: { const: 'put' }, ...keyFields,
        value: { type: 'string', description: `The value, in valueEncoding (at most ${limits.maxValueBytes} bytes decoded).` },
        valueEncoding: { ...encoding, description: 'How `value` is encoded (default utf8).' },
        ttlMs: { type: ['integer', 'null'], minimum: 1, description: 'Time to live in milliseconds; absent or null = no expiry (an existing TTL is cleared).' },
        ifVersion, ifAbsent,
      },
    },
    BatchDeleteOp: {
      type: 'object', required: ['op', 'key'], additionalProperties: false,
      properties: { op: { const: 'delete' }, ...keyFields, ifVersion, ifAbsent },
    },
    BatchOp: {
      oneOf: [ref('BatchGetOp'), ref('BatchPutOp'), ref('BatchDeleteOp')],
      discriminator: { propertyName: 'op', mapping: { get: '#/components/schemas/BatchGetOp', put: '#/components/schemas/BatchPutOp', delete: '#/components/schemas/BatchDeleteOp' } },
    },
    BatchRequest: {
      type: 'object', required: ['ops'], additionalProperties: false,
      properties: { ops: { type: 'array', items: ref('BatchOp'), maxItems: limits.maxBatchOps, description: `At most ${limits.maxBatchOps} operations (maxBatchOps), applied in order, all or nothing.` } },
    },
    BatchGetResult: {
      type: 'object', required: ['op', 'found', 'key', 'keyEncoding'], additionalProperties: false,
      properties: {
        op: { const: 'get' }, found: { type: 'boolean' },
        key: { type: 'string' }, keyEncoding: encoding, value: { type: 'string' }, valueEncoding: encoding, version, expiresAt,
      },
    },
    BatchPutResult: { type: 'object', required: ['op', 'version', 'expiresAt'], additionalProperties: false, properties: { op: { const: 'put' }, version, expiresAt } },
    BatchDeleteResult: { type: 'object', required: ['op', 'deleted'], additionalProperties: false, properties: { op: { const: 'delete' }, deleted: { type: 'boolean' } } },
    BatchResult: {
      oneOf: [ref('BatchGetResult'), ref('BatchPutResult'), ref('BatchDeleteResult')],
      discriminator: { propertyName: 'op', mapping: { get: '#/components/schemas/BatchGetResult', put: '#/components/schemas/BatchPutResult', delete: '#/components/schemas/BatchDeleteResult' } },
    },
    BatchResponse: { type: 'object', required: ['results'], additionalProperties: false, properties: { results: { type: 'array', items: ref('BatchResult') } } },
    ScanPage: {
      type: 'object', required: ['items', 'cursor'], additionalProperties: false,
      properties: {
        items: { type: 'array', items: ref('Entry') },
        cursor: { type: ['string', 'null'], description: 'Pass as `cursor` to get the next page; null when the scan is complete.' },
      },
    },
    Status: { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { type: 'string', enum: ['ok', 'ready'] } } },
  };
}

/** Reusable parameters, headers and error responses. */
export function buildSharedComponents(limits: Limits): { parameters: Record<string, unknown>; headers: Record<string, unknown>; responses: Record<string, unknown> } {
  const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });
  return {
    parameters: {
      Key: {
        name: 'key', in: 'path', required: true, schema: { type: 'string' },
        description: 'The key: everything after /v1/kv/, percent-decoded to raw bytes (%00..%FF allowed; "/" may appear literally or as %2F). With keyEncoding=base64 it is base64 instead; the empty key is /v1/kv/?keyEncoding=base64.',
      },
      KeyEncoding: { name: 'keyEncoding', in: 'query', schema: { ...encoding, default: 'utf8' }, description: 'How the key (or scan prefix) in the URL is encoded.' },
      Encoding: { name: 'encoding', in: 'query', schema: { ...encoding, default: 'utf8' }, description: 'Encoding of keys and values in JSON responses (utf8 falls back to base64 for bytes that are not UTF-8).' },
      Format: { name: 'format', in: 'query', schema: { type: 'string', enum: ['raw', 'json'], default: 'raw' }, description: 'raw: the value bytes as the body; json: an Entry document.' },
      TtlMs: { name: 'ttlMs', in: 'query', schema: { type: 'integer', minimum: 1 }, description: 'Time to live in milliseconds (no TTL: the key does not expire, and any previous TTL is cleared).' },
      TtlHeader: { name: 'X-Iris-TTL-Ms', in: 'header', schema: { type: 'integer', minimum: 1 }, description: 'Same as ttlMs; if both are given they must agree.' },
      IfMatch: { name: 'If-Match', in: 'header', schema: { type: 'string' }, description: 'Compare-and-set: "<version>" (or a list, or *). The request fails with 412 unless the key exists at a listed version.' },
      Consistency: { name: 'consistency', in: 'query', schema: { type: 'string', enum: ['strong', 'default', 'eventual'], default: 'default' }, description: 'Read consistency (docs/consistency.md): strong = the primary confirms it still leads before answering; default = the primary; eventual = a replica of the shard may answer (lag in X-Iris-Replica-Lag-Ops/-Ms).' },
      ConsistencyHeader: { name: 'X-Iris-Consistency', in: 'header', schema: { type: 'string', enum: ['strong', 'default', 'eventual'] }, description: 'The same as ?consistency= (the query parameter wins).' },
      IfNoneMatch: { name: 'If-None-Match', in: 'header', schema: { type: 'string' }, description: '* = create only (412 if the key exists). A version list: 412 (GET: 304) if the key is at a listed version.' },
      Prefix: { name: 'prefix', in: 'query', schema: { type: 'string', default: '' }, description: 'Only keys starting with these bytes (in keyEncoding).' },
      Cursor: { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'The cursor of the previous page; absent for the first page.' },
      Limit: { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: limits.maxScanLimit, default: Math.min(100, limits.maxScanLimit) }, description: 'Most items per page (maxScanLimit).' },
      Values: { name: 'values', in: 'query', schema: { type: 'boolean', default: true }, description: 'Include values (false: keys and metadata only).' },
    },
    headers: {
      ETag: { description: 'The key\'s version in quotes, e.g. "42".', schema: { type: 'string' } },
      ExpiresAt: { description: 'Absolute expiry in Unix milliseconds (only when the key has a TTL).', schema: { type: 'integer' } },
      Allow: { description: 'Methods the path supports.', schema: { type: 'string' } },
    },
    responses: {
      BadRequest: errorResponse('Malformed request: bad key or base64, bad number, malformed JSON, unknown field.'),
      NotFound: errorResponse('No such key (or no such route).'),
      MethodNotAllowed: { ...errorResponse('The path does not support this method.'), headers: { Allow: { $ref: '#/components/headers/Allow' } } },
      PreconditionFailed: errorResponse('If-Match / If-None-Match / ifVersion / ifAbsent did not hold; nothing was changed.'),
      PayloadTooLarge: errorResponse(`Body over maxHttpBodyBytes (${limits.maxHttpBodyBytes}) [payload_too_large], key over maxKeyBytes (${limits.maxKeyBytes}) [key_too_large], value over maxValueBytes (${limits.maxValueBytes}) [value_too_large], or more than maxBatchOps (${limits.maxBatchOps}) batch operations [too_many_ops].`),
      Unsupported: errorResponse('Unsupported Content-Encoding or charset, or a POST body that is not application/json.'),
      Unauthorized: { ...errorResponse('With requirePass set: no or wrong credentials (Basic, user "default" and the password, or Bearer <password>).'), headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } },
      Forbidden: errorResponse('A Host header that is not an IP address, localhost or an allowed host name (httpAllowedHosts), or a cross-origin Origin.'),
      WriteFailed: errorResponse('The write could not be committed and was not applied (e.g. a storage failure). Safe to retry.'),
      Internal: errorResponse('Unexpected server error.'),
    },
  };
}
