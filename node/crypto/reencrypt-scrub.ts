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

export interface ScrubDeps {
  readonly db: Db;
  /** Resolves once the open group-commit turn (if any) has committed. */
  barrier(): Promise<void>;
  /** Commits what the write journal holds (--write-journal), so no batch transaction stays open. */
  commitNow(): void;
  /** Databases up to this many bytes are VACUUMed (0: never). */
  readonly vacuumMaxBytes: number;
}

export interface ScrubResult {
  /** VACUUM ran: no free space of before remains. */
  readonly vacuumed: boolean;
  /** Milliseconds the VACUUM (or incremental_vacuum) held the event loop. */
  readonly pauseMs: number;
  readonly dbBytes: number;
  /** The WAL was checkpointed and truncated to zero bytes. */
  readonly walTruncated: boolean;
}

/** Turns to wait for a moment with no open transaction (clients write constantly), and for readers to let the WAL go. */
const MAX_WAITS = 200;
const WAL_RETRY_MS = 50;

export class ScrubError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScrubError';
  }
}

export async function scrubOldPlaintext(deps: ScrubDeps): Promise<ScrubResult> {
  const { db } = deps;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const dbBytes = (db.pragma('page_count', { simple: true }) as number) * pageSize;
  const vacuum = deps.vacuumMaxBytes > 0 && dbBytes <= deps.vacuumMaxBytes;
  const pauseMs = await vacuumBetweenTurns(deps, vacuum ? 'VACUUM' : 'PRAGMA incremental_vacuum');
  return { vacuumed: vacuum, pauseMs, dbBytes, walTruncated: await truncateWal(db) };
}

/**
 * Runs `sql` at a moment with no open transaction; SQLite refuses a VACUUM
 * while a statement of the connection is still being stepped (a snapshot
 * sender's iterator): tried again a moment later, a bounded number of times.
 */
async function vacuumBetweenTurns(deps: ScrubDeps, sql: string): Promise<number> {
  for (let i = 0; ; i++) {
    await betweenTurns(deps);
    const t0 = performance.now();
    try {
      // exec() steps the pragma to completion (a prepared run() frees one page only).
      deps.db.exec(sql);
      return performance.now() - t0;
    } catch (err) {
      if (!/statements in progress/i.test((err as Error).message) || i >= MAX_WAITS) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, WAL_RETRY_MS));
  }
}

/** Resolves at a moment (synchronously usable) when the engine's connection has no open transaction. */
async function betweenTurns(deps: ScrubDeps): Promise<void> {
  for (let i = 0; i < MAX_WAITS; i++) {
    await deps.barrier();
    deps.commitNow();
    if (!deps.db.inTransaction) return;
  }
  throw new ScrubError(`no moment without an open transaction after ${MAX_WAITS} group-commit turns`);
}

/**
 * wal_checkpoint(TRUNCATE) waits for readers (a backup snapshot, the
 * checkpoint worker): tried without SQLite's busy wait (which would block
 * the event loop), again a moment later, a bounded number of times.
 */
async function truncateWal(db: Db): Promise<boolean> {
  const busyMs = db.pragma('busy_timeout', { simple: true }) as number;
  for (let i = 0; i < MAX_WAITS; i++) {
    let busy = 1;
    db.pragma('busy_timeout = 0');
    try {
      if (!db.inTransaction) busy = (db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]?.busy ?? 1;
    } catch {
      busy = 1;
    } finally {
      db.pragma(`busy_timeout = ${busyMs}`);
    }
    if (busy === 0) return true;
    await new Promise((resolve) => setTimeout(resolve, WAL_RETRY_MS));
  }
  return false;
}
