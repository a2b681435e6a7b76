/**
 * PUT /v1/kv:import (issue #19): a bulk load of string rows for
 * `irisctl import`. The body is the migration's row encoding
 * (node/replication/row-codec.ts: [u32 count] then per row [u32 keyLen][key]
 * [u8 flags = 0][f64 ttlMs | -1][f64 version = 0][u32 valueLen][value]),
 * where the expiry field carries a TTL in milliseconds relative to this
 * node's clock (as SET ... PX), so the importer's clock does not matter.
 *
 * Every key must be served by this node (checked for the whole body before
 * any row is applied: a key this node does not serve is a 421 and nothing
 * is applied, and the importer falls back to ordinary SETs). The rows are
 * applied with the keyspace's set (logged and replicated like a SET) in
 * time slices (import-apply.ts, --import-slice-ms): each slice is its own
 * group-commit turn, and the 200 is sent only once every slice is durable
 * here and acknowledged by minSyncReplicas replicas. A failure after the
 * first slice may leave earlier slices applied (SET is idempotent: the
 * importer writes them again). ACL: each row is checked as SET key value.
 */
import express, { type Request, type Response } from 'express';
import { keySlot } from '../../common/slot.js';
import { FrameError } from '../../common/frame-fields.js';
import type { StoredRow } from '../engine/types.js';
import { decodeRows } from '../replication/row-codec.js';
import { requirePermission, requestUserName } from './acl-http.js';
import { auditHttpWrite } from '../audit/http-write-audit.js';
import { routeSlot } from './cluster-route.js';
import { ImportTurnBudget, applyImportSliced, type ImportTarget } from './import-apply.js';
import type { HttpDeps } from './deps.js';
import { HttpError, badRequest } from './errors.js';
import { keyTooLarge, valueTooLarge } from './params.js';
import type { RouteDef } from './route-table.js';

export const IMPORT_PATH = '/v1/kv:import';
const SET = Buffer.from('set');

/** The rows of a request body, checked against the node's limits; throws a 400/413 HttpError. Pure. */
export function parseImportRows(body: Buffer, limits: { maxBatchOps: number; maxKeyBytes: number; maxValueBytes: number }): StoredRow[] {
  let rows: StoredRow[];
  try {
    rows = decodeRows(body);
  } catch (err) {
    if (err instanceof FrameError || err instanceof RangeError) throw badRequest(`the body is not an import row batch: ${err.message}`);
    throw err;
  }
  if (rows.length > limits.maxBatchOps) {
    throw new HttpError(413, 'too_many_ops', `${rows.length} rows in one import request; at most ${limits.maxBatchOps} (--max-batch-ops)`, { max: limits.maxBatchOps });
  }
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.key.length > limits.maxKeyBytes) throw keyTooLarge(r.key.length, limits.maxKeyBytes);
    if (r.value.length > limits.maxValueBytes) throw valueTooLarge(r.value.length, limits.maxValueBytes);
    if (r.flags !== 0 || r.version !== 0) throw badRequest(`row ${i}: flags and version must be 0 (plain values)`, { row: i });
    const ttl = r.expiresAt;
    if (ttl !== null && !(Number.isSafeInteger(ttl) && ttl > 0)) throw badRequest(`row ${i}: the TTL must be a positive integer of milliseconds or -1`, { row: i });
  }
  return rows;
}

export function importRoutes(deps: HttpDeps): RouteDef[] {
  const { keyspace, commits, config } = deps;
  const budget = new ImportTurnBudget(config.importSliceMs);

  async function importRows(req: Request, res: Response): Promise<void> {
    const body: unknown = req.body;
    const rows = parseImportRows(Buffer.isBuffer(body) ? body : Buffer.alloc(0), config);
    const now = deps.now();
    for (const r of rows) requirePermission(deps.acl, req, res, [SET, r.key, r.value], now);
    const slots = new Set<number>();
    for (const r of rows) slots.add(keySlot(r.key));
    const router = deps.keyRouter;
    const served = (): boolean => router === undefined || !router.clustered() || [...slots].every((s) => router.route(s, true).kind === 'serve');
    // Usually every slot is served now: one synchronous pass, not an await per slot (a body of 1000 keys spans ~900 slots).
    if (!served()) {
      for (const slot of slots) await routeSlot(router, slot, true);
      // A wait for one slot's fence may have let another slot move: check them all again in this turn, where nothing can change.
      if (!served()) throw new HttpError(503, 'cluster_down', 'slot owners changed while the import request waited; nothing was applied, retry');
    }
    auditHttpWrite(deps, req, res, requestUserName(res), 'IMPORT', () => rows.map((r) => r.key));
    // A day of margin: later slices count TTLs from their own (later) clock.
    const latest = deps.now() + 86_400_000;
    for (const r of rows) {
      if (r.expiresAt !== null && r.expiresAt > Number.MAX_SAFE_INTEGER - latest) throw badRequest('a TTL is too large');
    }
    const target: ImportTarget = {
      set: keyspace.set.bind(keyspace),
      barrier: () => commits.barrier(),
      now: () => deps.now(),
      checkServed: () => {
        // A slot that moved (a migration's flip) or a node that stopped being primary between slices: stop; irisctl sends the rest as SETs.
        const demoted = deps.replication !== undefined && deps.replication.role().role !== 'primary';
        if (demoted || !served()) throw new HttpError(503, 'cluster_down', 'slot owners or this node\'s role changed during the import request; earlier slices may be applied, retry the rows');
      },
    };
    // No SAVEPOINT around the rows: a failing statement rolls its whole turn back anyway, and a slice boundary is a commit.
    const { slices } = await applyImportSliced(rows, target, budget);
    res.status(200).json({ applied: rows.length, slices });
  }

  const rawBody = express.raw({ type: () => true, limit: config.maxHttpBodyBytes });
  const r = (name: string) => ({ $ref: `#/components/responses/${name}` });
  return [
    {
      // PUT, not POST: a browser can send neither without a CORS preflight, but the node's browser guard wants POST bodies to be JSON.
      method: 'put', path: IMPORT_PATH, match: '/v1/kv\\:import', handlers: [rawBody, importRows],
      operation: {
        operationId: 'importRows', tags: ['kv'], summary: 'Bulk load of string rows (irisctl import)',
        description:
          'Body (application/octet-stream): [u32 count] then per row [u32 keyLen][key][u8 0][f64 ttlMs or -1][f64 0][u32 valueLen][value], big-endian. ' +
          'Every key must be served by this node (else 421, nothing applied); at most --max-batch-ops rows. The rows are applied in slices of at most ' +
          '--import-slice-ms per event-loop turn (each slice one transaction), logged and replicated like SETs; the response is sent once all are durable here ' +
          'and on minSyncReplicas replicas. An error after the first slice may leave earlier slices applied (send the rows again). ACL: SET on every key.',
        requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          200: { description: 'Every row applied and durable', content: { 'application/json': { schema: { type: 'object', properties: { applied: { type: 'integer' }, slices: { type: 'integer', description: 'event-loop turns (commits) the rows were applied in' } } } } } },
          400: r('BadRequest'), 413: r('PayloadTooLarge'), 500: r('WriteFailed'), 503: r('WriteFailed'),
        },
      },
    },
  ];
}
