/**
 * Which replica takes over a shard (docs/architecture.md §5, docs/replication.md "Failover
 * by hand"). A failover promotes the replica with the highest (epoch,
 * sequence) among those that took the fence, and only when enough answered
 * that one of them must hold every acknowledged write; otherwise it refuses
 * and says why, in words a user can act on. A switchover hands over to a
 * replica that is connected and streaming. Pure.
 */
import type { ReplicationStatus } from '../../common/replication.js';

/** Where a replica's log ends: the epoch of the term that wrote its last entry, and that entry's sequence. */
export interface LogPosition {
  readonly epoch: number;
  readonly seq: number;
}

export interface FailoverInput {
  readonly shard: string;
  readonly oldPrimary: string;
  /** Declared replicas: the shard's members other than the old primary. */
  readonly replicas: readonly string[];
  /** The effective k: acknowledgements every acknowledged write got. */
  readonly minSyncReplicas: number;
  /** The epoch the survivors were re-pointed at: a replica below it may still be streaming. */
  readonly fenceEpoch: number;
  /** Each replica's status read after the fence; null (or absent) when it did not answer. */
  readonly answers: ReadonlyMap<string, ReplicationStatus | null>;
}

export type FailoverChoice =
  | { readonly ok: true; readonly candidate: string; readonly position: LogPosition; readonly answered: string[] }
  | { readonly ok: false; readonly reason: string };

export type SwitchoverChoice =
  | { readonly ok: true; readonly candidate: string }
  | { readonly ok: false; readonly reason: string };

/** The replicas that must answer: n − k + 1 of n, at most n (see chooseFailoverCandidate). */
export function failoverQuorum(replicas: number, minSyncReplicas: number): number {
  const k = Math.max(0, Math.min(minSyncReplicas, replicas));
  return Math.min(replicas - k + 1, replicas);
}

/**
 * The position of a node's log: (epoch of the last term starting at or
 * before lastSeq — 0 if none —, lastSeq). Comparing epochs first makes a
 * deposed primary's unacknowledged tail (an older epoch) lose to a replica
 * of the newer term even if its sequence is higher.
 */
export function logPosition(status: ReplicationStatus): LogPosition {
  let epoch = 0;
  for (const t of status.history) if (t.firstSeq <= status.lastSeq) epoch = t.epoch;
  return { epoch, seq: status.lastSeq };
}

/** Orders positions: negative if a is behind b. */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.epoch - b.epoch || a.seq - b.seq;
}

/**
 * Why a replica's answer cannot be counted, or null if it can: it must have
 * answered, as a replica, at the fence epoch or above (below it, its stream
 * from the old primary may still be moving), and not be loading a snapshot
 * (its data is incomplete).
 */
export function ineligibility(status: ReplicationStatus | null | undefined, fenceEpoch: number): string | null {
  if (status === null || status === undefined) return 'no answer';
  if (status.role !== 'replica') return `answers as ${status.role} at epoch ${status.epoch}`;
  if (status.epoch < fenceEpoch) return `still at epoch ${status.epoch}, below the fence epoch ${fenceEpoch}`;
  if (status.loading || status.primary?.loading != null || status.primary?.state === 'full_sync') return 'loading a snapshot';
  return null;
}

/**
 * The failover rule. With k = min(minSyncReplicas, n) every acknowledged
 * write is on at least k of the n replicas, so any n − k + 1 of them include
 * one that holds it; the one with the highest position then holds every
 * acknowledged write. With k = 0 (asynchronous) nothing guarantees that any
 * replica has any write, so no subset is safe; we require all n so that at
 * least the most caught-up survivor is chosen. n = 0: nobody to promote.
 * Ties on position go to the first name in string order (deterministic).
 */
export function chooseFailoverCandidate(input: FailoverInput): FailoverChoice {
  const replicas = [...new Set(input.replicas)].filter((r) => r !== input.oldPrimary).sort();
  const n = replicas.length;
  if (n === 0) return { ok: false, reason: `no promotion: ${input.shard} has no replica to promote (its primary ${input.oldPrimary} was the only member)` };
  const k = Math.max(0, Math.min(input.minSyncReplicas, n));
  const needed = failoverQuorum(n, input.minSyncReplicas);

  const answered: Array<{ name: string; position: LogPosition }> = [];
  const missing: string[] = [];
  for (const name of replicas) {
    const status = input.answers.get(name);
    const why = ineligibility(status, input.fenceEpoch);
    if (why === null) answered.push({ name, position: logPosition(status!) });
    else missing.push(`${name} (${why})`);
  }
  if (answered.length < needed) {
    const why = k === 0
      ? `${input.shard} needs all ${n} with minSyncReplicas=0: writes are acknowledged without any replica, so only the most caught-up of all of them may be promoted`
      : `${input.shard} needs ${needed} with minSyncReplicas=${k} so that one of them holds every acknowledged write`;
    return {
      ok: false,
      reason: `no promotion: ${answered.length} of ${n} replica${n === 1 ? '' : 's'} answered (${why}); not answering: ${missing.join(', ')}`,
    };
  }
  // answered is in name order, so keeping the first of equal positions breaks ties by name.
  const best = answered.reduce((b, x) => (comparePositions(x.position, b.position) > 0 ? x : b));
  return { ok: true, candidate: best.name, position: best.position, answered: answered.map((a) => a.name) };
}

/**
 * The replica a switchover hands over to, from the primary's own status:
 * `requested` if it is a connected, online replica of this primary, else the
 * connected online replica with the highest acknowledged sequence (ties:
 * first name). When the primary declared its replicas, only those count: an
 * undeclared connection (a node on its way out) never becomes primary.
 */
export function chooseSwitchoverCandidate(primary: ReplicationStatus, requested?: string): SwitchoverChoice {
  if (primary.role !== 'primary') return { ok: false, reason: `${primary.name} is not a primary (it answers as ${primary.role})` };
  const declared = new Set(primary.declaredReplicas);
  const counts = (name: string): boolean => declared.size === 0 || declared.has(name);
  const ready = primary.replicas.filter((r) => r.connected && r.state === 'online' && counts(r.name));
  if (requested !== undefined) {
    if (requested === primary.name) return { ok: false, reason: `${requested} is already the primary` };
    if (ready.some((r) => r.name === requested)) return { ok: true, candidate: requested };
    const r = primary.replicas.find((x) => x.name === requested);
    const why = r === undefined
      ? 'it is not connected to the primary'
      : !counts(r.name)
        ? 'it is not a declared replica of this primary'
        : !r.connected ? 'it is not connected to the primary' : `its link is ${r.state}, not online`;
    return { ok: false, reason: `cannot switch over to ${requested}: ${why}` };
  }
  if (ready.length === 0) {
    const states = primary.replicas.map((r) => `${r.name} ${r.connected ? r.state : 'disconnected'}`);
    return { ok: false, reason: `no replica of ${primary.name} is connected and online${states.length > 0 ? ` (${states.join(', ')})` : ''}` };
  }
  const best = [...ready].sort((a, b) => b.ackedSeq - a.ackedSeq || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0]!;
  return { ok: true, candidate: best.name };
}
