/**
 * Waiting for group commit from request handlers. A write is acknowledged
 * only after its commit; a read waits for pending commits so it never returns
 * a value that a failed commit is about to roll back.
 */
import type { CommitScheduler } from '../engine/types.js';
import { HttpError } from './errors.js';

export async function awaitWriteCommit(commits: Pick<CommitScheduler, 'barrier'>): Promise<void> {
  try {
    await commits.barrier();
  } catch (err) {
    if (isReplicationError(err)) {
      throw new HttpError(503, 'replication_timeout', `${err.message}: the write was applied on the primary but not acknowledged by enough replicas`);
    }
    throw new HttpError(503, 'write_failed', `the write was not applied: commit failed (${(err as Error).message}); it is safe to retry`);
  }
}

/**
 * A read's reply waits behind every earlier turn's: until their writes are
 * durable (fsync) and, on a primary, acknowledged by its replicas. A read
 * must never return a value its writer has not been told about, which a
 * crash or a failover could still take back.
 */
export async function awaitReadCommit(commits: CommitScheduler): Promise<void> {
  try {
    await commits.barrier();
  } catch (err) {
    if (isReplicationError(err)) throw new HttpError(503, 'replication_timeout', `${err.message}; retry the read`);
    throw new HttpError(503, 'write_failed', `a concurrent commit failed (${(err as Error).message}); retry the read`);
  }
}

/** Replication errors (ack timeout, step-down) carry the RESP line they map to. */
function isReplicationError(err: unknown): err is Error & { respMessage: string } {
  return err instanceof Error && typeof (err as { respMessage?: unknown }).respMessage === 'string';
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
