/**
 * The slot-migration part of the admin API, mounted under /admin (behind
 * the admin bearer-token check), on the SOURCE primary:
 *   POST /admin/cluster/migrations                {id, slots: [[a,b],...], targetShard} → 202 + status
 *   GET  /admin/cluster/migrations                {migrations: [...], imports: [...]}
 *   GET  /admin/cluster/migrations/{id}           status
 *   POST /admin/cluster/migrations/{id}/resume    → 202 + status
 *   POST /admin/cluster/migrations/{id}/abort     roll back (409 once the target flipped)
 */
import express, { type Router } from 'express';
import { HttpError, badRequest } from '../http/errors.js';
import { parseSlotRanges } from './messages.js';
import type { MigrationManager } from './manager.js';
import { MIGRATION_ID, MigrationError } from './plan.js';
import type { MigrationRequest } from '../../common/migration.js';
import { NODE_NAME } from '../../common/cluster-map.js';

export function migrationAdminRouter(manager: MigrationManager): Router {
  const router = express.Router();
  const json = express.json({ limit: 1024 * 1024, strict: true, type: () => true });

  router.post('/cluster/migrations', json, (req, res) => {
    const body = parseMigrationRequest(req.body);
    res.status(202).json(mapped(() => manager.create(body)));
  });

  router.get('/cluster/migrations', (_req, res) => {
    res.json(manager.list());
  });

  router.get('/cluster/migrations/:id', (req, res) => {
    res.json(mapped(() => manager.get(String(req.params.id))));
  });

  router.post('/cluster/migrations/:id/resume', (req, res) => {
    res.status(202).json(mapped(() => manager.resume(String(req.params.id))));
  });

  router.post('/cluster/migrations/:id/abort', async (req, res) => {
    try {
      res.json(await manager.abort(String(req.params.id)));
    } catch (err) {
      throw toHttp(err);
    }
  });

  return router;
}

function mapped<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toHttp(err);
  }
}

/** MigrationError → the admin API's error shape; anything else is left to the error handler (500). */
export function toHttp(err: unknown): unknown {
  if (!(err instanceof MigrationError)) return err;
  const details = { reason: err.code };
  switch (err.code) {
    case 'bad_request':
      return new HttpError(400, 'bad_request', err.message, details);
    case 'not_found':
      return new HttpError(404, 'not_found', err.message, details);
    case 'connection':
      return new HttpError(503, 'not_ready', err.message, details);
    default:
      return new HttpError(409, 'conflict', err.message, details);
  }
}

/** Validates a POST body; every problem is a 400 naming the field. */
export function parseMigrationRequest(v: unknown): MigrationRequest {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('body must be a JSON object {id, slots, targetShard}');
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || !MIGRATION_ID.test(o.id)) throw badRequest('id must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit');
  const slots = parseSlotRanges(o.slots);
  if (slots === null) throw badRequest('slots must be a non-empty array of [first, last] ranges of slots 0..16383, first <= last');
  if (typeof o.targetShard !== 'string' || !NODE_NAME.test(o.targetShard)) throw badRequest('targetShard must be a shard name');
  return { id: o.id, slots, targetShard: o.targetShard };
}
