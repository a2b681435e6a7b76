/**
 * Which replicas of a shard the cluster map names. Clients reach every node
 * the map names (CLUSTER SLOTS/NODES), so a member enters the map only once
 * it reports itself a replica of the shard's primary at the shard's epoch: a
 * node that has no role yet would take writes no replica ever sees. A member
 * already in the map stays while it is a member; a removed member leaves. Pure.
 */
import type { ReplicationStatus } from '../../common/replication.js';
import type { ShardState } from './state.js';

export function mapReplicas(
  shard: Pick<ShardState, 'members' | 'currentPrimary' | 'epoch'>,
  inMap: readonly string[],
  statusOf: (name: string) => ReplicationStatus | null,
): string[] {
  return shard.members.filter((m) => m !== shard.currentPrimary && (inMap.includes(m) || follows(statusOf(m), shard)));
}

function follows(st: ReplicationStatus | null, shard: Pick<ShardState, 'currentPrimary' | 'epoch'>): boolean {
  return st !== null && st.role === 'replica' && st.epoch === shard.epoch && st.primary?.name === shard.currentPrimary;
}
