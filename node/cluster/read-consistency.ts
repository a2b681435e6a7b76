/**
 * Read consistency levels (issue #13, docs/consistency.md), the pure part:
 *
 * - `strong`: served by the primary only after a round trip proves it is still
 *   the shard's primary: after the value is read, as many of its declared
 *   replicas as a write needs acknowledgements from (min(minSyncReplicas,
 *   |declared|), at least 1) must answer that they know no newer epoch and
 *   still follow it. A failover first moves the survivors to a newer epoch
 *   (the fence stage needs |R| − k + 1 of the k-acknowledged sync set R), so
 *   any such quorum meets a fenced survivor once a new primary can exist: a
 *   deposed primary (paused and resumed) cannot confirm.
 * - `default`: the primary as it believes itself to be (no round trip).
 * - `eventual`: any replica of the owning shard may answer from its own copy,
 *   with its lag reported; never a value that was not written.
 */

export type ReadConsistency = 'strong' | 'default' | 'eventual';

export const READ_CONSISTENCY_LEVELS: readonly ReadConsistency[] = ['strong', 'default', 'eventual'];

/** Parses a level as clients spell it (case-insensitive); null when unknown. */
export function parseReadConsistency(text: string): ReadConsistency | null {
  const t = text.trim().toLowerCase();
  return (READ_CONSISTENCY_LEVELS as readonly string[]).includes(t) ? (t as ReadConsistency) : null;
}

/**
 * Replies a strong read needs: the same number of declared replicas a write
 * waits for, but at least one (with minSyncReplicas 0 writes are not safe
 * from failover either; a read still asks one). A shard with no declared
 * replica is never failed over, so its primary alone is the authority.
 */
export function confirmQuorum(declaredReplicas: number, minSyncReplicas: number): number {
  if (declaredReplicas <= 0) return 0;
  return Math.max(1, Math.min(minSyncReplicas, declaredReplicas));
}

/** What a peer said when asked "which epoch do you know and whom do you follow?" (null: no answer in time). */
export interface PeerView {
  readonly name: string;
  readonly epoch: number;
  readonly role: 'primary' | 'replica';
  /** The primary it follows (name), if a replica. */
  readonly primary: string | null;
}

export interface ConfirmFacts {
  readonly name: string;
  readonly role: 'primary' | 'replica';
  readonly epoch: number;
  /** Self-fenced (an authenticated peer reported a newer epoch). */
  readonly fenced: boolean;
  readonly quorum: number;
}

export type Confirmation =
  | { readonly confirmed: true; readonly confirmedBy: readonly string[] }
  | { readonly confirmed: false; readonly reason: string; readonly newerEpoch: number | null };

/** Decides a confirmation round from the replies (null entries: no answer). */
export function judgeConfirmation(me: ConfirmFacts, replies: ReadonlyArray<PeerView | null>): Confirmation {
  if (me.role !== 'primary') return { confirmed: false, reason: 'this node is not a primary', newerEpoch: null };
  if (me.fenced) return { confirmed: false, reason: 'this primary has fenced itself (a peer reported a newer epoch)', newerEpoch: null };
  const newer = replies.reduce((m, r) => (r !== null && r.epoch > me.epoch ? Math.max(m, r.epoch) : m), -1);
  if (newer >= 0) {
    return { confirmed: false, reason: `a replica knows epoch ${newer}, newer than this primary's ${me.epoch}: it may have been replaced`, newerEpoch: newer };
  }
  const confirmedBy = replies
    .filter((r): r is PeerView => r !== null && r.epoch === me.epoch && r.role === 'replica' && r.primary === me.name)
    .map((r) => r.name);
  if (confirmedBy.length >= me.quorum) return { confirmed: true, confirmedBy };
  const answered = replies.filter((r) => r !== null).length;
  return {
    confirmed: false,
    reason: `${confirmedBy.length} of ${me.quorum} needed replicas confirmed this primary at epoch ${me.epoch} (${answered} of ${replies.length} answered)`,
    newerEpoch: null,
  };
}

/** How a read at `level` is routed: as a replica-allowed (READONLY) read, or as a primary read. */
export function readsFromReplica(level: ReadConsistency): boolean {
  return level === 'eventual';
}

/** A replica's lag as a client sees it (X-Iris-Replica-Lag-*). */
export interface ReplicaLag {
  /** Operations the primary had announced that this replica had not applied, at its last message. */
  readonly ops: number;
  /** Milliseconds since this replica last knew it had everything its primary had announced (a staleness bound). */
  readonly ms: number;
}

/**
 * Lag from the last position the primary announced (its committed sequence,
 * in a ping) and when this replica last held all of it. A replica without a
 * streaming link has an unknown lag: null.
 */
export function replicaLag(o: { readonly streaming: boolean; readonly announcedSeq: number; readonly appliedSeq: number; readonly syncedAt: number | null; readonly now: number }): ReplicaLag | null {
  if (!o.streaming || o.syncedAt === null) return null;
  return { ops: Math.max(0, o.announcedSeq - o.appliedSeq), ms: Math.max(0, Math.round(o.now - o.syncedAt)) };
}
