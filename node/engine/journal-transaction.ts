/**
 * The write journal's turns (--write-journal yes; docs/architecture.md,
 * "Write journal"). One SQLite transaction stays open across event-loop
 * turns. A successful turn's mutations are appended to the journal, whose
 * fdatasync (the group commit's syncer) makes the turn durable. A turn is
 * not a SAVEPOINT: a savepoint copies every page a turn first changes into
 * SQLite's statement journal, ~21 % of a pipelined SET's main-thread time
 * (docs/benchmarks.md, "CPU per request"). A failed turn instead rolls the
 * whole batch back, and the batch's earlier turns, which the journal holds
 * from its first record past the batch's start, are applied again (rows
 * only: counters, logs and listeners already hold them), so the failed turn
 * leaves nothing and the others stay. The batch transaction
 * commits without a sync every commitMs, past maxTurns/maxBytes, once a
 * sparse batch's COMMIT is estimated to take commitTargetMs
 * (journal-batch-budget.ts), and at once
 * when another connection must see the data (commitNow). After a batch
 * commit, once an fdatasync of SQLite's WAL covers it, journal segments
 * wholly inside it are deleted.
 *
 * A turn the journal cannot express commits the batch directly: with the
 * next journal generation named in meta, an fdatasync of the WAL on this
 * thread, then the older generation's segments deleted.
 */
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import type { Db } from './database.js';
import type { TurnTransaction } from './group-commit.js';
import { encodeRecord } from './journal-codec.js';
import type { JournalWriter } from './journal-files.js';
import type { TurnRecorder } from './journal-turns.js';
import type { Mutation } from './types.js';
import type { WalSyncer } from './wal-sync.js';
import { afterBatchCommit, budgetCuts, initialBudget, type BatchBudget, type BatchBudgetSettings } from './journal-batch-budget.js';

export interface JournalBatchSettings {
  /** Longest time the batch transaction stays open. */
  readonly commitMs: number;
  /** Turns per batch at most. */
  readonly maxTurns: number;
  /** Journal bytes per batch at most. */
  readonly maxBytes: number;
  /** A sparse batch also commits once its COMMIT is estimated to take this long, ms (journal-batch-budget.ts; 0: off). */
  readonly commitTargetMs?: number;
  /** Dense batches too (a write flood: shorter stalls, more pages rewritten per write). */
  readonly commitTargetDense?: boolean;
  /** The budget never makes a batch smaller than this many journal bytes. */
  readonly minBytes?: number;
}

/** Default floor of the batch budget: about 450 SETs of 100 bytes. */
export const DEFAULT_JOURNAL_MIN_BATCH_BYTES = 64 * 1024;

/** What a batch replay writes through: rows only, then the position (apply-path.ts). */
export interface BatchReplayTarget {
  replayRows(m: Mutation, seq: number): void;
  replayEnded(lastSeq: number): void;
}

export interface JournalTransactionDeps {
  readonly db: Db;
  readonly writer: JournalWriter;
  readonly recorder: TurnRecorder;
  /** fdatasync of SQLite's WAL (trimming waits for it). */
  readonly walSync: WalSyncer;
  readonly settings: JournalBatchSettings;
  /** The sequence the database holds once the open batch commits. */
  headSeq(): number;
  /** Inside the batch transaction: names the journal generation recovery reads. */
  setGeneration(gen: number): void;
  /**
   * After a failed turn rolled the batch back, inside the new batch: applies
   * again the journal's records past `fromSeq` (the batch's earlier turns).
   * Throws if they cannot be (the node then refuses everything until restarted).
   */
  replayBatch(fromSeq: number): void;
  /** After each batch COMMIT (with its WAL sync): how long it held the event loop, and how many turns it committed. */
  onBatchCommit?(seconds: number, turns: number): void;
  onError(err: Error): void;
}

export class JournalTransaction implements TurnTransaction {
  private readonly beginStmt: Database.Statement;
  private readonly commitStmt: Database.Statement;
  private readonly rollbackStmt: Database.Statement;
  private outer = false;
  /** The sequence the database held when the open batch began: its turns' records are the journal's past it. */
  private batchStartSeq = 0;
  private batchStartMs = 0;
  /** Pages in the database file, read after each batch COMMIT (the budget's cost model). */
  private databasePages = 0;
  private readonly pageCountStmt: Database.Statement;
  private turn = false;
  private turns = 0;
  private bytes = 0;
  private due = false;
  private timer: NodeJS.Timeout | null = null;
  private trimSyncing = false;
  private cutScheduled = false;
  private closed = false;
  broken: Error | null = null;
  batchCommits = 0;
  /** Batches rolled back for a failed turn and applied again from the journal. */
  replays = 0;
  private readonly budgetSettings: BatchBudgetSettings;
  private budget: BatchBudget;

  constructor(private readonly d: JournalTransactionDeps) {
    const s = d.settings;
    this.budgetSettings = {
      targetMs: s.commitTargetMs ?? 0, minBytes: Math.min(s.minBytes ?? DEFAULT_JOURNAL_MIN_BATCH_BYTES, s.maxBytes), dense: s.commitTargetDense ?? false,
    };
    this.budget = initialBudget();
    const db = d.db;
    this.beginStmt = db.prepare('BEGIN IMMEDIATE');
    this.commitStmt = db.prepare('COMMIT');
    this.rollbackStmt = db.prepare('ROLLBACK');
    this.pageCountStmt = db.prepare('PRAGMA page_count').pluck();
    // Only the budget's model reads it: no query at start with the budget off.
    if (this.budgetSettings.targetMs > 0) this.databasePages = this.readPageCount();
  }

  /** True while the batch transaction holds turns SQLite has not committed. */
  get batchOpen(): boolean {
    return this.outer;
  }

  begin(): void {
    if (this.broken !== null) throw this.broken;
    // A batch due to end ends before this turn's first write: if its COMMIT fails, it is this write that
    // fails (it never happened), never an earlier turn whose records the journal already holds.
    if (this.outer && this.due) this.commitBatch();
    if (!this.outer) {
      this.beginStmt.run();
      this.outer = true;
      this.batchStartSeq = this.d.headSeq();
      this.batchStartMs = performance.now();
      this.timer = setTimeout(() => this.onTimer(), this.d.settings.commitMs);
      this.timer.unref();
    }
    this.turn = true;
  }

  commit(): void {
    this.turn = false;
    const rec = this.d.recorder;
    if (rec.unjournaled) {
      const sync = rec.unjournaledNeedsSync;
      rec.discard();
      this.commitDirect(sync);
      return;
    }
    const records = rec.take();
    if (records.length > 0) {
      const bytes = records.length === 1 ? encodeRecord(records[0]!) : Buffer.concat(records.map(encodeRecord));
      try {
        this.d.writer.append(bytes, records[records.length - 1]!.lastSeq);
      } catch (e) {
        // The turn is in the batch but not in the journal: make SQLite hold it durably instead.
        this.d.onError(asError(e));
        this.commitDirect();
        return;
      }
      this.turns++;
      this.bytes += bytes.length;
    }
    const s = this.d.settings;
    // Not here: this turn's records are in the journal, so a failed COMMIT now would report as failed
    // a write that recovery replays. The batch ends before the next turn's first write, or on the next tick.
    if (this.due || this.turns >= s.maxTurns || this.bytes >= s.maxBytes || this.budgetDue()) this.cutSoon();
  }

  rollback(): void {
    this.d.recorder.discard();
    const wasTurn = this.turn;
    this.turn = false;
    if (wasTurn && this.d.db.inTransaction) {
      try {
        this.rollbackStmt.run();
        // The batch goes on (same timer, turns and bytes) with its earlier turns applied again.
        this.beginStmt.run();
        this.d.replayBatch(this.batchStartSeq);
        this.replays++;
        return;
      } catch (e) {
        this.breakWith(asError(e));
      }
    }
    // SQLite undid the whole batch on its own (I/O error, disk full), or a batch COMMIT failed:
    // the acknowledged turns in it are in the journal only, and recovery at the next start replays them.
    if (this.d.db.inTransaction) {
      try {
        this.rollbackStmt.run();
      } catch {
        /* nothing more to undo */
      }
    }
    if (this.outer) this.breakWith(new Error('the batch transaction was lost; restart the node to recover the acknowledged writes from the write journal'));
    this.outer = false;
  }

  /** Commits the batch now if no turn is open (before another connection reads the files). */
  commitNow(): void {
    if (this.broken !== null) throw this.broken;
    if (this.turn) {
      this.due = true;
      return;
    }
    if (this.outer) this.commitBatch();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimer(): void {
    this.timer = null;
    this.due = true;
    this.cutIfDue();
  }

  /** The batch is due: it commits on the next tick, or before the next turn's first write if that comes first. */
  private cutSoon(): void {
    this.due = true;
    if (this.cutScheduled) return;
    this.cutScheduled = true;
    setImmediate(() => {
      this.cutScheduled = false;
      this.cutIfDue();
    });
  }

  /** Commits a due batch unless a turn is open (that turn's next begin() or commit() gets to it). */
  private cutIfDue(): void {
    if (this.closed || !this.outer || !this.due || this.broken !== null || this.turn) return;
    try {
      this.commitBatch();
    } catch (e) {
      this.d.onError(asError(e));
    }
  }

  /** Whether the budget ends the open batch now (a sparse batch whose COMMIT would take the target). */
  private budgetDue(): boolean {
    if (this.budgetSettings.targetMs <= 0) return false;
    return budgetCuts(this.budget, {
      bytes: this.bytes, writes: this.d.headSeq() - this.batchStartSeq, databasePages: this.databasePages,
      ageMs: performance.now() - this.batchStartMs, naturalMs: this.d.settings.commitMs,
    }, this.budgetSettings);
  }

  private commitBatch(): void {
    const shape = { bytes: this.bytes, writes: this.d.headSeq() - this.batchStartSeq, databasePages: this.databasePages };
    const seconds = this.endBatchWith(() => this.commitStmt.run());
    if (this.budgetSettings.targetMs > 0) {
      this.budget = afterBatchCommit(this.budget, shape, seconds * 1000, this.budgetSettings);
      this.databasePages = this.readPageCount();
    }
    this.trimWhenDurable(this.d.headSeq());
  }

  private readPageCount(): number {
    try {
      return Number(this.pageCountStmt.get());
    } catch {
      return this.databasePages; // the budget's model only: keep the last count
    }
  }

  /** Deletes closed segments up to `seq` once an fdatasync of the WAL that covers the commit of `seq` is done. */
  private trimWhenDurable(seq: number): void {
    if (!this.d.writer.hasClosedSegments || this.trimSyncing) return;
    this.trimSyncing = true;
    this.d.walSync.sync((err) => {
      this.trimSyncing = false;
      if (err !== null) {
        this.d.onError(err);
        return;
      }
      try {
        this.d.writer.trim(seq);
      } catch (e) {
        this.d.onError(asError(e));
      }
    });
  }

  /**
   * Commits the batch (with the next generation if this one has records), syncs the WAL here, and starts that
   * generation's journal. `sync` false (a snapshot load's rows): with no generation to change, the WAL sync is
   * skipped, which took a blocking fdatasync per load turn off the event loop of a replica in a full resync.
   */
  private commitDirect(sync = true): void {
    // A generation without records holds nothing stale: it continues (no meta write, no new file),
    // which keeps a resync's many load turns cheap.
    const fresh = !this.d.writer.holdsNothing;
    const gen = this.d.writer.generation + (fresh ? 1 : 0);
    this.endBatchWith(() => {
      if (fresh) this.d.setGeneration(gen);
      this.commitStmt.run();
      // A new generation deletes the old one's segments: SQLite must hold what they held first.
      if (sync || fresh) this.d.walSync.syncNow();
      if (fresh) this.d.writer.startGeneration(gen);
    });
  }

  /** Ends the batch with `commit` and returns how long that took, s; if it fails, the batch is rolled back and the journal broken (every later write refused). */
  private endBatchWith(commit: () => void): number {
    const turns = this.turns;
    this.endBatch();
    const t0 = performance.now();
    try {
      commit();
    } catch (e) {
      const err = asError(e);
      this.rollbackOuter();
      this.breakWith(err);
      throw err;
    }
    const seconds = (performance.now() - t0) / 1000;
    this.batchCommits++;
    this.d.onBatchCommit?.(seconds, turns);
    return seconds;
  }

  private endBatch(): void {
    this.outer = false;
    this.due = false;
    this.turns = 0;
    this.bytes = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private rollbackOuter(): void {
    if (!this.d.db.inTransaction) return;
    try {
      this.rollbackStmt.run();
    } catch {
      /* nothing more to undo */
    }
  }

  private breakWith(err: Error): void {
    this.broken ??= err;
    this.d.onError(err);
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
