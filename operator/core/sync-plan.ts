/**
 * Which replicas a primary waits for (its declared replicas), as replicas
 * fail and come back, and what the controller may rely on at a failover.
 *
 * The record keeps a guarantee (ShardState.syncReplicas = R, syncAcks = k):
 * every write acknowledged so far is on at least k members of R. A failover
 * needs |R| − k + 1 of R to answer (then one of them holds every
 * acknowledged write) and cannot promote from R at all when k = 0.
 *
 * Changing the declared set to D* keeps the guarantee true at every moment:
 *   1. record R ∪ D* with k' = min(k, min(minSync, |D*|)) and the target D*
 *      (weaker than before, and true for writes the primary acknowledges
 *      once it counts D*);
 *   2. tell the primary to count D*; record the sequence S it had then;
 *   3. once every member of D* has applied S, writes up to S are on all of
 *      D* and later ones on min(minSync, |D*|) of D*: record R = D*, k = that.
 * A controller that stops anywhere resumes at the recorded step. Pure.
 */
import type { ReplicationStatus } from '../../common/replication.js';
import type { DataDurability } from './spec.js';

export interface SyncRecord {
  /** R: the replicas the guarantee is about. */
  readonly replicas: readonly string[];
  /** k: every acknowledged write is on at least this many of R. */
  readonly acks: number;
  /** A change of the declared set in flight: the set, and the primary's lastSeq once it was told (null before). */
  readonly target: { readonly replicas: readonly string[]; readonly seq: number | null } | null;
}

export interface SyncInput {
  readonly record: SyncRecord;
  /** The shard's members other than the primary. */
  readonly replicas: readonly string[];
  /** The primary's status: its declared replicas and each replica's link as it sees it. */
  readonly primary: ReplicationStatus;
  /** Replicas failing (no heartbeat, not connected or not online) for failureThreshold intervals. */
  readonly failed: ReadonlySet<string>;
  /** The spec's; the guarantee recorded never exceeds what the primary itself enforces (its status). */
  readonly minSyncReplicas: number;
  readonly durability: DataDurability;
  /** A replica this many operations behind or fewer may join. */
  readonly maxLagOps: number;
}

export type SyncStep =
  | { readonly do: 'none' }
  /** Commit this record (step 1 or 3). */
  | { readonly do: 'record'; readonly record: SyncRecord; readonly why: string }
  /** Step 2: tell the primary to count exactly `replicas`, then record its lastSeq as target.seq. */
  | { readonly do: 'tell'; readonly replicas: readonly string[] }
  | { readonly do: 'wait'; readonly why: string };

export function caughtUp(primary: ReplicationStatus, name: string, maxLagOps: number): boolean {
  const r = primary.replicas.find((x) => x.name === name);
  return r !== undefined && r.connected && r.state === 'online' && r.lagOps <= maxLagOps;
}

/**
 * The set the primary should wait for: replicas it counts now that have not
 * failed, and others that stream and have caught up. With durability
 * 'required' the set never shrinks below minSyncReplicas while the shard has
 * that many replicas: failed replicas stay counted and writes wait (fail
 * after ackTimeoutMs) rather than being acknowledged with fewer copies.
 */
export function desiredSyncSet(input: Omit<SyncInput, 'record'>): string[] {
  const { primary, failed, replicas } = input;
  const declared = primary.declaredReplicas.filter((d) => replicas.includes(d));
  const set = new Set<string>();
  for (const r of replicas) {
    if (failed.has(r)) continue;
    if (declared.includes(r) || caughtUp(primary, r, input.maxLagOps)) set.add(r);
  }
  if (input.durability === 'required') {
    const need = Math.min(input.minSyncReplicas, replicas.length);
    for (const r of [...declared, ...[...replicas].sort()]) {
      if (set.size >= need) break;
      set.add(r);
    }
  }
  return [...replicas].filter((r) => set.has(r));
}

export function nextSyncStep(input: SyncInput): SyncStep {
  const { record, primary } = input;
  const want = desiredSyncSet(input);
  // What the primary enforces (its --min-sync-replicas) may lag a changed spec until it restarts: count the lower.
  const kWant = Math.min(input.minSyncReplicas, primary.minSyncReplicas, want.length);
  const declared = primary.declaredReplicas;
  const begin = (why: string): SyncStep => ({
    do: 'record',
    why,
    record: { replicas: union(record.replicas, want), acks: Math.min(record.acks, kWant), target: { replicas: want, seq: null } },
  });
  if (record.target === null) {
    if (sameSet(want, declared) && sameSet(want, record.replicas) && record.acks === kWant) return { do: 'none' };
    return begin(`counting ${describe(want)} instead of ${describe(declared)}`);
  }
  if (!sameSet(record.target.replicas, want)) return begin(`counting ${describe(want)} instead of ${describe(record.target.replicas)} (changed during a change)`);
  if (record.target.seq === null || !sameSet(declared, want)) return { do: 'tell', replicas: want };
  // A set-role request delivered late (after the controller gave up on it) may have changed the set again
  // after target.seq: the primary's own record of its last change covers that.
  const seq = Math.max(record.target.seq, primary.declaredSeq);
  const behind = want.filter((r) => (primary.replicas.find((x) => x.name === r)?.ackedSeq ?? -1) < seq);
  if (behind.length > 0) return { do: 'wait', why: `${behind.join(', ')} catching up to sequence ${seq}` };
  return { do: 'record', why: `${describe(want)} hold every write up to ${seq}`, record: { replicas: want, acks: kWant, target: null } };
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
}

function describe(names: readonly string[]): string {
  return names.length === 0 ? 'no replica' : names.join(', ');
}
