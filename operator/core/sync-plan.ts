/**
 * Which replicas a primary counts acknowledgements from (its sync set), as
 * they fail and come back. The recorded set (ShardState.syncReplicas) must
 * always include every replica the primary counts, because a failover
 * chooses only among the recorded ones:
 *   adding    record first, then tell the primary;
 *   removing  tell the primary first, wait until the replicas it still
 *             counts have everything it wrote before, then record.
 * So the primary's declared list is never a superset of the record, and a
 * record larger than the declared list is one of those two in flight. Pure.
 */
import type { ReplicationStatus } from '../../common/replication.js';

export interface SyncInput {
  /** ShardState.syncReplicas. */
  readonly recorded: readonly string[];
  /** The shard's members other than the primary. */
  readonly replicas: readonly string[];
  /** The primary's status (its declaredReplicas, and each replica's link as it sees it). */
  readonly primary: ReplicationStatus;
  /** Replicas that have been failing (no heartbeat, not connected or not online) for failureThreshold intervals. */
  readonly failed: ReadonlySet<string>;
  /** A replica this many operations behind or fewer counts as caught up. */
  readonly maxLagOps: number;
  /** The primary's lastSeq when it was told about a removal in flight (null: none known). */
  readonly removalSeq: number | null;
}

export type SyncStep =
  | { readonly do: 'none' }
  /** Record `syncReplicas` (an addition: the primary is told next; or a removal whose catch-up is done). */
  | { readonly do: 'record'; readonly syncReplicas: readonly string[] }
  /** Tell the primary to count exactly `replicas` (then, for a removal, remember its lastSeq). */
  | { readonly do: 'tell'; readonly replicas: readonly string[]; readonly removal: boolean }
  /** A removal waits for the remaining replicas to catch up with removalSeq. */
  | { readonly do: 'wait'; readonly why: string };

export function caughtUp(primary: ReplicationStatus, name: string, maxLagOps: number): boolean {
  const r = primary.replicas.find((x) => x.name === name);
  return r !== undefined && r.connected && r.state === 'online' && r.lagOps <= maxLagOps;
}

/** The next step towards a sync set of every replica that is caught up and has not failed. */
export function nextSyncStep(input: SyncInput): SyncStep {
  const { recorded, primary } = input;
  const declared = primary.declaredReplicas;
  const rec = new Set(recorded);
  // The primary counts a replica the record lacks (should not happen): stop counting it first.
  if (declared.some((d) => !rec.has(d))) return { do: 'tell', replicas: declared.filter((d) => rec.has(d)), removal: true };
  const dec = new Set(declared);
  const pending = recorded.filter((r) => !dec.has(r));
  if (pending.length > 0) {
    // A replica still counted failed meanwhile: stop counting it too, or the wait below would never end
    // (the primary then reports a new position, and every replica left must reach that one).
    const gone = declared.filter((d) => !input.replicas.includes(d) || input.failed.has(d));
    if (gone.length > 0) return { do: 'tell', replicas: declared.filter((d) => !gone.includes(d)), removal: true };
    // An addition in flight (tell the primary) or a removal in flight (wait, then record).
    const add = pending.filter((p) => input.replicas.includes(p) && !input.failed.has(p) && caughtUp(primary, p, input.maxLagOps));
    if (add.length > 0) return { do: 'tell', replicas: [...declared, ...add], removal: false };
    if (input.removalSeq === null) {
      // We do not know what the primary had written when it stopped counting them: take its position now.
      return { do: 'tell', replicas: [...declared], removal: true };
    }
    const behind = declared.filter((d) => (primary.replicas.find((x) => x.name === d)?.ackedSeq ?? -1) < input.removalSeq!);
    if (behind.length > 0) return { do: 'wait', why: `${behind.join(', ')} catching up to sequence ${input.removalSeq} before ${pending.join(', ')} stop counting` };
    return { do: 'record', syncReplicas: [...declared] };
  }
  // recorded == declared: drop the failed and the non-members, add the caught-up.
  const drop = recorded.filter((r) => !input.replicas.includes(r) || input.failed.has(r));
  if (drop.length > 0) return { do: 'tell', replicas: recorded.filter((r) => !drop.includes(r)), removal: true };
  const join = input.replicas.filter((r) => !rec.has(r) && !input.failed.has(r) && caughtUp(primary, r, input.maxLagOps));
  if (join.length > 0) return { do: 'record', syncReplicas: [...recorded, ...join] };
  return { do: 'none' };
}
