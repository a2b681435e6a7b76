/**
 * Step "scale", the decision: the resource's shards / replicasPerShard
 * against what the controller records. Lowering replicasPerShard to r keeps
 * ordinals 0..r of every shard (a StatefulSet removes only its highest
 * ordinals), so a shard whose primary has an ordinal above r first hands
 * its role to a lower one by a switchover. One request at a time: replicas
 * first, then shards. Pure.
 */
import { parseNodeName } from '../../core/naming.js';
import type { ControllerState } from '../../core/state.js';
import type { ScaleRequest } from '../../control-api/types.js';

export type ScalePlan =
  | { readonly do: 'none' }
  | { readonly do: 'wait'; readonly why: string }
  | { readonly do: 'switchover'; readonly shard: string; readonly to: string; readonly why: string }
  | { readonly do: 'scale'; readonly request: ScaleRequest; readonly why: string };

export function planScale(state: ControllerState, want: { shards: number; replicasPerShard: number }): ScalePlan {
  const activeShards = state.shards.filter((s) => !s.leaving).length;
  const replicasChange = want.replicasPerShard !== state.spec.replicasPerShard;
  const shardsChange = want.shards !== activeShards || want.shards !== state.spec.shards;
  if (!replicasChange && !shardsChange) return { do: 'none' };
  if (state.map === null) return { do: 'wait', why: 'the cluster is still bootstrapping' };
  if (replicasChange) {
    const from = state.spec.replicasPerShard;
    const to = want.replicasPerShard;
    const moving = state.shards.find((s) => s.failover !== null);
    if (moving !== undefined) return { do: 'wait', why: `replicas per shard ${from} → ${to} waits for the ${moving.failover!.kind} of ${moving.id}` };
    if (to < from) {
      for (const s of state.shards) {
        const primary = ordinalOf(state.cluster, s.currentPrimary);
        if (primary <= to) continue;
        const candidates = s.members.filter((m) => m !== s.currentPrimary && ordinalOf(state.cluster, m) <= to)
          .sort((a, b) => ordinalOf(state.cluster, a) - ordinalOf(state.cluster, b));
        // Prefer a replica the primary counts acknowledgements from: it has every acknowledged write.
        const to_ = candidates.find((c) => s.sync.replicas.includes(c)) ?? candidates[0];
        if (to_ === undefined) return { do: 'wait', why: `${s.id}: no member with an ordinal up to ${to} to hand the primary role to` };
        return { do: 'switchover', shard: s.id, to: to_, why: `replicas per shard ${from} → ${to}: ${s.id}'s primary ${s.currentPrimary} hands over to ${to_} first (a StatefulSet removes its highest ordinals)` };
      }
    }
    return { do: 'scale', request: { replicasPerShard: to }, why: `replicas per shard ${from} → ${to}` };
  }
  if (state.operation !== null) return { do: 'wait', why: `shards ${activeShards} → ${want.shards} waits for ${state.operation.id} (${state.operation.reason})` };
  return { do: 'scale', request: { shards: want.shards }, why: `shards ${activeShards} → ${want.shards}` };
}

function ordinalOf(cluster: string, name: string): number {
  return parseNodeName(cluster, name)?.ordinal ?? Number.MAX_SAFE_INTEGER;
}
