/**
 * Read consistency on the HTTP API (docs/consistency.md): `?consistency=` or
 * the `X-Iris-Consistency` header picks strong | default | eventual for
 * GET /v1/kv/{key}, read-only batches and scan pages. Strong reads wait for
 * the primary's confirmation round (node/cluster/read-confirmer.ts); eventual
 * reads may be answered by a replica of the owning shard, with its lag in
 * `X-Iris-Replica-Lag-Ops` / `X-Iris-Replica-Lag-Ms`.
 */
import type { Request, Response } from 'express';
import { type ReadConsistency, type ReplicaLag, READ_CONSISTENCY_LEVELS, parseReadConsistency } from '../cluster/read-consistency.js';
import { ReadNotConfirmedError } from '../cluster/read-confirmer.js';
import { HttpError, badRequest } from './errors.js';
import { queryParam } from './params.js';

export const CONSISTENCY_HEADER = 'x-iris-consistency';
export const LAG_OPS_HEADER = 'X-Iris-Replica-Lag-Ops';
export const LAG_MS_HEADER = 'X-Iris-Replica-Lag-Ms';
/** Which role answered: `primary` or `replica`. */
export const SERVED_BY_HEADER = 'X-Iris-Served-By';

/** What the read paths need from the node (absent: a standalone node, every level is served as default). */
export interface HttpReadConsistency {
  /** Resolves once this primary proved it still leads its shard (a round started after the call). */
  confirm(): Promise<void>;
  /** This node's role. */
  role(): 'primary' | 'replica';
  /** A replica's lag, null on a primary or when unknown (no streaming link). */
  replicaLag(): ReplicaLag | null;
}

/** The level the request asks for: the query parameter wins over the header; `default` when neither. */
export function consistencyOf(req: Request): ReadConsistency {
  const q = queryParam(req, 'consistency');
  const text = q !== undefined && q !== '' ? q : req.get(CONSISTENCY_HEADER);
  if (text === undefined || text === '') return 'default';
  const level = parseReadConsistency(text);
  if (level === null) throw badRequest(`consistency must be one of ${READ_CONSISTENCY_LEVELS.join(', ')}; got "${text}"`);
  return level;
}

/** A GET/HEAD asking for eventual consistency: a replica without a cluster map may answer it too (as RESP READONLY). */
export function eventualRead(req: Request): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  try {
    return consistencyOf(req) === 'eventual';
  } catch {
    return false;
  }
}

/**
 * Runs after the value was read and the ack gate released the read: a strong
 * read waits for a confirmation (503 `not_confirmed` if the primary cannot
 * prove it still leads: retry, another node may be the primary now); every
 * read says who served it, and a replica its lag.
 */
export async function finishRead(rc: HttpReadConsistency | undefined, level: ReadConsistency, res: Response): Promise<void> {
  if (rc === undefined) return;
  const role = rc.role();
  if (level === 'strong') {
    try {
      await rc.confirm();
    } catch (err) {
      if (err instanceof ReadNotConfirmedError) {
        throw new HttpError(503, 'not_confirmed', `${err.message}; retry (another node may be the primary now)`, { newerEpoch: err.confirmation.newerEpoch }, { 'Retry-After': '1' });
      }
      throw err;
    }
  }
  res.setHeader(SERVED_BY_HEADER, role);
  if (role === 'replica') {
    const lag = rc.replicaLag();
    // Unknown lag (link down): say so rather than claim 0.
    res.setHeader(LAG_OPS_HEADER, lag === null ? 'unknown' : String(lag.ops));
    res.setHeader(LAG_MS_HEADER, lag === null ? 'unknown' : String(lag.ms));
  }
}
