/**
 * Step "rollout", the decision: once a StatefulSet's template changed
 * (OnDelete), its pods still on the old revision are restarted one at a
 * time — replicas first, then each primary (the controller hands its role
 * over by a switchover before its pod goes) — and only while the cluster is
 * Ready, with every member pod Ready and the previous restart finished
 * (its pod recreated and Ready). Pure.
 */
import type { ClusterPhase } from '../../core/observation.js';

export interface RolloutPod {
  readonly name: string;
  readonly uid: string;
  readonly shardIndex: number;
  readonly ordinal: number;
  readonly revision: string | null;
  readonly ready: boolean;
  readonly deleting: boolean;
}

export interface RolloutSet {
  readonly shardIndex: number;
  /** status.updateRevision, once the StatefulSet controller has seen the latest spec (else null). */
  readonly updateRevision: string | null;
}

export interface RolloutShard {
  readonly index: number;
  readonly primary: string;
  readonly members: readonly string[];
  readonly changingPrimary: boolean;
}

export interface RolloutInFlight {
  readonly node: string;
  /** The pod's uid when its restart was asked for. */
  readonly uid: string;
  readonly startedAt: number;
}

export interface RolloutInput {
  readonly phase: ClusterPhase;
  readonly operation: string | null;
  readonly shards: readonly RolloutShard[];
  readonly sets: readonly RolloutSet[];
  readonly pods: readonly RolloutPod[];
  readonly inFlight: RolloutInFlight | null;
  readonly now: number;
  /** A restart whose pod was never replaced in this time is given up and asked again (default 300 s). */
  readonly restartTimeoutMs?: number;
}

export type RolloutPlan =
  | { readonly do: 'none' }
  | { readonly do: 'wait'; readonly why: string; readonly pending: number; readonly dropInFlight?: boolean }
  | { readonly do: 'restart'; readonly node: string; readonly uid: string; readonly primary: boolean; readonly why: string; readonly pending: number };

export function planRollout(input: RolloutInput): RolloutPlan {
  const sets = new Map(input.sets.map((s) => [s.shardIndex, s] as const));
  const pods = new Map(input.pods.map((p) => [p.name, p] as const));
  const primaries = new Set(input.shards.map((s) => s.primary));
  const outdated: RolloutPod[] = [];
  for (const shard of input.shards) {
    const set = sets.get(shard.index);
    if (set === undefined) continue;
    if (set.updateRevision === null) return { do: 'wait', why: `StatefulSet of shard-${shard.index}: waiting for its controller to see the new template`, pending: 0 };
    for (const m of shard.members) {
      const p = pods.get(m);
      if (p !== undefined && !p.deleting && p.revision !== null && p.revision !== set.updateRevision) outdated.push(p);
    }
  }
  const pending = outdated.length;
  const f = input.inFlight;
  if (f !== null) {
    const p = pods.get(f.node);
    const replaced = p !== undefined && p.uid !== f.uid && !p.deleting;
    if (!replaced) {
      const timeout = input.restartTimeoutMs ?? 300_000;
      if (input.now - f.startedAt > timeout) return { do: 'wait', why: `${f.node} was not restarted within ${timeout / 1000} s; asking again`, pending, dropInFlight: true };
      return { do: 'wait', why: `restarting ${f.node}`, pending };
    }
    if (!p.ready) return { do: 'wait', why: `waiting for the restarted ${f.node} to be Ready`, pending };
  }
  if (pending === 0) return f === null ? { do: 'none' } : { do: 'wait', why: 'rolling update done', pending: 0, dropInFlight: true };
  const progress = `${pending} pod${pending === 1 ? '' : 's'} on an old revision`;
  if (input.phase !== 'Ready') return { do: 'wait', why: `${progress}; waiting for the cluster to be Ready (${input.phase})`, pending };
  if (input.operation !== null) return { do: 'wait', why: `${progress}; waiting for ${input.operation}`, pending };
  const moving = input.shards.find((s) => s.changingPrimary);
  if (moving !== undefined) return { do: 'wait', why: `${progress}; waiting for the change of primary of shard-${moving.index}`, pending };
  const notReady = input.shards.flatMap((s) => s.members).filter((m) => pods.get(m)?.ready !== true);
  if (notReady.length > 0) return { do: 'wait', why: `${progress}; waiting for ${notReady.join(', ')} to be Ready`, pending };
  const order = [...outdated].sort((a, b) => {
    const pa = primaries.has(a.name) ? 1 : 0;
    const pb = primaries.has(b.name) ? 1 : 0;
    return pa - pb || a.shardIndex - b.shardIndex || b.ordinal - a.ordinal;
  });
  const next = order[0]!;
  const primary = primaries.has(next.name);
  return {
    do: 'restart', node: next.name, uid: next.uid, primary, pending,
    why: `${progress}: restarting ${next.name}${primary ? ' (the primary: after a switchover)' : ''}`,
  };
}
