/**
 * The replication part of the admin API, mounted under /admin:
 *   GET  /admin/replication              status (role, epoch, replicas, lag, link)
 *   PUT  /admin/replication/role         {role, epoch, replicas? | primary}
 *   GET  /admin/replication/digests      this node's per-slot digests
 *   GET  /admin/replication/digest-diff  primary: differing slots per replica
 *   POST /admin/replication/repair       primary: re-copy {slots?} to replicas
 * Every request needs `Authorization: Bearer <adminToken>`.
 */
import express, { type Router } from 'express';
import type { RoleRequest } from '../../common/replication.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { adminAuth } from '../http/admin-auth.js';
import { HttpError, badRequest } from '../http/errors.js';
import { RoleChangeError } from './errors.js';
import type { ReplicationManager } from './manager.js';
import { NODE_NAME } from './peer-address.js';

export function adminRouter(manager: ReplicationManager, token: string): Router {
  const router = express.Router();
  router.use(adminAuth(token));
  const json = express.json({ limit: 1024 * 1024, strict: true, type: () => true });

  router.get('/replication', (_req, res) => {
    res.json(manager.status());
  });

  router.put('/replication/role', json, (req, res) => {
    const body = parseRoleRequest(req.body);
    try {
      res.json(manager.setRole(body));
    } catch (err) {
      if (err instanceof RoleChangeError) throw new HttpError(409, 'conflict', err.message, { reason: err.code });
      throw err;
    }
  });

  router.get('/replication/digests', async (_req, res) => {
    const { seq, slots } = await manager.digests();
    res.json({ name: manager.status().name, seq, slots });
  });

  router.get('/replication/digest-diff', async (_req, res) => {
    try {
      res.json(await manager.digestDiff());
    } catch (err) {
      if (err instanceof RoleChangeError) throw new HttpError(409, 'conflict', err.message, { reason: err.code });
      throw err;
    }
  });

  router.post('/replication/repair', json, async (req, res) => {
    const body: unknown = req.body ?? {};
    let slots: number[] | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object');
    const raw = (body as Record<string, unknown>).slots;
    if (raw !== undefined) {
      if (!Array.isArray(raw) || !raw.every((s) => Number.isInteger(s) && s >= 0 && s < SLOT_COUNT)) {
        throw badRequest(`slots must be an array of integers 0..${SLOT_COUNT - 1}`);
      }
      slots = raw as number[];
    }
    if (manager.status().role !== 'primary') throw new HttpError(409, 'conflict', 'repair runs on the primary', { reason: 'invalid_role' });
    res.json(await manager.repair(slots));
  });

  return router;
}

/** Validates a role request body; every problem is a 400 naming the field. */
export function parseRoleRequest(v: unknown): RoleRequest {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('body must be a JSON object');
  const o = v as Record<string, unknown>;
  if (!Number.isSafeInteger(o.epoch) || (o.epoch as number) < 0) throw badRequest('epoch must be a non-negative integer');
  const epoch = o.epoch as number;
  if (o.role === 'primary') {
    if (o.replicas !== undefined && (!Array.isArray(o.replicas) || !o.replicas.every((r) => typeof r === 'string' && NODE_NAME.test(r)))) {
      throw badRequest('replicas must be an array of node names');
    }
    return { role: 'primary', epoch, replicas: (o.replicas as string[] | undefined) ?? [] };
  }
  if (o.role === 'replica') {
    const p = o.primary as Record<string, unknown> | undefined;
    if (typeof p !== 'object' || p === null) throw badRequest('primary {name, host, busPort} is required for role replica');
    if (typeof p.name !== 'string' || !NODE_NAME.test(p.name)) throw badRequest('primary.name must be a node name');
    if (typeof p.host !== 'string' || p.host === '') throw badRequest('primary.host must be a non-empty string');
    if (!Number.isInteger(p.busPort) || (p.busPort as number) < 1 || (p.busPort as number) > 65535) throw badRequest('primary.busPort must be a port number');
    return { role: 'replica', epoch, primary: { name: p.name, host: p.host, busPort: p.busPort as number } };
  }
  throw badRequest('role must be "primary" or "replica"');
}
