/** GET / PUT / DELETE /v1/kv/{key}: single-key reads and writes with TTL and compare-and-set. */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Entry } from '../engine/types.js';
import { formatEtag, ifMatchPasses, ifNoneMatchPasses } from './codec.js';
import { routeKeys } from './cluster-route.js';
import { applyWrite, awaitReadCommit, awaitWriteCommit } from './commit.js';
import type { HttpDeps } from './deps.js';
import { entryJson } from './entry-json.js';
import { HttpError } from './errors.js';
import { type Conditions, conditionsFromRequest, encodingParam, enumParam, keyFromRequest, ttlFromRequest, valueTooLarge } from './params.js';
import type { RouteDef } from './route-table.js';
import { consistencyOf, finishRead } from './consistency.js';
import { readsFromReplica } from '../cluster/read-consistency.js';
import { requirePermission, requestUserName } from './acl-http.js';
import { auditHttpWrite } from '../audit/http-write-audit.js';

const PATH = '/v1/kv/{key}';
/** No capture groups: express must not decodeURIComponent binary keys. */
const MATCH = /^\/v1\/kv(?:\/.*)?$/;

const p = (name: string) => ({ $ref: `#/components/parameters/${name}` });
const r = (name: string) => ({ $ref: `#/components/responses/${name}` });
const jsonOf = (schema: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } });
const etagHeaders = { ETag: { $ref: '#/components/headers/ETag' }, 'X-Iris-Expires-At': { $ref: '#/components/headers/ExpiresAt' } };

function preconditionFailed(current: Entry | null, which: string): HttpError {
  return new HttpError(412, 'precondition_failed', current === null ? `${which} failed: the key does not exist` : `${which} failed: the key is at version ${current.version}`, {
    currentVersion: current === null ? null : current.version,
  });
}

/** Evaluates If-Match then If-None-Match (RFC 9110 §13.2.2 order) for a write. */
function checkWriteConditions(cond: Conditions, current: Entry | null): void {
  const version = current === null ? null : current.version;
  if (cond.ifMatch !== null && !ifMatchPasses(cond.ifMatch, version)) throw preconditionFailed(current, 'If-Match');
  if (cond.ifNoneMatch !== null && !ifNoneMatchPasses(cond.ifNoneMatch, version)) throw preconditionFailed(current, 'If-None-Match');
}

function setEntryHeaders(res: Response, entry: Entry): void {
  res.setHeader('ETag', formatEtag(entry.version));
  if (entry.expiresAt !== null) res.setHeader('X-Iris-Expires-At', String(entry.expiresAt));
  res.setHeader('Cache-Control', 'no-cache');
}

/** The Redis commands the KV routes stand for, for ACL checks. */
const GET_CMD = Buffer.from('get');
const SET_CMD = Buffer.from('set');
const DEL_CMD = Buffer.from('del');

export function kvRoutes(deps: HttpDeps): RouteDef[] {
  const { keyspace, commits, config } = deps;

  async function getKey(req: Request, res: Response): Promise<void> {
    const key = keyFromRequest(req, config);
    const format = enumParam(req, 'format', ['raw', 'json'] as const, 'raw');
    const encoding = encodingParam(req, 'encoding');
    const cond = conditionsFromRequest(req);
    const level = consistencyOf(req);
    requirePermission(deps.acl, req, res, [GET_CMD, key], deps.now());
    await routeKeys(deps.keyRouter, [key], false, readsFromReplica(level));
    const entry = keyspace.get(key, deps.now());
    await awaitReadCommit(commits);
    // Before any answer, a 404 too: "no such key" from a deposed primary is a stale read as well.
    await finishRead(deps.consistency, level, res);
    if (entry === null) throw new HttpError(404, 'not_found', 'no such key');
    if (cond.ifMatch !== null && !ifMatchPasses(cond.ifMatch, entry.version)) throw preconditionFailed(entry, 'If-Match');
    setEntryHeaders(res, entry);
    if (cond.ifNoneMatch !== null && !ifNoneMatchPasses(cond.ifNoneMatch, entry.version)) {
      res.status(304).end();
      return;
    }
    if (format === 'json') {
      res.status(200).json(entryJson(key, entry, encoding));
      return;
    }
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(entry.value.length));
    res.status(200).end(entry.value);
  }

  /** Runs before the body is read, so a bad key or header costs no body upload. */
  function preparePut(req: Request, res: Response, next: NextFunction): void {
    res.locals.key = keyFromRequest(req, config);
    res.locals.cond = conditionsFromRequest(req);
    res.locals.ttl = ttlFromRequest(req, deps.now());
    // Refuse a declared oversize value before uploading it (compressed bodies are checked after inflating).
    const declared = Number(req.get('content-length'));
    const identity = (req.get('content-encoding') ?? 'identity').toLowerCase() === 'identity';
    if (identity && declared > config.maxValueBytes) throw valueTooLarge(declared, config.maxValueBytes);
    next();
  }

  async function putKey(req: Request, res: Response): Promise<void> {
    const key = res.locals.key as Buffer;
    const cond = res.locals.cond as Conditions;
    const body: unknown = req.body;
    const value = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
    if (value.length > config.maxValueBytes) throw valueTooLarge(value.length, config.maxValueBytes);
    const now = deps.now();
    const ttl = res.locals.ttl as number | null;
    const expiresAt = ttl === null ? null : now + ttl;
    requirePermission(deps.acl, req, res, [SET_CMD, key, value], now);
    await routeKeys(deps.keyRouter, [key], true);
    auditHttpWrite(deps, req, res, requestUserName(res), 'SET', () => [key]);
    // Check and write in one synchronous step: no other request can interleave (CAS).
    const version = applyWrite(() => {
      if (cond.ifMatch !== null || cond.ifNoneMatch !== null) checkWriteConditions(cond, keyspace.get(key, now));
      return keyspace.set(key, value, expiresAt);
    });
    await awaitWriteCommit(commits);
    res.setHeader('ETag', formatEtag(version));
    res.status(200).json({ version, expiresAt });
  }

  async function deleteKey(req: Request, res: Response): Promise<void> {
    const key = keyFromRequest(req, config);
    const cond = conditionsFromRequest(req);
    requirePermission(deps.acl, req, res, [DEL_CMD, key], deps.now());
    await routeKeys(deps.keyRouter, [key], true);
    auditHttpWrite(deps, req, res, requestUserName(res), 'DEL', () => [key]);
    const now = deps.now();
    const deleted = applyWrite(() => {
      if (cond.ifMatch !== null || cond.ifNoneMatch !== null) checkWriteConditions(cond, keyspace.get(key, now));
      return keyspace.delete(key, now);
    });
    await awaitWriteCommit(commits);
    res.status(200).json({ deleted });
  }

  const rawBody = express.raw({ type: () => true, limit: config.maxHttpBodyBytes });
  const tags = ['kv'];
  return [
    {
      method: 'get', path: PATH, match: MATCH, handlers: [getKey],
      operation: {
        operationId: 'getKey', tags, summary: 'Read a key',
        description: 'Returns the value bytes (format=raw, the default) or an Entry document (format=json). HEAD returns the headers only.',
        parameters: [p('Key'), p('KeyEncoding'), p('Format'), p('Encoding'), p('IfMatch'), p('IfNoneMatch'), p('Consistency'), p('ConsistencyHeader')],
        responses: {
          200: { description: 'The value', headers: etagHeaders, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } }, ...jsonOf('Entry') } },
          304: { description: 'If-None-Match matched the current version', headers: etagHeaders },
          400: r('BadRequest'), 404: r('NotFound'), 412: r('PreconditionFailed'), 413: r('PayloadTooLarge'), 500: r('Internal'), 503: r('WriteFailed'),
        },
      },
    },
    {
      method: 'put', path: PATH, match: MATCH, handlers: [preparePut, rawBody, putKey],
      operation: {
        operationId: 'putKey', tags, summary: 'Write a key',
        description: 'The body (any content type) is the value, byte for byte. Responds after the write is durable. Without a TTL the key does not expire (a previous TTL is cleared).',
        parameters: [p('Key'), p('KeyEncoding'), p('TtlMs'), p('TtlHeader'), p('IfMatch'), p('IfNoneMatch')],
        requestBody: { required: false, content: { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
        responses: {
          200: { description: 'Written and committed', headers: { ETag: { $ref: '#/components/headers/ETag' } }, content: jsonOf('PutResult') },
          400: r('BadRequest'), 412: r('PreconditionFailed'), 413: r('PayloadTooLarge'), 415: r('Unsupported'), 500: r('WriteFailed'), 503: r('WriteFailed'),
        },
      },
    },
    {
      method: 'delete', path: PATH, match: MATCH, handlers: [deleteKey],
      operation: {
        operationId: 'deleteKey', tags, summary: 'Delete a key',
        description: 'Responds after the delete is durable. With If-Match the key must exist at the given version.',
        parameters: [p('Key'), p('KeyEncoding'), p('IfMatch'), p('IfNoneMatch')],
        responses: {
          200: { description: 'Deleted (or already absent)', content: jsonOf('DeleteResult') },
          400: r('BadRequest'), 412: r('PreconditionFailed'), 413: r('PayloadTooLarge'), 500: r('WriteFailed'), 503: r('WriteFailed'),
        },
      },
    },
  ];
}
