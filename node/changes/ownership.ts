/**
 * Which slots this node's shard owned at each point of its log
 * (docs/change-feed.md "Slot migrations"). A slot migration copies rows into
 * the target's log before the flip and deletes them from the source's log
 * after it; neither is a change a client made. The feed emits a logged
 * change only if the shard owned the key's slot when the change was
 * written, so across all shards every client change appears exactly once.
 *
 * An entry is recorded when the node installs a map that changes its
 * shard's slots, at its last committed sequence then. On a primary that
 * boundary is exact (a migration's target installs the flip after the
 * copied rows, its source before the cleanup). A replica installs maps
 * later than its primary, so its boundaries are approximate ("inexact"); if
 * it is promoted, positions from before its promotion cannot be proven and
 * are answered 410. Pure: no I/O.
 */
import { SLOT_COUNT } from '../../common/slot.js';
import { normalizeRanges, type SlotRange } from '../../common/cluster-map.js';

export interface OwnershipEntry {
  /** Changes with a sequence above this (up to the next entry's) were written while the shard owned `slots`. */
  readonly seq: number;
  readonly slots: readonly SlotRange[];
  /** Recorded as primary (or before anything was written): the boundary is where the shard's writes changed owner. */
  readonly exact: boolean;
  /** For an inexact entry: the last sequence before this node began writing as primary after it (set once it did). */
  readonly until?: number;
}

export type OwnershipJournal = readonly OwnershipEntry[];

/** Entries kept; older ones go first (the log they describe has been trimmed long before). */
export const MAX_OWNERSHIP_ENTRIES = 256;

export const ALL_SLOTS: readonly SlotRange[] = [[0, SLOT_COUNT - 1]];

function sameRanges(a: readonly SlotRange[], b: readonly SlotRange[]): boolean {
  return a.length === b.length && a.every((r, i) => r[0] === b[i]![0] && r[1] === b[i]![1]);
}

/** The journal with the owned set at `seq` recorded, or null when the set did not change. */
export function recordOwnership(journal: OwnershipJournal, seq: number, slots: readonly SlotRange[], exact: boolean): OwnershipJournal | null {
  const norm = normalizeRanges(slots);
  const last = journal[journal.length - 1];
  if (last !== undefined && sameRanges(last.slots, norm)) return null;
  const out = journal.slice();
  if (last !== undefined && last.seq >= seq) {
    // The previous set governed no change at all; its boundary's uncertainty carries over.
    out.pop();
    out.push({ seq: last.seq, slots: norm, exact: exact && last.exact });
  } else {
    out.push({ seq, slots: norm, exact });
  }
  return out.length > MAX_OWNERSHIP_ENTRIES ? out.slice(out.length - MAX_OWNERSHIP_ENTRIES) : out;
}

/** Inexact entries get `until` = the sequence before the current term once this node writes as primary. */
export function settleOwnership(journal: OwnershipJournal, primaryTermFirstSeq: number): OwnershipJournal | null {
  let changed = false;
  const out = journal.map((e) => {
    if (e.exact || e.until !== undefined || e.seq >= primaryTermFirstSeq) return e;
    changed = true;
    return { ...e, until: primaryTermFirstSeq - 1 };
  });
  return changed ? out : null;
}

/**
 * The lowest position a consumer may resume from without an ownership
 * boundary this node cannot prove: 0 when every boundary is exact. A
 * consumer at `seq` below it gets 410.
 */
export function provableFrom(journal: OwnershipJournal, currentTermFirstSeq: number): number {
  let from = 0;
  for (const e of journal) {
    if (e.exact) continue;
    from = Math.max(from, e.until ?? currentTermFirstSeq - 1, e.seq);
  }
  return from;
}

/** The journal as stored or sent (JSON); Error naming the bad entry. */
export function parseOwnershipJournal(v: unknown): OwnershipJournal {
  if (!Array.isArray(v)) throw new Error('the ownership journal is not an array');
  const isRange = (r: unknown): r is SlotRange =>
    Array.isArray(r) && r.length === 2 && Number.isInteger(r[0]) && Number.isInteger(r[1]) && r[0] >= 0 && r[0] <= r[1] && r[1] < SLOT_COUNT;
  return v.map((e: unknown, i): OwnershipEntry => {
    const o = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 0 || typeof o.exact !== 'boolean' || !Array.isArray(o.slots) || !o.slots.every(isRange)) {
      throw new Error(`ownership journal entry ${i} is malformed`);
    }
    const base = { seq: o.seq as number, slots: o.slots as SlotRange[], exact: o.exact };
    return Number.isSafeInteger(o.until) ? { ...base, until: o.until as number } : base;
  });
}

export type Adoption =
  | { readonly kind: 'adopt'; readonly journal: OwnershipJournal }
  /** The replica's journal already is the primary's. */
  | { readonly kind: 'same' }
  /** Not yet: the primary is on other slots (a map not installed here yet), or ahead of this replica's log. */
  | { readonly kind: 'wait' };

/**
 * A replica's journal replaced by its primary's, which describes the same
 * log with exact boundaries (a replica's own are approximate, and an old
 * primary resynced as a replica may hold entries of a discarded log) —
 * once the primary's last entry is this replica's current slots and the
 * replica's log has reached it (before that the replica would classify
 * changes it has not received yet).
 */
export function adoptPrimaryJournal(mine: OwnershipJournal, primary: OwnershipJournal, lastSeq: number): Adoption {
  if (JSON.stringify(mine) === JSON.stringify(primary)) return { kind: 'same' };
  const mineLast = mine[mine.length - 1];
  const theirs = primary[primary.length - 1];
  if (mineLast === undefined || theirs === undefined) return { kind: 'wait' };
  if (!sameRanges(normalizeRanges(theirs.slots), mineLast.slots) || theirs.seq > lastSeq) return { kind: 'wait' };
  return { kind: 'adopt', journal: primary.slice(-MAX_OWNERSHIP_ENTRIES) };
}

/** Fast "did the shard own this slot when seq was written" over a journal, with a bitmap per entry. */
export class OwnershipView {
  private readonly seqs: number[];
  private readonly maps: Uint8Array[];

  constructor(journal: OwnershipJournal) {
    this.seqs = journal.map((e) => e.seq);
    this.maps = journal.map((e) => {
      const m = new Uint8Array(SLOT_COUNT);
      for (const [a, b] of e.slots) m.fill(1, a, b + 1);
      return m;
    });
  }

  /** With an empty journal every slot counts as owned (a node that never had a map serves every slot). */
  owned(seq: number, slot: number): boolean {
    if (this.maps.length === 0) return true;
    let i = this.seqs.length - 1;
    while (i > 0 && this.seqs[i]! >= seq) i--;
    return this.maps[i]![slot] === 1;
  }
}
