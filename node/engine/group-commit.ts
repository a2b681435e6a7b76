/**
 * Group commit: the first write of an event-loop turn opens one SQLite
 * transaction (BEGIN IMMEDIATE) and schedules, with setImmediate, a commit at
 * the end of the turn. After the commit every afterCommit callback of the
 * turn runs with err=null; barrier() promises settle after them. If a write or
 * the COMMIT fails, the whole turn is rolled back and every callback of the
 * turn gets the error: nothing of a failed turn is ever visible.
 *
 * With a release gate set (replication), a turn's callbacks are handed to
 * the gate once the turn is durable locally, and run when the gate releases
 * them (replica acknowledgements).
 *
 * Hot path: markWrite() is a flag check; callbacks go into a reused array.
 */
import { performance } from 'node:perf_hooks';
import type { CommitScheduler, ReleaseGate, TurnTrace } from './types.js';
import type { Db } from './database.js';
import type Database from 'better-sqlite3';
import type { WalSyncer } from './wal-sync.js';

export interface GroupCommitHooks {
  /** A turn transaction was opened (snapshot whatever a rollback must restore). */
  onBegin(): void;
  /** Last writes inside the transaction, just before COMMIT (persist the sequence). */
  beforeCommit(): void;
  /** COMMIT succeeded. */
  onCommitted(): void;
  /** The turn was rolled back: undo in-memory state (cache, counters). Must not throw. */
  onRolledBack(err: Error): void;
  /** The highest committed sequence (handed to the release gate with each turn). */
  committedSeq(): number;
  onCommit?(seconds: number, writes: number): void;
  onCommitError?(err: Error): void;
}

type Callback = (err: Error | null) => void;

/**
 * How a turn becomes a transaction: by default one SQLite transaction per
 * turn; with the write journal a savepoint inside a batch transaction
 * (journal-transaction.ts).
 */
export interface TurnTransaction {
  begin(): void;
  /** Makes the turn's writes permanent (as far as the syncer's sync covers them). */
  commit(): void;
  /** Undoes the turn; must not throw. */
  rollback(): void;
  /** Set when the store can no longer take turns (restart the node). */
  readonly broken: Error | null;
  /** Commits whatever the store holds across turns (flushNow: shutdown, tests). */
  commitNow?(): void;
}

/** Today's turn: BEGIN IMMEDIATE … COMMIT. */
class SqliteTurn implements TurnTransaction {
  private readonly beginStmt: Database.Statement;
  private readonly commitStmt: Database.Statement;
  private readonly rollbackStmt: Database.Statement;
  readonly broken = null;

  constructor(private readonly db: Db) {
    this.beginStmt = db.prepare('BEGIN IMMEDIATE');
    this.commitStmt = db.prepare('COMMIT');
    this.rollbackStmt = db.prepare('ROLLBACK');
  }

  begin(): void {
    this.beginStmt.run();
  }

  commit(): void {
    this.commitStmt.run();
  }

  rollback(): void {
    // SQLite may already have rolled back on its own (SQLITE_FULL, I/O errors).
    if (!this.db.inTransaction) return;
    try {
      this.rollbackStmt.run();
    } catch {
      /* nothing more to undo */
    }
  }
}

/** Callbacks of one turn waiting for the WAL sync that covers commit `gen`. */
interface SyncWaiter {
  readonly gen: number;
  readonly err: Error | null;
  readonly cbs: Callback[];
  /** The committed sequence right after the turn (for the release gate). */
  readonly seq: number;
  readonly trace: TurnTrace | null;
}

export class GroupCommit implements CommitScheduler {
  private readonly tx: TurnTransaction;
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
  /** Commits known to be on disk (walSync mode). */
  private syncedGen = 0;
  private syncInFlight = false;
  private readonly waiting: SyncWaiter[] = [];
  /** A failed fsync: the data on disk is in doubt, so nothing is acknowledged any more. */
  private syncBroken: Error | null = null;

  /** Why no turn can be acknowledged any more until a restart (CommitScheduler.fatal), or null. */
  get fatal(): Error | null {
    return this.syncBroken ?? this.tx.broken;
  }
  private gate: ReleaseGate | null = null;
  /** The open turn's trace (tracing on and a sampled command in the turn), and the one being shipped in onCommitted. */
  private trace: TurnTrace | null = null;
  private shippingTrace: TurnTrace | null = null;

  /**
   * walSync: when given, COMMIT does not sync (synchronous=NORMAL) and the
   * turn's callbacks run only after an off-thread fdatasync of the WAL that
   * covers the turn — also for turns that only read, so no reply ever shows
   * data that is not yet durable.
   */
  constructor(db: Db, private readonly hooks: GroupCommitHooks, private readonly walSync: WalSyncer | null = null, tx: TurnTransaction | null = null) {
    this.tx = tx ?? new SqliteTurn(db);
  }

  /**
   * Replies of later turns are handed to `gate` instead of running at once
   * (null: run them as soon as the turn is durable). Turns already handed
   * over stay with the gate that holds them.
   */
  setReleaseGate(gate: ReleaseGate | null): void {
    this.gate = gate;
  }

  get pending(): boolean {
    return this.open;
  }

  get turnTrace(): TurnTrace | null {
    return this.trace;
  }

  set turnTrace(t: TurnTrace | null) {
    this.trace = t;
    if (t !== null && this.scheduled === null) this.scheduled = setImmediate(this.flushBound);
  }

  get committingTrace(): TurnTrace | null {
    return this.shippingTrace;
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
    if (this.syncBroken !== null) throw this.syncBroken;
    if (this.failed !== null) throw this.failed;
    if (this.tx.broken !== null) throw this.tx.broken;
    if (!this.open) {
      this.tx.begin();
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
    // Both must run; the first error surfaces.
    let first: unknown = undefined;
    try {
      this.flush();
      // A broken store has nothing left to commit (its batch is gone; recovery at the next start replays it).
      if (this.tx.broken === null) this.tx.commitNow?.();
    } catch (e) {
      first = e;
    }
    try {
      this.drainSync();
    } catch (e) {
      first ??= e;
    }
    if (first !== undefined) throw first;
  }

  private flush(): void {
    this.scheduled = null;
    // A lost journal batch: no reply (not even a read's) may show the older data SQLite kept.
    let err = this.syncBroken ?? this.failed ?? this.tx.broken;
    const writes = this.writes;
    const wrote = this.open;
    const trace = this.trace;
    this.trace = null;
    let seconds = -1;
    if (this.open) {
      try {
        this.hooks.beforeCommit();
        trace?.committing(writes);
        const t0 = performance.now();
        this.tx.commit();
        seconds = (performance.now() - t0) / 1000;
      } catch (e) {
        err = asError(e);
        this.rollbackQuietly();
        this.hooks.onRolledBack(err);
      }
      this.open = false;
      if (err === null) {
        this.commits++;
        if (trace !== null && this.gate !== null) {
          // The replica sessions ship the turn from onCommitted and read its trace there.
          trace.shipping();
          this.shippingTrace = trace;
        }
        try {
          this.hooks.onCommitted();
        } finally {
          this.shippingTrace = null;
        }
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
    if (this.walSync !== null && (this.commits > this.syncedGen || this.waiting.length > 0)) {
      // Not durable yet (or an earlier turn still waits: keep turn order).
      const cbs = this.callbacks;
      this.callbacks = [];
      if (cbs.length > 0 || trace !== null) this.waiting.push({ gen: this.commits, err, cbs, seq: this.hooks.committedSeq(), trace });
      this.startSync();
      if (thrown !== undefined) throw thrown;
      return;
    }
    // A turn that wrote nothing (every read at -P 1) skips a gate that would release it at once anyway:
    // no closure, no array, no ack-wait observation per turn. Turns held ahead keep it in order.
    const gate = this.gate;
    if (gate !== null && (wrote || err !== null || trace !== null || gate.releasesAt?.(this.hooks.committedSeq()) !== true)) {
      // The gate owns the array from here on (never the reused spare).
      const cbs = this.callbacks;
      trace?.durable(err);
      if (cbs.length > 0 || trace !== null) {
        this.callbacks = [];
        try {
          this.hold(this.hooks.committedSeq(), err, cbs, trace);
        } catch (e) {
          thrown ??= e;
        }
      }
      if (thrown !== undefined) throw thrown;
      return;
    }
    trace?.durable(err);
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
    trace?.released(err);
    // Every callback ran; a throwing one is a bug in the caller and must surface.
    if (thrown !== undefined) throw thrown;
  }

  /** One fdatasync at a time; each covers every commit made before it started. */
  private startSync(): void {
    if (this.syncInFlight || this.walSync === null) return;
    if (this.syncBroken !== null) {
      this.release(this.syncBroken);
      return;
    }
    if (this.commits <= this.syncedGen) {
      this.release(null);
      return;
    }
    const target = this.commits;
    this.syncInFlight = true;
    this.walSync.sync((err) => {
      this.syncInFlight = false;
      if (err !== null) {
        this.syncBroken = new Error(`fsync of the write-ahead log failed (${err.message}); acknowledged nothing since the last good sync: restart the node`);
        this.hooks.onCommitError?.(this.syncBroken);
        this.release(this.syncBroken);
        return;
      }
      this.syncedGen = target;
      this.release(null);
      if (this.waiting.length > 0) this.startSync();
    });
  }

  /** Runs, in order, the waiting turns that are durable now (all of them, with the error, if the sync failed). */
  private release(syncErr: Error | null): void {
    let thrown: unknown = undefined;
    while (this.waiting.length > 0 && (syncErr !== null || this.waiting[0]!.gen <= this.syncedGen)) {
      const w = this.waiting.shift()!;
      const err = w.err ?? syncErr;
      w.trace?.durable(err);
      if (this.gate !== null) {
        try {
          this.hold(w.seq, err, w.cbs, w.trace);
        } catch (e) {
          thrown ??= e;
        }
        continue;
      }
      for (const cb of w.cbs) {
        try {
          cb(err);
        } catch (e) {
          thrown ??= e;
        }
      }
      w.trace?.released(err);
    }
    if (thrown !== undefined) throw thrown;
  }

  /**
   * Hands one durable turn's callbacks to the gate. release runs them once
   * (every callback, then the first one's throw surfaces to the releaser). If
   * hold() itself throws, the turn is released with that error at once so
   * its clients are not left waiting forever.
   */
  private hold(seq: number, err: Error | null, cbs: Callback[], trace: TurnTrace | null): void {
    let released = false;
    const release = (e: Error | null): void => {
      if (released) return;
      released = true;
      let thrown: unknown = undefined;
      for (let i = 0; i < cbs.length; i++) {
        try {
          cbs[i]!(e);
        } catch (x) {
          thrown ??= x;
        }
      }
      trace?.released(e);
      if (thrown !== undefined) throw thrown;
    };
    try {
      this.gate!.hold(seq, err, release);
    } catch (e) {
      release(asError(e));
      throw e;
    }
  }

  /** Shutdown: sync now, on this thread, and release every waiting turn. */
  drainSync(): void {
    if (this.walSync === null) return;
    if (this.commits > this.syncedGen && this.syncBroken === null) {
      try {
        this.walSync.syncNow();
        this.syncedGen = this.commits;
      } catch (e) {
        this.syncBroken = asError(e);
      }
    }
    this.release(this.syncBroken);
  }

  private rollbackQuietly(): void {
    this.tx.rollback();
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
