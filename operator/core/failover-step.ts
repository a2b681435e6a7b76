/**
 * The decisions of a change of primary (core/state.ts FailoverProgress),
 * stage by stage, as data: which nodes to call with what, and — from what
 * they answered — the shard patch to record and the event to show. The
 * runner (operator/controller/failover-runner.ts) makes the calls and
 * commits the patch before acting on it. Pure.
 */
import type { ClusterMap } from '../../common/cluster-map.js';
import type { ReplicationStatus } from '../../common/replication.js';
import { chooseFailoverCandidate, type FailoverChoice } from './failover-choice.js';
import { missedTooMany } from './health.js';
import type { NodeObservation } from './observation.js';
import { withShardPrimary } from './slot-plan.js';
import type { ClusterSpec } from './spec.js';
import type { FailoverProgress, ShardState } from './state.js';
import type { SyncRecord } from './sync-plan.js';

/** A switchover whose candidate does not catch up in this time gives up (the primary keeps its role). */
export const CATCHUP_TIMEOUT_MS = 30_000;

export interface StepEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/**
 * What a stage decided: record `patch` on the shard (then show `event`), or
 * record nothing and try again next tick (`retry` says why, for the log).
 */
export type StepDecision =
  | { readonly do: 'record'; readonly patch: Partial<ShardState>; readonly event: StepEvent | null }
  | { readonly do: 'retry'; readonly why: string }
  | { readonly do: 'wait' };

/** A new change of primary, at its first stage, its epochs above the shard's. */
export function newFailover(shard: ShardState, kind: FailoverProgress['kind'], id: string, reason: string, candidate: string | null, now: number): FailoverProgress {
  return {
    kind, id, oldPrimary: shard.currentPrimary, reason,
    stage: kind === 'failover' ? 'fence' : 'restrict',
    fenceEpoch: shard.epoch + 1,
    promoteEpoch: kind === 'failover' ? shard.epoch + 2 : shard.epoch + 1,
    candidate, catchupSeq: null, blocked: null, startedAt: now, updatedAt: now,
    // A switchover keeps the other in-sync replicas; a failover learns who answered at the fence.
    inSync: kind === 'switchover' ? shard.sync.replicas.filter((r) => r !== candidate) : [],
  };
}

export function startedEvent(shard: ShardState, f: FailoverProgress): StepEvent {
  return {
    type: f.kind === 'failover' ? 'Warning' : 'Normal',
    reason: f.kind === 'failover' ? 'FailoverStarted' : 'SwitchoverStarted',
    message: `${f.kind} of ${shard.id} started (${f.id}): ${f.reason}`,
  };
}

// ---- fence ------------------------------------------------------------------------

/**
 * fence: every survivor is re-pointed at the old primary at fenceEpoch (its
 * stream stops) and its position read; the old primary, if it still
 * answers, is made a replica of the first survivor (it stops writing).
 */
export function fencePlan(shard: ShardState, f: FailoverProgress): { readonly survivors: readonly string[]; readonly demoteOldToFollow: string | null } {
  const survivors = shard.members.filter((m) => m !== f.oldPrimary);
  return { survivors, demoteOldToFollow: survivors[0] ?? null };
}

/**
 * The quorum rule at a failover: the record says on how many of which
 * replicas every acknowledged write is (core/sync-plan.ts), and the quorum
 * is over those. With minSyncReplicas 0 nothing is guaranteed anywhere:
 * all must answer. Refuses when the record names no replica that must hold
 * every write.
 */
export function fenceChoice(shard: ShardState, f: FailoverProgress, minSyncReplicas: number, answers: ReadonlyMap<string, ReplicationStatus | null>): FailoverChoice {
  const counted = shard.sync.replicas.filter((r) => r !== f.oldPrimary);
  const acks = minSyncReplicas === 0 ? 0 : shard.sync.acks;
  if (counted.length === 0 || (acks === 0 && minSyncReplicas > 0)) {
    return { ok: false, reason: `no promotion: no replica of ${shard.id} is known to hold every write ${f.oldPrimary} acknowledged (they were acknowledged with ${acks} of ${counted.join(', ') || 'no replica'}); waiting for ${f.oldPrimary} to come back` };
  }
  return chooseFailoverCandidate({ shard: shard.id, oldPrimary: f.oldPrimary, replicas: counted, minSyncReplicas: acks, fenceEpoch: f.fenceEpoch, answers });
}

/**
 * Whether the old primary, answering again, still holds every write it
 * acknowledged: at or below the fence epoch (nobody has led the shard since
 * it did) and not loading. (Fencing made it a replica of a replica, which
 * cannot stream to it: its data is as it was.)
 */
export function oldPrimaryIntact(status: ReplicationStatus | null, fenceEpoch: number): boolean {
  return status !== null && status.epoch <= fenceEpoch && !(status.primary?.loading != null || status.primary?.state === 'full_sync');
}

/**
 * After the fence: promote the chosen candidate (targetPrimary recorded
 * before any node hears of it), or the old primary if too few replicas
 * answer but it is back intact, or stay at fence saying why.
 * `oldPrimaryBack` is asked only when the choice failed (it costs a call).
 */
export function afterFence(shard: ShardState, f: FailoverProgress, choice: FailoverChoice, oldPrimaryBack: boolean, now: number): StepDecision {
  if (!choice.ok && f.kind === 'failover' && oldPrimaryBack) {
    return {
      do: 'record',
      patch: { targetPrimary: f.oldPrimary, failover: { ...f, stage: 'promote', candidate: f.oldPrimary, inSync: [], blocked: null, updatedAt: now } },
      event: { type: 'Normal', reason: 'CandidateChosen', message: `${shard.id}: ${f.oldPrimary} answers again and holds every acknowledged write; promoting it back (${choice.reason})` },
    };
  }
  if (!choice.ok) {
    if (f.blocked === choice.reason) return { do: 'wait' };
    return {
      do: 'record',
      patch: { failover: { ...f, blocked: choice.reason, updatedAt: now } },
      event: { type: 'Warning', reason: 'PromotionRefused', message: `${shard.id}: ${choice.reason}` },
    };
  }
  return {
    do: 'record',
    patch: {
      targetPrimary: choice.candidate,
      failover: { ...f, stage: 'promote', candidate: choice.candidate, inSync: choice.answered.filter((a) => a !== choice.candidate), blocked: null, updatedAt: now },
    },
    event: { type: 'Normal', reason: 'CandidateChosen', message: `${shard.id}: promoting ${choice.candidate} (epoch ${choice.position.epoch}, sequence ${choice.position.seq}; answered: ${choice.answered.join(', ')})` },
  };
}

// ---- promote ----------------------------------------------------------------------

/**
 * Who the new primary waits for from the start: the survivors that answered
 * (they stream from it at once); with dataDurability 'required', filled up
 * to minSyncReplicas with the other members, even those that are down.
 */
export function firstReplicas(shard: ShardState, f: FailoverProgress, spec: Pick<ClusterSpec, 'dataDurability' | 'minSyncReplicas'>): string[] {
  const others = shard.members.filter((m) => m !== f.candidate);
  const out = f.inSync.filter((r) => others.includes(r));
  if (spec.dataDurability === 'required') {
    const need = Math.min(spec.minSyncReplicas, others.length);
    for (const m of [...others].sort((a, b) => (a === f.oldPrimary ? 1 : b === f.oldPrimary ? -1 : a < b ? -1 : 1))) {
      if (out.length >= need) break;
      if (!out.includes(m)) out.push(m);
    }
  }
  return out;
}

/**
 * promote, in order: (switchover) the old primary steps down to a replica
 * of the candidate; the candidate becomes primary at promoteEpoch counting
 * `replicas` (unless it already is); the others are re-pointed at it (a
 * failover leaves the dead old primary to role reconciliation).
 */
export function promotePlan(shard: ShardState, f: FailoverProgress, spec: Pick<ClusterSpec, 'dataDurability' | 'minSyncReplicas'>): {
  readonly stepDown: string | null;
  readonly candidate: string;
  readonly replicas: readonly string[];
  readonly repoint: readonly string[];
} {
  const candidate = f.candidate!;
  const others = shard.members.filter((m) => m !== candidate);
  return {
    stepDown: f.kind === 'switchover' ? f.oldPrimary : null,
    candidate,
    replicas: firstReplicas(shard, f, spec),
    repoint: others.filter((o) => o !== f.oldPrimary || f.kind === 'switchover'),
  };
}

/** The candidate already leads at promoteEpoch (an earlier attempt got through): do not promote it again. */
export function alreadyPromoted(status: ReplicationStatus, f: FailoverProgress): boolean {
  return status.role === 'primary' && status.epoch === f.promoteEpoch;
}

export function afterPromote(f: FailoverProgress, now: number): Partial<ShardState> {
  return { failover: { ...f, stage: 'publish', updatedAt: now } };
}

/**
 * The candidate did not take the promotion. While it still counts as up,
 * retry; once it counts as failed, choose again (fence) above every epoch
 * used so far.
 */
export function afterCandidateLost(shard: ShardState, f: FailoverProgress, candidate: NodeObservation | undefined, failureThreshold: number, why: string, now: number): StepDecision {
  if (candidate !== undefined && !missedTooMany(candidate.missed, failureThreshold)) return { do: 'retry', why };
  return {
    do: 'record',
    patch: {
      targetPrimary: shard.currentPrimary,
      failover: fenceAgain(f, now),
    },
    event: { type: 'Warning', reason: 'CandidateLost', message: `${shard.id}: candidate ${f.candidate} stopped answering before its promotion (${why}); choosing again` },
  };
}

// ---- publish ----------------------------------------------------------------------

/**
 * publish: the map names the new primary and currentPrimary is recorded, in
 * one commit. Nothing is known yet about which replicas hold the new
 * primary's writes: the sync-set reconciler builds the guarantee up again
 * (core/sync-plan.ts), starting from the replicas it was told to wait for.
 * They stay the target, so that re-telling the primary its role (a stale
 * observation) keeps them counted.
 */
export function publishPatch(shard: ShardState, f: FailoverProgress, map: ClusterMap | null, spec: Pick<ClusterSpec, 'dataDurability' | 'minSyncReplicas'>, now: number): {
  readonly patch: Partial<ShardState>;
  readonly map: ClusterMap | null;
  readonly event: StepEvent;
  readonly tookMs: number;
} {
  const candidate = f.candidate!;
  const others = shard.members.filter((m) => m !== candidate);
  const took = now - f.startedAt;
  return {
    patch: {
      epoch: f.promoteEpoch, currentPrimary: candidate, targetPrimary: candidate, failover: null,
      sync: { replicas: [], acks: 0, target: { replicas: firstReplicas(shard, f, spec), seq: null } },
    },
    map: map === null ? null : withShardPrimary(map, shard.id, candidate, others, map.epoch + 1),
    event: {
      type: 'Normal',
      reason: f.kind === 'failover' ? 'FailoverFinished' : 'SwitchoverFinished',
      message: `${shard.id}: ${candidate} is the primary at epoch ${f.promoteEpoch} (was ${f.oldPrimary}; ${took} ms)`,
    },
    tookMs: took,
  };
}

// ---- switchover -------------------------------------------------------------------

/**
 * restrict, first the record (weaker: the candidate joins, the guarantee
 * drops to what counting it alone gives), then the primary is told to count
 * only the candidate.
 */
export function restrictRecord(shard: ShardState, f: FailoverProgress, minSyncReplicas: number): SyncRecord {
  const c = f.candidate!;
  const acks = Math.min(shard.sync.acks, Math.min(minSyncReplicas, 1));
  return { replicas: [...new Set([...shard.sync.replicas, c])], acks, target: { replicas: [c], seq: null } };
}

/** The primary counts only the candidate since `lastSeq`: the candidate must catch up to it. */
export function afterRestrict(f: FailoverProgress, record: SyncRecord, lastSeq: number, now: number): Partial<ShardState> {
  return {
    sync: { ...record, target: { replicas: record.target!.replicas, seq: lastSeq } },
    failover: { ...f, stage: 'catchup', catchupSeq: lastSeq, updatedAt: now },
  };
}

/** catchup: promote once the candidate acknowledged catchupSeq; give up after CATCHUP_TIMEOUT_MS. */
export function afterCatchup(shard: ShardState, f: FailoverProgress, primary: ReplicationStatus, now: number): StepDecision {
  const r = primary.replicas.find((x) => x.name === f.candidate);
  if (r !== undefined && r.ackedSeq >= f.catchupSeq!) {
    return { do: 'record', patch: { targetPrimary: f.candidate!, failover: { ...f, stage: 'promote', updatedAt: now } }, event: null };
  }
  if (now - f.updatedAt > CATCHUP_TIMEOUT_MS) {
    // The primary keeps its role; role reconciliation restores its replica list.
    return {
      do: 'record',
      patch: { failover: null, targetPrimary: shard.currentPrimary },
      event: { type: 'Warning', reason: 'SwitchoverAbandoned', message: `${shard.id}: ${f.candidate} did not catch up with ${f.oldPrimary} in ${CATCHUP_TIMEOUT_MS} ms (at ${r?.ackedSeq ?? 'no connection'}, needs ${f.catchupSeq}); ${f.oldPrimary} stays primary` },
    };
  }
  return { do: 'wait' };
}

/**
 * A switchover step failed on the old primary. While it still answers
 * (missing fewer than failureThreshold heartbeats), retry; otherwise the
 * switchover continues as a failover, above every epoch it may have used.
 */
export function switchoverToFailover(shard: ShardState, f: FailoverProgress, oldPrimary: NodeObservation | undefined, failureThreshold: number, why: string, now: number): StepDecision {
  if (oldPrimary !== undefined && oldPrimary.status !== null && !missedTooMany(oldPrimary.missed, failureThreshold)) return { do: 'retry', why };
  return {
    do: 'record',
    patch: {
      targetPrimary: shard.currentPrimary,
      failover: { ...fenceAgain(f, now), reason: `${f.reason}; turned into a failover: ${why}` },
    },
    event: { type: 'Warning', reason: 'FailoverStarted', message: `${shard.id}: switchover ${f.id} turned into a failover: ${why}` },
  };
}

/** A failover that starts over at the fence, above every epoch `f` may have used. */
function fenceAgain(f: FailoverProgress, now: number): FailoverProgress {
  return {
    ...f, kind: 'failover', stage: 'fence', candidate: null, catchupSeq: null,
    fenceEpoch: f.promoteEpoch + 1, promoteEpoch: f.promoteEpoch + 2, blocked: null, updatedAt: now,
  };
}
