/**
 * Term history and the resync decision (docs/architecture.md §3, catch-up and fencing).
 *
 * A node's history lists the terms of the log it holds. A term starts every
 * time a node starts writing as primary (promotion, or a process start as
 * primary) with a fresh random id; a replica adopts its primary's history.
 * Each term is written by exactly one primary process, so two logs agree up
 * to seq s iff the term containing s has the same id in both: the process
 * that wrote s had one log prefix when it began that term, and every copy of
 * s was shipped from that process together with (a resync of) that prefix.
 * Pure: no I/O.
 */
import type { Term } from '../../common/replication.js';

/** Terms kept; older ones are dropped (a replica whose position falls before them takes a full resync). */
export const MAX_TERMS = 64;

/** The term containing seq (the last with firstSeq <= seq), or null if seq < 1 or seq is before the first retained term. */
export function termAt(history: readonly Term[], seq: number): Term | null {
  if (seq < 1) return null;
  for (let i = history.length - 1; i >= 0; i--) {
    const t = history[i]!;
    if (t.firstSeq <= seq) return t;
  }
  return null;
}

/**
 * Appends a term starting at nextSeq. Trailing terms with firstSeq >= nextSeq
 * wrote nothing that survives in this log and are replaced (normally just the
 * last one: a primary restarted before writing anything). Keeps at most
 * MAX_TERMS (drops the oldest). Throws RangeError if the epoch is lower than
 * the last term's. Returns a new array.
 */
export function startTerm(history: readonly Term[], epoch: number, id: string, nextSeq: number): Term[] {
  if (!Number.isSafeInteger(nextSeq) || nextSeq < 1) throw new RangeError(`a term cannot start at seq ${nextSeq}`);
  if (id === '') throw new RangeError('a term needs a non-empty id');
  const last = history[history.length - 1];
  if (last !== undefined && epoch < last.epoch) {
    throw new RangeError(`cannot start a term at epoch ${epoch}: the log already has a term at epoch ${last.epoch}`);
  }
  const out = history.slice();
  while (out.length > 0 && out[out.length - 1]!.firstSeq >= nextSeq) out.pop();
  out.push({ epoch, id, firstSeq: nextSeq });
  return out.length > MAX_TERMS ? out.slice(out.length - MAX_TERMS) : out;
}

/** The termId a node reports for its position: '' when seq is 0 or falls before its retained history. */
export function positionTermId(history: readonly Term[], seq: number): string {
  return termAt(history, seq)?.id ?? '';
}

export type ResyncPlan = { readonly kind: 'partial'; readonly fromSeq: number } | { readonly kind: 'full'; readonly reason: string };

export interface PrimaryPosition {
  readonly history: readonly Term[];
  readonly lastSeq: number;
  /** Smallest seq still in the log; lastSeq + 1 when the log is empty. */
  readonly backlogFirstSeq: number;
}

export interface ReplicaPosition {
  readonly seq: number;
  readonly termId: string;
}

/**
 * What a primary does for a replica at (seq, termId): stream from seq + 1 if
 * the replica's log is a prefix of the primary's and the primary's log still
 * holds everything after it; otherwise a full snapshot. A replica at seq 0
 * holds nothing, so nothing can disagree: only the backlog matters.
 */
export function planResync(primary: PrimaryPosition, replica: ReplicaPosition): ResyncPlan {
  const { history, lastSeq, backlogFirstSeq } = primary;
  const { seq, termId } = replica;
  if (seq > lastSeq) {
    return {
      kind: 'full',
      reason: `replica is ahead (at seq ${seq}, the primary's last is ${lastSeq}): it holds writes this primary never had; discarding them`,
    };
  }
  if (seq > 0) {
    const term = termAt(history, seq);
    if (term === null || term.id !== termId) {
      return {
        kind: 'full',
        reason: `replica's log diverged at seq ${seq} (term ${termId === '' ? '(none)' : termId}, primary has ${term === null ? 'no term that far back' : term.id})`,
      };
    }
  }
  if (seq + 1 < backlogFirstSeq) {
    return { kind: 'full', reason: `log no longer reaches back to seq ${seq + 1} (oldest is ${backlogFirstSeq})` };
  }
  return { kind: 'partial', fromSeq: seq + 1 };
}
