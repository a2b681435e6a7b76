/**
 * GET /admin/changes/ownership: this node's slot ownership journal
 * (ownership.ts), which its replicas adopt for exact boundaries. Behind the
 * admin API's bearer token like every /admin route.
 */
import express, { type Request, type Response } from 'express';
import type { OwnershipStore } from './ownership-store.js';

export const OWNERSHIP_PATH = '/changes/ownership';

export function changesAdminRouter(store: OwnershipStore): express.Router {
  const router = express.Router();
  router.get(OWNERSHIP_PATH, (_req: Request, res: Response) => {
    res.status(200).json({ journal: store.entries() });
  });
  return router;
}
