/**
 * POST /v1/kv:batch: several gets, puts and deletes applied in order, all
 * or nothing. Everything is validated first; then all operations run inside
 * keyspace.atomically(), so a failed precondition or a storage error undoes
 * every write of the batch; then the response waits for the group commit.
 */
import express, { type Request, type Response } from 'express';
import type { Entry } from '../engine/types.js';
import { type BatchOp, validateBatch } from './batch-validate.js';
import { routeKeys } from './cluster-route.js';
import { consistencyOf, finishRead } from './consistency.js';
import { readsFromReplica } from '../cluster/read-consistency.js';
import { applyWrite, awaitReadCommit, awaitWriteCommit } from './commit.js';
import type { HttpDeps } from './deps.js';
import { entryJson } from './entry-json.js';
import { HttpError, badRequest } from './errors.js';
import type { SchemaRegistry } from './json-schema.js';
import { encodeBytes } from './codec.js';
import type { RouteDef } from './route-table.js';
import { requirePermission, requestUserName } from './acl-http.js';
import { auditHttpWrite } from '../audit/http-write-audit.js';

export type BatchResult =
  | ({ op: 'get'; found: true } & ReturnType<typeof entryJson>)
  | { op: 'get'; found: false; key: string; keyEncoding: 'utf8' | 'base64' }
  | { op: 'put'; version: number; expiresAt: number | null }
  | { op: 'delete'; deleted: boolean };

function preconditionFailed(i: number, op: BatchOp, current: Entry | null): HttpError {
  const k = encodeBytes(op.key, 'utf8');
  const what = op.ifAbsent ? 'ifAbsent' : `ifVersion ${op.ifVersion}`;
  const state = current === null ? 'the key does not exist' : `the key is at version ${current.version}`;
  return new HttpError(412, 'precondition_failed', `ops[${i}] (${op.op}): ${what} failed: ${state}; nothing was applied`, {
    op: i, key: k.text, keyEncoding: k.encoding, currentVersion: current === null ? null : current.version,
  });
}

/** The Redis command each batch op stands for, for ACL checks. */
const BATCH_CMD = { get: Buffer.from('get'), put: Buffer.from('set'), delete: Buffer.from('del') } as const;

export function batchRoutes(deps: HttpDeps, schemas: SchemaRegistry): RouteDef[] {
  const { keyspace, commits, config } = deps;

  function apply(ops: readonly BatchOp[], expiries: readonly (number | null)[], now: number): BatchResult[] {
    const results: BatchResult[] = new Array<BatchResult>(ops.length);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const needsCurrent = op.op === 'get' || op.ifAbsent || op.ifVersion !== null;
      const current = needsCurrent ? keyspace.get(op.key, now) : null;
      if (op.ifAbsent && current !== null) throw preconditionFailed(i, op, current);
      if (op.ifVersion !== null && (current === null || current.version !== op.ifVersion)) throw preconditionFailed(i, op, current);
      switch (op.op) {
        case 'get':
          if (current === null) {
            const k = encodeBytes(op.key, op.encoding);
            results[i] = { op: 'get', found: false, key: k.text, keyEncoding: k.encoding };
          } else {
            results[i] = { op: 'get', found: true, ...entryJson(op.key, current, op.encoding) };
          }
          break;
        case 'put':
          results[i] = { op: 'put', version: keyspace.set(op.key, op.value, expiries[i]!), expiresAt: expiries[i]! };
          break;
        case 'delete':
          results[i] = { op: 'delete', deleted: keyspace.delete(op.key, now) };
          break;
      }
    }
    return results;
  }

  async function batch(req: Request, res: Response): Promise<void> {
    const ops = validateBatch(req.body, schemas, config);
    const writes = ops.some((o) => o.op !== 'get');
    // A batch with writes is served by the primary and acknowledged as a write: the level applies to read-only batches.
    const level = writes ? 'default' : consistencyOf(req);
    for (const op of ops) requirePermission(deps.acl, req, res, [BATCH_CMD[op.op], op.key, ...(op.op === 'put' ? [op.value] : [])], deps.now());
    await routeKeys(deps.keyRouter, ops.map((o) => o.key), writes, readsFromReplica(level));
    if (writes) auditHttpWrite(deps, req, res, requestUserName(res), 'BATCH', () => ops.filter((o) => o.op !== 'get').map((o) => o.key));
    const now = deps.now();
    const expiries = ops.map((op, i) => {
      if (op.op !== 'put' || op.ttlMs === null) return null;
      if (op.ttlMs > Number.MAX_SAFE_INTEGER - now) throw badRequest(`ops[${i}]: ttlMs is too large`, { op: i });
      return now + op.ttlMs;
    });
    const results = applyWrite(() => keyspace.atomically(() => apply(ops, expiries, now)), 'the batch', { ops: ops.length });
    if (ops.some((o) => o.op !== 'get')) await awaitWriteCommit(commits);
    else {
      await awaitReadCommit(commits);
      await finishRead(deps.consistency, level, res);
    }
    res.status(200).json({ results });
  }

  const jsonBody = express.json({ type: () => true, limit: config.maxHttpBodyBytes, strict: true });
  const r = (name: string) => ({ $ref: `#/components/responses/${name}` });
  return [
    {
      method: 'post', path: '/v1/kv:batch', match: '/v1/kv\\:batch', handlers: [jsonBody, batch],
      operation: {
        operationId: 'batch', tags: ['kv'], summary: 'Atomic batch of gets, puts and deletes',
        description:
          'Operations run in order against the state left by the previous ones, and either all take effect or none does. ' +
          'A failed ifVersion/ifAbsent gives 412 naming the operation (details.op); a storage failure gives 500/503; in both cases nothing is applied. ' +
          'The response is sent after the batch is durable. A batch of gets only honours ?consistency= (docs/consistency.md).',
        parameters: [{ $ref: '#/components/parameters/Consistency' }, { $ref: '#/components/parameters/ConsistencyHeader' }],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchRequest' } } } },
        responses: {
          200: { description: 'Every operation applied, results in order', content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchResponse' } } } },
          400: r('BadRequest'), 412: r('PreconditionFailed'), 413: r('PayloadTooLarge'), 415: r('Unsupported'), 500: r('WriteFailed'), 503: r('WriteFailed'),
        },
      },
    },
  ];
}
