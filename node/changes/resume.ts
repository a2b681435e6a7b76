/**
 * Where a change feed starts (docs/change-feed.md "Resuming"): from now,
 * from the oldest retained change, or right after a consumer's position —
 * only if this shard's log provably holds that very change and everything
 * after it; otherwise 410, never a silent skip. Pure: no I/O.
 */
import type { Term } from '../../common/replication.js';
import { termAt } from '../replication/history.js';
import { type ChangePosition, formatPosition } from '../../common/change-position.js';

export interface ShardLogState {
  readonly shard: string;
  readonly history: readonly Term[];
  /** Highest committed sequence. */
  readonly lastSeq: number;
  /** Smallest sequence still in the log, null when it is empty. */
  readonly logFirstSeq: number | null;
  /** Positions below this cannot be proven against slot ownership (ownership.ts provableFrom). */
  readonly provableFrom: number;
}

export type StartFrom = { readonly kind: 'now' } | { readonly kind: 'earliest' } | { readonly kind: 'after'; readonly position: ChangePosition };

export type ResumeDecision =
  | { readonly kind: 'start'; readonly fromSeq: number }
  | { readonly kind: 'gone'; readonly reason: string }
  | { readonly kind: 'other_shard'; readonly shard: string };

export function resumeDecision(state: ShardLogState, from: StartFrom): ResumeDecision {
  const backlogFirst = state.logFirstSeq ?? state.lastSeq + 1;
  if (from.kind === 'now') return { kind: 'start', fromSeq: state.lastSeq + 1 };
  if (from.kind === 'earliest') return { kind: 'start', fromSeq: Math.max(backlogFirst, state.provableFrom + 1) };
  const p = from.position;
  const where = formatPosition(p);
  if (p.shard !== state.shard) return { kind: 'other_shard', shard: p.shard };
  if (p.seq > state.lastSeq) {
    return { kind: 'gone', reason: `position ${where} is ahead of this shard's log (last sequence ${state.lastSeq}): that change was lost in a failover` };
  }
  if (p.seq > 0) {
    const term = termAt(state.history, p.seq);
    if (term === null) return { kind: 'gone', reason: `position ${where} is older than the shard's retained term history` };
    if (term.epoch !== p.epoch) {
      return { kind: 'gone', reason: `position ${where}: this shard's sequence ${p.seq} was written at epoch ${term.epoch}, not ${p.epoch} (the change at that position was lost in a failover)` };
    }
  }
  if (p.seq + 1 < backlogFirst) {
    return { kind: 'gone', reason: `position ${where} is older than the retained log (oldest sequence ${backlogFirst}; replBacklogOps sets the retention)` };
  }
  if (p.seq < state.provableFrom) {
    return { kind: 'gone', reason: `position ${where} is before a slot ownership change this node recorded as a replica (it cannot prove which of the changes up to sequence ${state.provableFrom} were migration copies)` };
  }
  return { kind: 'start', fromSeq: p.seq + 1 };
}
