/**
 * Whether a node accepts writes, and if not why and since when (issue #13):
 * the node reports it in its replication status, the controller copies the
 * primary's into each shard's status, `irisctl status` and the IrisCluster
 * WritesAvailable condition show it, and a refused write's NOREPLICAS error
 * quotes it. Pure: facts in, verdict out; time is passed in.
 */
import type { ReplicaStatus, ReplicationRole } from './replication.js';

/**
 * not-primary: a replica (writes go to its primary, MOVED);
 * self-fenced: a peer reported a newer epoch, the node waits for the control plane;
 * no-cluster-map: a cluster member before its first map (CLUSTERDOWN);
 * no-sync-replica: fewer good replicas than minSyncReplicas, so writes wait and fail with NOREPLICAS.
 */
export type WritesRefusedReason = 'not-primary' | 'self-fenced' | 'no-cluster-map' | 'no-sync-replica';

export const WRITES_REFUSED_REASONS: readonly WritesRefusedReason[] = ['not-primary', 'self-fenced', 'no-cluster-map', 'no-sync-replica'];

export interface Writability {
  readonly ok: boolean;
  /** Why writes are refused; absent when ok. */
  readonly reason?: WritesRefusedReason;
  /** ISO 8601: since when the node has been in this state (ok, or refusing for this reason). */
  readonly since: string;
  /** One line for people: what is missing, with the numbers. */
  readonly detail: string;
}

export interface WritabilityFacts {
  readonly role: ReplicationRole;
  /** The primary's name when this node is a replica. */
  readonly primaryName: string | null;
  /** Why this primary fenced itself, or null. */
  readonly fenced: string | null;
  /** A cluster member that has no cluster map yet. */
  readonly mapless: boolean;
  readonly minSyncReplicas: number;
  /** What writes wait for: min(minSyncReplicas, declared replicas). */
  readonly effectiveMinSyncReplicas: number;
  readonly declaredReplicas: readonly string[];
  readonly replicas: readonly ReplicaStatus[];
  /** A replica whose oldest unacknowledged write waited this long is not good (the node passes half its ackTimeoutMs, so a write timing out finds it not good); 0: no limit. */
  readonly maxLagMs: number;
}

/** A good replica, as Redis's min-replicas-to-write counts them: connected, streaming, acknowledging in time. */
export function goodReplica(r: ReplicaStatus, maxLagMs: number): boolean {
  return r.connected && r.state === 'online' && (maxLagMs <= 0 || r.lagMs < maxLagMs);
}

/** The verdict without its `since` (the tracker stamps it). */
export function judgeWritability(f: WritabilityFacts): Omit<Writability, 'since'> {
  if (f.role === 'replica') {
    return { ok: false, reason: 'not-primary', detail: `a replica: writes go to its primary${f.primaryName !== null ? ` ${f.primaryName}` : ''}` };
  }
  if (f.fenced !== null) return { ok: false, reason: 'self-fenced', detail: `fenced itself: ${f.fenced}` };
  if (f.mapless) return { ok: false, reason: 'no-cluster-map', detail: 'no cluster map from the control plane yet' };
  const declared = f.replicas.filter((r) => f.declaredReplicas.includes(r.name));
  const good = declared.filter((r) => goodReplica(r, f.maxLagMs));
  if (good.length < f.effectiveMinSyncReplicas) {
    const bad = declared.filter((r) => !good.includes(r)).map((r) => `${r.name} ${replicaTrouble(r)}`);
    return {
      ok: false, reason: 'no-sync-replica',
      detail: `no replica acknowledges (minSyncReplicas=${f.minSyncReplicas}, ${good.length} of ${declared.length} replicas streaming` +
        `${bad.length > 0 ? `: ${bad.join(', ')}` : ''})`,
    };
  }
  return { ok: true, detail: f.effectiveMinSyncReplicas === 0 ? 'writes need no replica' : `${good.length} of ${declared.length} replicas streaming (minSyncReplicas=${f.minSyncReplicas})` };
}

function replicaTrouble(r: ReplicaStatus): string {
  if (!r.connected) return 'disconnected';
  if (r.state !== 'online') return `in ${r.state}`;
  return `not acknowledging for ${Math.round(r.lagMs)} ms`;
}

/** Keeps `since`: the time the verdict's reason (or ok) last changed. */
export class WritabilityTracker {
  private current: Writability | null = null;

  update(v: Omit<Writability, 'since'>, nowMs: number): Writability {
    const prev = this.current;
    const same = prev !== null && prev.ok === v.ok && prev.reason === v.reason;
    this.current = { ...v, since: same ? prev.since : new Date(nowMs).toISOString() };
    return this.current;
  }
}

/** "iris-0-0: 0 of 1 replicas streaming since 12:03:04Z" style text for an error reply (null when ok). */
export function refusalText(node: string, w: Writability): string | null {
  if (w.ok) return null;
  return `${node}: ${w.detail} since ${w.since.slice(11, 19)}Z`;
}
