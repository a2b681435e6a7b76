/**
 * The recorded state of a cluster that does not exist yet, and the shards a
 * scale-out adds: every shard starts at epoch 1 with ordinal 0 as its
 * primary. Pure.
 */
import { nodeName, shardId } from './naming.js';
import type { ClusterSpec } from './spec.js';
import { STATE_VERSION, type ControllerState, type ShardState } from './state.js';

export function initialState(cluster: string, spec: ClusterSpec): ControllerState {
  return {
    version: STATE_VERSION,
    cluster,
    spec,
    shards: Array.from({ length: spec.shards }, (_, i) => newShard(cluster, i, spec.replicasPerShard, spec.minSyncReplicas)),
    map: null,
    operation: null,
    nextId: 1,
  };
}

export function newShard(cluster: string, index: number, replicas: number, minSyncReplicas: number): ShardState {
  const members = Array.from({ length: replicas + 1 }, (_, j) => nodeName(cluster, index, j));
  return {
    id: shardId(index), index, epoch: 1, members,
    currentPrimary: members[0]!, targetPrimary: members[0]!, failover: null, leaving: false,
    // A new shard has no writes yet: every replica holds all of them.
    sync: { replicas: members.slice(1), acks: Math.min(minSyncReplicas, replicas), target: null },
  };
}

/** Member names of a shard resized to `replicas` replicas: new ordinals are the lowest unused; removed ones are the highest that are not the primary. */
export function resizeMembers(cluster: string, shard: ShardState, replicas: number): string[] {
  const members = [...shard.members];
  const ordinals = new Set(members.map((m) => Number(m.slice(m.lastIndexOf('-') + 1))));
  let next = 0;
  while (members.length < replicas + 1) {
    while (ordinals.has(next)) next++;
    ordinals.add(next);
    members.push(nodeName(cluster, shard.index, next));
  }
  const removable = members.filter((m) => m !== shard.currentPrimary && m !== shard.targetPrimary)
    .sort((a, b) => Number(b.slice(b.lastIndexOf('-') + 1)) - Number(a.slice(a.lastIndexOf('-') + 1)));
  while (members.length > replicas + 1 && removable.length > 0) {
    const drop = removable.shift()!;
    members.splice(members.indexOf(drop), 1);
  }
  return members;
}
