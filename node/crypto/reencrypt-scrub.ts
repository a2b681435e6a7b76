/**
 * The last step of a re-encryption: old plaintext out of the node's files.
 * Rewriting a row re-seals it, but the bytes it had before (and those of
 * rows deleted or overwritten while the node ran without a keyring) can
 * stay in the database file's free space and in the WAL. secure_delete
 * (set on the engine's connection whenever a keyring is configured) zeroes
 * what is freed from then on; what was freed before is only gone once every
 * page is rebuilt: VACUUM, then a TRUNCATE checkpoint so the WAL (which
 * held the old frames) is emptied too.
 *
 * VACUUM runs on the engine's connection between two group-commit turns
 * (a second connection would hold the write lock just as long, and the
 * engine's next write would block the event loop waiting for it), so it
 * pauses the node for its duration: it is done only for databases up to
 * --reencrypt-vacuum-max-bytes. A larger one gets its free pages handed back
 * (incremental_vacuum) and the status says old plaintext may remain.
 */
import { performance } from 'node:perf_hooks';
import type { Db } from '../engine/database.js';
import type { ScrubPhase } from '../../common/encryption-admin.js';

export interface ScrubDeps {
  readonly db: Db;
  /** Resolves once the open group-commit turn (if any) has committed. */
  barrier(): Promise<void>;
  /** Commits what the write journal holds (--write-journal), so no batch transaction stays open. */
  commitNow(): void;
  /** Databases up to this many bytes are VACUUMed (0: never). */
  readonly vacuumMaxBytes: number;
  /** True once the node is shutting down: the scrub stops waiting and starts nothing more. */
  stopped(): boolean;
  /** The step under way, for the status (null: none). */
  onPhase?(phase: ScrubPhase | null): void;
}

export interface ScrubResult {
  /** VACUUM ran: no free space of before remains. */
  readonly vacuumed: boolean;
  /** Milliseconds the event loop was held: the VACUUM (or the longest incremental_vacuum step) plus the TRUNCATE checkpoint. */
  readonly pauseMs: number;
  readonly vacuumMs: number;
  readonly checkpointMs: number;
  readonly dbBytes: number;
  /** The WAL was checkpointed and truncated to zero bytes. */
  readonly walTruncated: boolean;
}

/** Turns to wait for a moment with no open transaction (clients write constantly), and for readers to let the WAL go. */
const MAX_WAITS = 200;
const WAL_RETRY_MS = 50;
/** Free pages handed back per turn when the database is too large to VACUUM (as the engine's reclaimPages, node/engine/open.ts). */
const RECLAIM_STEP_PAGES = 128;
/** SQLite's refusals that a moment later may not repeat: a statement still stepped (a snapshot sender), a transaction opened in between. */
const RETRYABLE = /statements in progress|cannot VACUUM from within a transaction/i;

export class ScrubError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScrubError';
  }
}

/** null: the node is shutting down (the job resumes at the next start). */
export async function scrubOldPlaintext(deps: ScrubDeps): Promise<ScrubResult | null> {
  const { db } = deps;
  try {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const dbBytes = (db.pragma('page_count', { simple: true }) as number) * pageSize;
    const vacuum = deps.vacuumMaxBytes > 0 && dbBytes <= deps.vacuumMaxBytes;
    deps.onPhase?.(vacuum ? 'vacuum' : 'reclaim');
    // One full event-loop turn (its I/O included) before the pause: a status request already sent sees the phase.
    await new Promise((resolve) => setImmediate(resolve));
    const vacuumMs = vacuum ? await runBetweenTurns(deps, 'VACUUM') : await reclaimInSteps(deps);
    if (vacuumMs === null) return null;
    deps.onPhase?.('checkpoint');
    const wal = await truncateWal(deps);
    if (wal === null) return null;
    return { vacuumed: vacuum, pauseMs: vacuumMs + wal.ms, vacuumMs, checkpointMs: wal.ms, dbBytes, walTruncated: wal.truncated };
  } finally {
    deps.onPhase?.(null);
  }
}

/**
 * Runs `sql` at a moment with no open transaction, checked in the same
 * synchronous block (a microtask may open one between a wait and the
 * exec); SQLite refuses a VACUUM while a statement of the connection is
 * still being stepped (a snapshot sender's iterator): tried again a moment
 * later, a bounded number of times. Returns how long it held the event
 * loop, or null when stopped.
 */
async function runBetweenTurns(deps: ScrubDeps, sql: string): Promise<number | null> {
  for (let i = 0; ; i++) {
    if (!(await betweenTurns(deps))) return null;
    if (!deps.db.inTransaction) {
      const t0 = performance.now();
      try {
        // exec() steps the statement to completion (a prepared run() of incremental_vacuum frees one page only).
        deps.db.exec(sql);
        return performance.now() - t0;
      } catch (err) {
        if (!RETRYABLE.test((err as Error).message)) throw err;
      }
    }
    if (i >= MAX_WAITS) throw new ScrubError(`${sql}: no moment without an open transaction or statement after ${MAX_WAITS} attempts`);
    await new Promise((resolve) => setTimeout(resolve, WAL_RETRY_MS));
  }
}

/** A database over the VACUUM limit: its free pages handed back RECLAIM_STEP_PAGES at a time, a turn between steps. Returns the longest step. */
async function reclaimInSteps(deps: ScrubDeps): Promise<number | null> {
  const free = deps.db.pragma('freelist_count', { simple: true }) as number;
  let longest = 0;
  // Bounded: pages freed meanwhile by clients are the engine's own reclaim's business.
  for (let step = 0; step <= Math.ceil(free / RECLAIM_STEP_PAGES); step++) {
    if ((deps.db.pragma('freelist_count', { simple: true }) as number) === 0) break;
    const ms = await runBetweenTurns(deps, `PRAGMA incremental_vacuum(${RECLAIM_STEP_PAGES})`);
    if (ms === null) return null;
    longest = Math.max(longest, ms);
  }
  return longest;
}

/** Resolves (true) at a moment when the engine's connection has no open transaction; false when stopped. */
async function betweenTurns(deps: ScrubDeps): Promise<boolean> {
  for (let i = 0; i < MAX_WAITS; i++) {
    if (deps.stopped()) return false;
    await deps.barrier();
    if (deps.stopped()) return false;
    deps.commitNow();
    if (!deps.db.inTransaction) return true;
  }
  throw new ScrubError(`no moment without an open transaction after ${MAX_WAITS} group-commit turns`);
}

/**
 * wal_checkpoint(TRUNCATE) between two commit turns (with --write-journal a
 * batch transaction is open most of the time: committed first), without
 * SQLite's busy wait (which would block the event loop) since it waits for
 * readers (a backup snapshot, the checkpoint worker): tried again a moment
 * later, a bounded number of times. Right after a VACUUM it copies the
 * whole rebuilt database from the WAL on the event loop: measured, and
 * counted in the pause. null when stopped.
 */
async function truncateWal(deps: ScrubDeps): Promise<{ truncated: boolean; ms: number } | null> {
  const { db } = deps;
  const busyMs = db.pragma('busy_timeout', { simple: true }) as number;
  let ms = 0;
  for (let i = 0; i < MAX_WAITS; i++) {
    if (!(await betweenTurns(deps))) return null;
    let busy = 1;
    if (!db.inTransaction) {
      const t0 = performance.now();
      db.pragma('busy_timeout = 0');
      try {
        busy = (db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]?.busy ?? 1;
      } catch {
        busy = 1;
      } finally {
        db.pragma(`busy_timeout = ${busyMs}`);
        ms += performance.now() - t0;
      }
    }
    if (busy === 0) return { truncated: true, ms };
    await new Promise((resolve) => setTimeout(resolve, WAL_RETRY_MS));
  }
  return { truncated: false, ms };
}
