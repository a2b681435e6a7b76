/**
 * The bulk import's apply (PUT /v1/kv:import, issue #19) in time slices:
 * the rows of every import request that arrive in one event-loop turn share
 * one budget (--import-slice-ms); past it, a request stops, lets that turn
 * commit, and goes on in a later turn, after the node has read its sockets
 * (heartbeats, other clients). So an import of many rows at once never
 * becomes one long turn in which a loaded primary misses the heartbeats
 * that keep it primary — the reason `irisctl import --batch` was capped.
 *
 * Each slice is its own group-commit turn (durable and replicated like any
 * turn); the request is answered only after the last slice's turn and every
 * earlier one are durable and acknowledged by minSyncReplicas replicas. A
 * failure may leave earlier slices applied: the reply says the request
 * failed, and the importer writes those rows again (SET is idempotent).
 */
import { performance } from 'node:perf_hooks';
import type { StoredRow } from '../engine/types.js';
import { applyWrite, awaitWriteCommit } from './commit.js';

/** What the apply needs of the keyspace and its group commit. */
export interface ImportTarget {
  set(key: Buffer, value: Buffer, expiresAt: number | null): number;
  barrier(): Promise<void>;
  /**
   * Throws (an HttpError) unless this node still serves every slot of the
   * request as their primary: called in the turn of every slice after the
   * first, before its rows, since a migration's fence and flip or a
   * failover may have happened while the request waited for its turn.
   */
  checkServed(): void;
  /** The wall clock rows' TTLs count from (each slice's own, so a TTL counts from when its row is applied). */
  now(): number;
}

/** Rows applied between two looks at the clock (a look costs more than a row's bookkeeping). */
const ROWS_PER_CLOCK_CHECK = 16;

/**
 * The time one turn may spend applying import rows, shared by every
 * import request of the turn. One per route table (not module-global).
 */
export class ImportTurnBudget {
  private endsAt = 0;

  constructor(
    private readonly sliceMs: number,
    private readonly clock: () => number = () => performance.now(),
    private readonly nextTurn: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {}

  /** The turn's deadline (set by the first caller of the turn). */
  deadline(): number {
    if (this.endsAt === 0) {
      this.endsAt = this.clock() + this.sliceMs;
      this.nextTurn(() => {
        this.endsAt = 0;
      });
    }
    return this.endsAt;
  }

  spent(): boolean {
    return this.clock() >= this.deadline();
  }

  now(): number {
    return this.clock();
  }
}

export interface SlicedApplyResult {
  /** Turns the rows were applied in. */
  readonly slices: number;
}

/**
 * Applies `rows` (expiresAt: a TTL in ms relative to when the row is
 * applied, or null) in slices of the turn budget, each slice committed in
 * its own turn, and resolves once all are durable and acknowledged
 * (HttpError 500/503 else). The caller checked the slots in its turn;
 * every slice that runs in a later turn checks them again in its own, and
 * none starts after an earlier slice's commit failed.
 */
export async function applyImportSliced(rows: readonly StoredRow[], target: ImportTarget, budget: ImportTurnBudget): Promise<SlicedApplyResult> {
  const commits: Array<Promise<void>> = [];
  let failed: unknown = null;
  let i = 0;
  while (i < rows.length) {
    if (commits.length > 0 || budget.spent()) {
      await nextTurn();
      if (failed !== null) break;
      // Another turn: slots may have moved or the role changed since the caller's check.
      target.checkServed();
    }
    const deadline = budget.deadline();
    const at = target.now();
    i = applyWrite(() => applySlice(rows, i, at, target, budget, deadline), 'the import batch', { rows: rows.length, applied: i });
    const committed = target.barrier();
    // Awaited in order below; an early failure stops the slices and must not be an unhandled rejection meanwhile.
    committed.catch((err: unknown) => {
      failed ??= err;
    });
    commits.push(committed);
  }
  for (const c of commits) await awaitWriteCommit({ barrier: () => c });
  return { slices: commits.length };
}

/** Applies rows from `from` until the budget's deadline passes (at least one row); returns the next row's index. */
function applySlice(rows: readonly StoredRow[], from: number, at: number, target: ImportTarget, budget: ImportTurnBudget, deadline: number): number {
  let i = from;
  while (i < rows.length) {
    const r = rows[i]!;
    target.set(r.key, r.value, r.expiresAt === null ? null : at + r.expiresAt);
    i++;
    if ((i - from) % ROWS_PER_CLOCK_CHECK === 0 && budget.now() >= deadline) break;
  }
  return i;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
