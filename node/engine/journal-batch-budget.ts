/**
 * How large the write journal's SQLite batch may grow before it commits,
 * from what earlier batch COMMITs cost (issue #16, DESIGN §2: nothing may
 * hold the event loop over ~50 ms). A batch COMMIT writes every page the
 * batch dirtied, on the event loop. With 100k keys a second of SETs
 * dirties the same few thousand pages over and over and commits in ~50 ms;
 * with 1M keys nearly every SET dirties a page of its own and a second's
 * batch took ~360 ms (docs/benchmarks.md, "Event-loop stalls"). The limit
 * is the journal bytes the next batch may hold so that its COMMIT takes
 * about `targetMs`, from the cost per byte of recent batches (smoothed):
 * because the cost per byte falls as a batch grows (more writes share a
 * page), the limit settles where a commit takes about the target. Pure: no
 * clock, no I/O.
 */

export interface BatchBudgetSettings {
  /** The COMMIT time aimed at, ms; 0 turns the budget off (batches end by time, turns and maxBytes only). */
  readonly targetMs: number;
  /** Never below this many journal bytes per batch (a slow disk must not turn every turn into a commit). */
  readonly minBytes: number;
  /** Never above this (the journal's own maxBytes). */
  readonly maxBytes: number;
}

export interface BatchBudget {
  /** Smoothed COMMIT ms per journal byte, null before the first measured batch. */
  readonly msPerByte: number | null;
  /** Journal bytes the open batch may hold before it commits. */
  readonly limitBytes: number;
}

/** Weight of the newest batch in the smoothed cost: a few batches follow a change of load, one slow commit does not halve the batch. */
const NEW_WEIGHT = 0.3;

/** Before anything was measured: ~7,500 SETs of 100 bytes, whose commit took ~75 ms with 1M keys and less with fewer (the first measurement then adjusts it). */
const FIRST_LIMIT_BYTES = 1024 * 1024;

export function initialBudget(s: BatchBudgetSettings): BatchBudget {
  return { msPerByte: null, limitBytes: s.targetMs <= 0 ? s.maxBytes : Math.min(s.maxBytes, Math.max(s.minBytes, FIRST_LIMIT_BYTES)) };
}

/** The budget after a batch of `bytes` journal bytes committed in `commitMs`. Batches too small to say anything (< minBytes / 4) leave it as it is. */
export function afterBatchCommit(b: BatchBudget, bytes: number, commitMs: number, s: BatchBudgetSettings): BatchBudget {
  if (s.targetMs <= 0) return { msPerByte: b.msPerByte, limitBytes: s.maxBytes };
  if (!(bytes >= s.minBytes / 4) || !Number.isFinite(commitMs) || commitMs < 0) return b;
  const sample = commitMs / bytes;
  const msPerByte = b.msPerByte === null ? sample : b.msPerByte * (1 - NEW_WEIGHT) + sample * NEW_WEIGHT;
  const want = msPerByte > 0 ? s.targetMs / msPerByte : s.maxBytes;
  return { msPerByte, limitBytes: Math.round(Math.min(s.maxBytes, Math.max(s.minBytes, want))) };
}
