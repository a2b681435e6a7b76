/**
 * Deletes every key of some slots through the keyspace (so the deletes are
 * logged and reach this node's replicas), a bounded batch per event-loop
 * turn so clients keep being served, and each batch waits until this
 * node's replicas acknowledged the previous one (the commit barrier goes
 * through the replication ack gate): a bulk delete must not put the
 * replicas so far behind that clients' writes time out waiting for them.
 * Before each batch `allowed(slot)` is
 * asked again: the slot may have become this node's own (a flip) or the
 * target of a new import meanwhile, and then it must be left alone.
 */
import type { SlotRange } from '../../common/cluster-map.js';
import type { ClusterState } from '../cluster/types.js';
import type { SqliteKeyspace } from '../engine/keyspace.js';
import type { CommitScheduler } from '../engine/types.js';
import { AckTimeoutError } from '../replication/ack-gate.js';

/** Keys deleted per event-loop turn. */
export const CLEAN_BATCH = 2000;

/**
 * Resolves with how many keys were deleted. `cancelled()` stops it between
 * batches; `onBatch` sees the running count after each turn's batch.
 */
export async function deleteSlotKeys(
  keyspace: SqliteKeyspace,
  commits: CommitScheduler,
  slots: readonly number[],
  allowed: (slot: number) => boolean,
  cancelled: () => boolean,
  onBatch?: (deleted: number) => void,
  /** Marks the deletes in the log as the migration's (MigrationDeps.asMigration): a point-in-time replay skips them. */
  asMigration: <T>(fn: () => T) => T = (fn) => fn(),
): Promise<number> {
  let deleted = 0;
  let inBatch = 0;
  const flush = async (): Promise<void> => {
    onBatch?.(deleted);
    await replicated(commits);
    inBatch = 0;
  };
  for (const slot of slots) {
    if (cancelled()) return deleted;
    if (!allowed(slot)) continue;
    for (;;) {
      const room = CLEAN_BATCH - inBatch;
      // now = 0: expired rows too (every stored expiry is positive); the delete is logged like any other.
      const keys = keyspace.keysInSlot(slot, room, 0);
      asMigration(() => {
        for (const k of keys) {
          if (keyspace.delete(k, 0)) deleted++;
        }
      });
      inBatch += keys.length;
      if (keys.length < room) break;
      // A full batch: let it commit and reach the replicas, then go on with this slot if still allowed.
      await flush();
      if (cancelled() || !allowed(slot)) break;
    }
  }
  if (inBatch > 0) await flush();
  return deleted;
}

/** The slot is this node's shard's (in the installed map): never delete there. */
export function ownedHere(cluster: Pick<ClusterState, 'map' | 'myShard'>, slot: number): boolean {
  const shard = cluster.map?.shards[cluster.myShard];
  return shard !== undefined && inRanges(slot, shard.slots);
}

export function inRanges(slot: number, ranges: readonly SlotRange[]): boolean {
  return ranges.some(([a, b]) => slot >= a && slot <= b);
}

/** Resolves once the current turn is committed and acknowledged by the replicas writes wait for (or their ack timeout passed). */
export async function replicated(commits: CommitScheduler): Promise<void> {
  try {
    await commits.barrier();
  } catch (err) {
    // Committed here; the replicas are slow, not the data lost: go on at the pace of the timeout.
    if (!(err instanceof AckTimeoutError)) throw err;
  }
}
