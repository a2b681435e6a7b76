/**
 * The cluster part of the admin API, mounted under /admin (behind adminAuth):
 *   GET /admin/cluster/map   the installed map (404 before the first push)
 *   PUT /admin/cluster/map   install a map: 400 invalid, 409 older epoch or
 *                            same epoch with other content; returns the map.
 *                            ?ifEpoch=N: only if the installed map is at epoch N
 *                            (0: none yet), else 409 — so a controller can never
 *                            overwrite a migration flip it has not seen
 */
import express, { type Router } from 'express';
import { ClusterMapError, parseClusterMap } from '../../common/cluster-map.js';
import { HttpError, badRequest } from '../http/errors.js';
import type { ClusterMetrics } from './metrics.js';
import { ClusterMapConflictError, type ClusterState } from './types.js';

/** A map of 1000 nodes with fragmented slot ranges stays well under this. */
const MAP_BODY_LIMIT = 4 * 1024 * 1024;

export function clusterAdminRouter(state: ClusterState, metrics?: ClusterMetrics): Router {
  const router = express.Router();
  const json = express.json({ limit: MAP_BODY_LIMIT, strict: true, type: () => true });

  router.get('/cluster/map', (_req, res) => {
    const map = state.map;
    if (map === null) throw new HttpError(404, 'not_found', 'no cluster map installed on this node', { reason: 'no_cluster_map' });
    res.json(map);
  });

  router.put('/cluster/map', json, (req, res) => {
    let map;
    try {
      map = parseClusterMap(req.body);
    } catch (err) {
      if (err instanceof ClusterMapError) throw badRequest(`invalid cluster map: ${err.message}`);
      throw err;
    }
    const ifEpoch = req.query.ifEpoch;
    if (ifEpoch !== undefined) {
      if (typeof ifEpoch !== 'string' || !/^\d{1,15}$/.test(ifEpoch)) throw badRequest('ifEpoch must be a non-negative integer');
      const installed = state.map?.epoch ?? 0;
      if (installed !== Number(ifEpoch)) {
        metrics?.mapConflicts.inc();
        throw new HttpError(409, 'conflict', `the installed map is at epoch ${installed}, not ${ifEpoch}`, { reason: 'epoch_changed', installedEpoch: state.map?.epoch ?? null });
      }
    }
    try {
      state.install(map);
    } catch (err) {
      if (err instanceof ClusterMapConflictError) {
        metrics?.mapConflicts.inc();
        throw new HttpError(409, 'conflict', err.message, { reason: 'stale_epoch', installedEpoch: state.map?.epoch ?? null });
      }
      throw err;
    }
    res.json(state.map);
  });

  return router;
}
