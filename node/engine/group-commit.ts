/**
 * Group commit: the first write of an event-loop turn opens one SQLite
 * transaction (BEGIN IMMEDIATE) and schedules, with setImmediate, a commit at
 * the end of the turn. After the commit every afterCommit callback of the
 * turn runs with err=null; barrier() promises settle after them. If a write or
 * the COMMIT fails, the whole turn is rolled back and every callback of the
 * turn gets the error: nothing of a failed turn is ever visible.
 *
 * Hot path: markWrite() is a flag check; callbacks go into a reused array.
 */
import { performance } from 'node:perf_hooks';
import type { CommitScheduler } from './types.js';
import type { Db } from './database.js';
import type Database from 'better-sqlite3';

export interface GroupCommitHooks {
  /** A turn transaction was opened (snapshot whatever a rollback must restore). */
  onBegin(): void;
  /** Last writes inside the transaction, just before COMMIT (persist the sequence). */
  beforeCommit(): void;
  /** COMMIT succeeded. */
  onCommitted(): void;
  /** The turn was rolled back: undo in-memory state (cache, counters). */
  onRolledBack(err: Error): void;
  onCommit?(seconds: number, writes: number): void;
  onCommitError?(err: Error): void;
}

type Callback = (err: Error | null) => void;

export class GroupCommit implements CommitScheduler {
  private readonly beginStmt: Database.Statement;
  private readonly commitStmt: Database.Statement;
  private readonly rollbackStmt: Database.Statement;
  private open = false;
  /** Writes in the open turn (the keyspace counts the ones that changed something). */
  writes = 0;
  private failed: Error | null = null;
  private scheduled: NodeJS.Immediate | null = null;
  private callbacks: Callback[] = [];
  private spare: Callback[] = [];
  private readonly flushBound = (): void => this.flush();
  /** Successful commits since open. */
  commits = 0;

  constructor(private readonly db: Db, private readonly hooks: GroupCommitHooks) {
    this.beginStmt = db.prepare('BEGIN IMMEDIATE');
    this.commitStmt = db.prepare('COMMIT');
    this.rollbackStmt = db.prepare('ROLLBACK');
  }

  get pending(): boolean {
    return this.open;
  }

  /** The error that poisoned the current turn, if any. */
  get turnError(): Error | null {
    return this.failed;
  }

  /**
   * Called before every write: opens the turn transaction if needed. Throws
   * the turn's error if an earlier write of this turn failed (the turn is
   * already rolled back; later writes must not commit without the earlier ones).
   */
  markWrite(): void {
    if (this.failed !== null) throw this.failed;
    if (!this.open) {
      this.beginStmt.run();
      this.open = true;
      this.hooks.onBegin();
      if (this.scheduled === null) this.scheduled = setImmediate(this.flushBound);
    }
  }

  /** A write statement failed: roll back the whole turn and remember why. */
  fail(err: unknown): void {
    const e = asError(err);
    if (this.failed !== null) return;
    this.failed = e;
    this.rollbackQuietly();
    this.open = false;
    this.hooks.onRolledBack(e);
    if (this.scheduled === null) this.scheduled = setImmediate(this.flushBound);
  }

  afterCommit(cb: Callback): void {
    this.callbacks.push(cb);
    if (this.scheduled === null) this.scheduled = setImmediate(this.flushBound);
  }

  barrier(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.afterCommit((err) => (err === null ? resolve() : reject(err)));
    });
  }

  flushNow(): void {
    if (this.scheduled !== null) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
    this.flush();
  }

  private flush(): void {
    this.scheduled = null;
    let err = this.failed;
    const writes = this.writes;
    let seconds = -1;
    if (this.open) {
      try {
        this.hooks.beforeCommit();
        const t0 = performance.now();
        this.commitStmt.run();
        seconds = (performance.now() - t0) / 1000;
      } catch (e) {
        err = asError(e);
        this.rollbackQuietly();
        this.hooks.onRolledBack(err);
      }
      this.open = false;
      if (err === null) {
        this.commits++;
        this.hooks.onCommitted();
      }
    }
    this.failed = null;
    this.writes = 0;
    // A throwing hook (metrics, logging) must not keep the turn's replies from being sent.
    let thrown: unknown = undefined;
    try {
      if (err === null) {
        if (seconds >= 0) this.hooks.onCommit?.(seconds, writes);
      } else {
        this.hooks.onCommitError?.(err);
      }
    } catch (e) {
      thrown = e;
    }
    // Swap before running: a callback may write or register callbacks for the next turn.
    const cbs = this.callbacks;
    this.callbacks = this.spare;
    this.spare = cbs;
    for (let i = 0; i < cbs.length; i++) {
      try {
        cbs[i]!(err);
      } catch (e) {
        thrown ??= e;
      }
    }
    cbs.length = 0;
    // Every callback ran; a throwing one is a bug in the caller and must surface.
    if (thrown !== undefined) throw thrown;
  }

  private rollbackQuietly(): void {
    // SQLite may already have rolled back on its own (SQLITE_FULL, I/O errors).
    if (!this.db.inTransaction) return;
    try {
      this.rollbackStmt.run();
    } catch {
      /* nothing more to undo */
    }
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
