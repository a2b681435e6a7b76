/**
 * Waiting for group commit from request handlers. A write is acknowledged
 * only after its commit; a read waits for pending commits so it never returns
 * a value that a failed commit is about to roll back.
 */
import type { CommitScheduler } from '../engine/types.js';
import { HttpError } from './errors.js';

export async function awaitWriteCommit(commits: CommitScheduler): Promise<void> {
  try {
    await commits.barrier();
  } catch (err) {
    throw new HttpError(503, 'write_failed', `the write was not applied: commit failed (${(err as Error).message}); it is safe to retry`);
  }
}

/** Only waits when this turn has uncommitted writes (the common read path stays synchronous). */
export async function awaitReadCommit(commits: CommitScheduler): Promise<void> {
  if (!commits.pending) return;
  try {
    await commits.barrier();
  } catch (err) {
    throw new HttpError(503, 'write_failed', `a concurrent commit failed (${(err as Error).message}); retry the read`);
  }
}

/**
 * Runs the synchronous part of a write. A storage error there (SQLite
 * refused the statement) has already rolled the write back, so the client
 * is told it was not applied rather than getting a bare 500.
 */
export function applyWrite<T>(fn: () => T, what = 'the write', details?: Record<string, unknown>): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // Logged by the app's error handler, as every 5xx is.
    throw new HttpError(500, 'write_failed', `${what} was not applied: ${(err as Error).message}`, details);
  }
}
