/**
 * When the write journal's SQLite batch should commit before its natural end
 * (commitMs), from what earlier batch COMMITs cost (issue #16, DESIGN §2:
 * nothing may hold the event loop over ~50 ms). A batch COMMIT writes every
 * page the batch dirtied, on the event loop.
 *
 * The cost model counts pages, not bytes: a batch of n random writes over a
 * database of P pages dirties about P·(1 − e^(−k·n/P)) of them (k pages per
 * write: the row's table page and an index page or two). With 100k keys a
 * second of SETs dirties the same few thousand pages over and over and
 * commits in ~50 ms; with 1M keys nearly every write dirties pages of its own
 * and a second's batch took ~360 ms (docs/benchmarks.md, "Event-loop
 * stalls"). From each measured COMMIT the model learns the cost of a page
 * (smoothed), so an estimate learnt under one load (a flood of SETs) holds
 * for another (an expiry's sparse deletes), which the earlier cost per
 * journal byte did not: a delete is a few bytes and as many pages as a SET.
 *
 * The budget cuts a batch only where the cut is cheap: cutting rewrites the
 * pages the rest of the batch would have shared with it, so a batch is cut
 * when, under the same model and at its rate so far, the pages its cut
 * batches would write beyond one whole batch cost a few % of the batch's
 * natural length (CUT_OVERHEAD_SHARE). That holds for a *sparse* batch, whose writes would stay
 * few against the database's pages (background expiry, moderate write rates
 * on a large keyspace: nearly every write dirties pages of its own anyway),
 * and not for a *dense* one (a write flood, an import), whose writes share
 * pages: cutting those took 10–25 % of the write rate and of a 1M-key import
 * (docs/benchmarks.md, "Event-loop stalls"). A dense batch is left to end by
 * time; its stall is what the applier thread of DESIGN §2 would remove.
 * `dense` cuts every batch (shorter stalls under floods, at that cost).
 * Pure: no clock, no I/O.
 */

export interface BatchBudgetSettings {
  /** The COMMIT time aimed at, ms; 0 turns the budget off (batches end by time, turns and maxBytes only). */
  readonly targetMs: number;
  /** Never cut below this many journal bytes (a slow disk must not turn every turn into a commit). */
  readonly minBytes: number;
  /** Cut dense batches too; default false. */
  readonly dense?: boolean;
}

export interface BatchBudget {
  /** Smoothed COMMIT ms per page the model says a batch dirtied. */
  readonly msPerPage: number;
  /** Batch COMMITs the estimate has learnt from. */
  readonly samples: number;
}

/** The open batch, or a batch just committed. */
export interface BatchShape {
  /** Journal bytes it holds. */
  readonly bytes: number;
  /** Writes it holds (sequence numbers). */
  readonly writes: number;
  /** Pages in the database file. */
  readonly databasePages: number;
}

export interface OpenBatch extends BatchShape {
  /** How long it has been open, ms. */
  readonly ageMs: number;
  /** How long a batch stays open at most (the journal's commitMs). */
  readonly naturalMs: number;
}

/** Pages a write dirties: the table's page and about two index pages (kv_key, kv_slot; kv_expiry for a key with a TTL). */
export const PAGES_PER_WRITE = 3;

/**
 * The extra page writes a cut may cost, as a share of the batch's natural
 * length: 2.5 % of the event loop by the model, which counts the pages the
 * small indexes share at about half of what they are (so ~5 % in truth).
 */
export const CUT_OVERHEAD_SHARE = 0.025;

/**
 * Before anything was measured: 10 µs a page (one batch of 21,000 pages took
 * 90 ms to write and ~375 ms with SQLite's backstop checkpoint inside it,
 * docs/benchmarks.md); the first measured COMMIT replaces it.
 */
const PRIOR_MS_PER_PAGE = 0.01;

/** Weight of the newest batch in the smoothed cost: a few batches follow a change of machine, one slow commit does not halve the batch. */
const NEW_WEIGHT = 0.3;

/** Batches that dirtied fewer pages than this say little about a page's cost (fixed costs dominate). */
const MIN_MEASURED_PAGES = 64;

export function initialBudget(): BatchBudget {
  return { msPerPage: PRIOR_MS_PER_PAGE, samples: 0 };
}

/** Pages a batch of `writes` random writes dirties in a database of `pages` pages, under the model. */
export function dirtiedPages(writes: number, pages: number): number {
  const p = Math.max(pages, 1);
  return p * -Math.expm1((-PAGES_PER_WRITE * Math.max(writes, 0)) / p);
}

/** What the batch's COMMIT is estimated to take now, ms. */
export function estimatedCommitMs(b: BatchBudget, batch: BatchShape): number {
  return b.msPerPage * dirtiedPages(batch.writes, batch.databasePages);
}

/**
 * What cutting the batch now costs, ms: at its rate so far it would hold N
 * writes by its natural end; cut now, at n, it becomes N/n batches of n, which
 * write (N/n)·D(n) pages where one whole batch writes D(N).
 */
export function cutCostMs(b: BatchBudget, batch: OpenBatch): number {
  const n = Math.max(batch.writes, 1);
  const ahead = Math.max(1, batch.naturalMs / Math.max(batch.ageMs, 1));
  const whole = dirtiedPages(n * ahead, batch.databasePages);
  const cut = ahead * dirtiedPages(n, batch.databasePages);
  return Math.max(0, cut - whole) * b.msPerPage;
}

/** Whether cutting the batch now costs little (see cutCostMs): a sparse batch. */
export function isSparse(b: BatchBudget, batch: OpenBatch): boolean {
  return cutCostMs(b, batch) <= CUT_OVERHEAD_SHARE * batch.naturalMs;
}

/** Whether the open batch should commit now for the budget (the journal's other bounds aside). */
export function budgetCuts(b: BatchBudget, batch: OpenBatch, s: BatchBudgetSettings): boolean {
  if (s.targetMs <= 0 || batch.bytes < s.minBytes) return false;
  if (estimatedCommitMs(b, batch) < s.targetMs) return false;
  return s.dense === true || isSparse(b, batch);
}

/** The budget after a batch committed in `commitMs`. Batches too small to say anything leave it as it is. */
export function afterBatchCommit(b: BatchBudget, batch: BatchShape, commitMs: number, s: BatchBudgetSettings): BatchBudget {
  if (s.targetMs <= 0 || !Number.isFinite(commitMs) || commitMs < 0) return b;
  const pages = dirtiedPages(batch.writes, batch.databasePages);
  if (!(pages >= MIN_MEASURED_PAGES) || !(batch.bytes >= s.minBytes / 4)) return b;
  const sample = commitMs / pages;
  const msPerPage = b.samples === 0 ? sample : b.msPerPage * (1 - NEW_WEIGHT) + sample * NEW_WEIGHT;
  return { msPerPage, samples: b.samples + 1 };
}
