/**
 * The apply path of the SQLite keyspace: every change to the rows goes
 * through here (set, deletes, expiry changes, clear, bulk loads, slot
 * repair). It assigns the write sequence (nextSeq, the only place), keeps the
 * key counters (key-counters.ts), invalidates the read cache
 * (block-cache-repair.ts), tells onChange listeners and, if one is attached,
 * the mutation log (the replication log, called inside the turn's
 * transaction). Sequences are contiguous: a rolled-back turn or atomically()
 * block gives its numbers back. Any failing write statement rolls the whole
 * turn back (GroupCommit.fail).
 */
import type { ValueCodec } from './codec.js';
import { GroupCommit, type GroupCommitHooks, type TurnTransaction } from './group-commit.js';
import type { TurnRecorder } from './journal-turns.js';
import type { ReadCache } from './read-cache.js';
import { BlockCacheRepair } from './block-cache-repair.js';
import type { WalSyncer } from './wal-sync.js';
import type { Statements } from './statements.js';
import type { Db } from './database.js';
import { KEY_COUNT } from './kv-rows.js';
import { replayMutationRows } from './batch-replay.js';
import { RowUpsert } from './row-upsert.js';
import { KeyCounters, type CounterMark } from './key-counters.js';
import type { Mutation, MutationLog, StoredRow } from './types.js';

export interface KeyspaceEvents {
  /** A key was deleted on access because its TTL had passed (the active cycle reports its own counts). */
  onLazyExpired(key: Buffer): void;
}

/** What a delete by key found: a live key, an expired one, or none. */
export type DeleteOutcome = 'live' | 'expired' | 'absent';

/** The write journal's parts (--write-journal yes), or absent for one SQLite transaction per turn. */
export interface JournalParts {
  readonly tx: TurnTransaction;
  readonly recorder: TurnRecorder;
  /** The journal's fdatasync (fsync always), or null (fsync batch). */
  readonly syncer: WalSyncer | null;
}

export class ApplyPath {
  readonly commits: GroupCommit;
  private seq: number;
  private seqAtBegin: number;
  private committedSeqValue: number;
  private readonly counters: KeyCounters;
  private readonly listeners: Array<(key: Buffer) => void> = [];
  /** Told every key deleted because its TTL passed, lazily or by the active cycle (keyspace notifications). */
  private readonly expiredListeners: Array<(key: Buffer) => void> = [];
  private log: MutationLog | null = null;
  /** The write journal's recorder of the open turn, or null without the journal. */
  private readonly journal: TurnRecorder | null;
  /** Read-cache invalidation, and its repair when an atomically() block or the turn rolls back. */
  private readonly cacheRepair: BlockCacheRepair;
  /** The kv row statements of an upsert (insert-first when recent upserts mostly created keys, issue #19). */
  private readonly rows: RowUpsert;

  constructor(
    private readonly st: Statements,
    db: Db,
    private readonly codec: ValueCodec,
    cache: ReadCache | null,
    lastSeq: number,
    commitHooks: Pick<GroupCommitHooks, 'onCommit' | 'onCommitError'>,
    private readonly events: KeyspaceEvents,
    walSync: WalSyncer | null,
    journal: JournalParts | null = null,
  ) {
    this.journal = journal?.recorder ?? null;
    this.cacheRepair = new BlockCacheRepair(cache);
    this.rows = new RowUpsert(st);
    this.seq = lastSeq;
    this.seqAtBegin = lastSeq;
    this.committedSeqValue = lastSeq;
    const keys = st.countAll.get() as number;
    this.counters = new KeyCounters(keys, st.countExpiring.get() as number);
    // meta.key_count commits with every turn that changes the count, so a
    // snapshot's read transaction finds its row count there instead of a
    // COUNT(*) over the whole table on the event loop. Counted here at open:
    // tools that write kv with SQL (restore, archive replay) need not keep it.
    if (st.getMeta.get(KEY_COUNT) !== keys) st.putMeta.run(KEY_COUNT, keys);
    this.commits = new GroupCommit(db, {
      onBegin: () => {
        this.seqAtBegin = this.seq;
        this.counters.turnBegan();
      },
      beforeCommit: () => {
        if (this.seq !== this.seqAtBegin) this.st.setLastSeq.run(this.seq);
        const keyCount = this.counters.keyCountToStore();
        if (keyCount !== null) this.st.putMeta.run(KEY_COUNT, keyCount);
        this.log?.beforeCommit();
        if (this.journal !== null && this.log?.takeStored !== undefined) this.journal.adopt(this.log.takeStored());
      },
      onCommitted: () => {
        this.committedSeqValue = this.seq;
        this.counters.committed();
        this.log?.committed(this.seq);
      },
      onRolledBack: () => {
        // Nothing of the turn happened: counters and sequence back to the turn's start.
        this.counters.turnRolledBack();
        this.seq = this.seqAtBegin;
        this.cacheRepair.turnRolledBack();
        this.log?.rolledBack(this.seq);
      },
      committedSeq: () => this.committedSeqValue,
      onCommit: commitHooks.onCommit,
      onCommitError: commitHooks.onCommitError,
    }, journal !== null ? journal.syncer : walSync, journal?.tx ?? null);
  }

  get keyCount(): number {
    return this.counters.keys;
  }

  get expiringCount(): number {
    return this.counters.expiring;
  }

  /** Keys deleted because they had expired, since open. */
  get expiredKeys(): number {
    return this.counters.expired;
  }

  get committedSeq(): number {
    return this.committedSeqValue;
  }

  /** The highest sequence assigned, including uncommitted writes of the open turn. */
  get headSeq(): number {
    return this.seq;
  }

  onChange(listener: (key: Buffer) => void): void {
    this.listeners.push(listener);
  }

  /** Called (after the delete's onChange) for every key deleted because it had expired. */
  onExpired(listener: (key: Buffer) => void): void {
    this.expiredListeners.push(listener);
  }

  setMutationLog(log: MutationLog | null): void {
    this.log = log;
  }

  // ---- single-key mutations ------------------------------------------------

  set(key: Buffer, value: Buffer, expiresAt: number | null): number {
    const stored = this.codec.encode(value, key);
    const flags = this.codec.lastFlags;
    const version = this.inTurn(() => {
      const v = this.nextSeq();
      this.upsert(key, null, flags, expiresAt, v, stored);
      this.record({ op: 'set', key, value, expiresAt }, v);
      return v;
    });
    this.commits.writes++;
    // The read cache takes the new value (what a read in this turn would cache from the row), not just a miss.
    this.cacheRepair.written(key, value, expiresAt, version);
    this.notify(key);
    return version;
  }

  /** Deletes a key's row; an expired row counts as an expiry when its time has come by `now`. */
  deleteByKey(key: Buffer, now: number): DeleteOutcome {
    const row = this.inTurn(() => {
      const r = this.st.deleteByKey.get(key) as [number | null] | undefined;
      if (r !== undefined) this.logDelete(key);
      return r;
    });
    if (row === undefined) return 'absent';
    const expiresAt = row[0];
    this.deleted(key, expiresAt !== null);
    if (expiresAt !== null && expiresAt <= now) {
      this.counters.expiredOne();
      this.events.onLazyExpired(key);
      for (const l of this.expiredListeners) l(key);
      return 'expired';
    }
    return 'live';
  }

  /** The active expiry cycle's delete of a row it found expired. */
  deleteExpiredById(id: number, key: Buffer): void {
    this.inTurn(() => {
      this.st.deleteById.run(id);
      this.logDelete(key);
    });
    this.counters.expiredOne();
    this.deleted(key, true);
    for (const l of this.expiredListeners) l(key);
  }

  setExpiry(id: number, key: Buffer, oldExpiresAt: number | null, expiresAt: number | null): void {
    this.inTurn(() => {
      const version = this.nextSeq();
      this.st.updateExpiryById.run(expiresAt, version, id);
      this.record({ op: 'expire', key, expiresAt }, version);
    });
    this.commits.writes++;
    this.counters.expiryChanged(oldExpiresAt, expiresAt);
    this.changed(key);
  }

  /** A replicated del/expire of a key this node does not have: nothing changes, but it takes its sequence. */
  absent(m: Mutation): void {
    this.inTurn(() => {
      const seq = this.nextSeq();
      this.record(m, seq);
    });
    this.commits.writes++;
  }

  /**
   * Deletes every row. `m` (a 'clear') takes a sequence and is logged; null
   * (a full resync's reset) is neither.
   */
  removeAll(m: Mutation | null): void {
    this.inTurn(() => {
      // Listeners (WATCH) hear about every key; streamed, so FLUSHALL of a
      // large keyspace does not hold all keys in memory. Told before the
      // delete: if it fails, the turn fails and a spurious touch is harmless.
      if (this.listeners.length > 0) {
        for (const key of this.st.allKeys.iterate() as IterableIterator<Buffer>) this.notify(key);
      }
      this.st.deleteAll.run();
      if (m !== null) {
        const seq = this.nextSeq();
        this.record(m, seq);
      } else {
        this.journal?.markUnjournaled();
      }
    });
    this.commits.writes++;
    this.counters.clearedAll();
    this.cacheRepair.clearedAll();
  }

  // ---- bulk loading and slot repair (not logged, sequence unchanged) -------

  /** Stores rows exactly as given (already encoded), replacing rows of the same keys. */
  loadRows(rows: readonly StoredRow[]): void {
    if (rows.length === 0) return;
    this.inTurn(() => {
      // A partial load is discarded after a crash (the loading flag): its rows need no sync of their own.
      this.journal?.markUnjournaled(false);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        this.upsert(r.key, null, r.flags, r.expiresAt, r.version, r.value);
      }
    });
    this.commits.writes += rows.length;
    for (let i = 0; i < rows.length; i++) this.changed(rows[i]!.key);
  }

  /** The loaded rows correspond to `seq` (headSeq now, committedSeq once committed). */
  finishLoad(seq: number): void {
    this.commits.markWrite();
    this.journal?.markUnjournaled();
    this.seq = seq;
  }

  /** The slot's rows become exactly `rows`, which the caller checked all hash to `slot`. */
  replaceSlot(slot: number, rows: readonly StoredRow[]): void {
    const removed = this.inTurn(() => {
      this.journal?.markUnjournaled();
      const gone = this.st.deleteSlot.all(slot) as Array<[key: Buffer, expiresAt: number | null]>;
      for (let i = 0; i < gone.length; i++) this.counters.removed(gone[i]![1] !== null);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        this.upsert(r.key, slot, r.flags, r.expiresAt, r.version, r.value);
      }
      return gone;
    });
    this.commits.writes += removed.length + rows.length;
    for (let i = 0; i < removed.length; i++) this.changed(removed[i]![0]);
    for (let i = 0; i < rows.length; i++) this.changed(rows[i]!.key);
  }

  /**
   * Runs `statements` inside the turn without a sequence, log entry, cache
   * or listener change: for rewriting stored bytes whose meaning stays the
   * same (re-encryption under a new key). A failure fails the turn.
   */
  rewriteStored<T>(statements: () => T): T {
    const r = this.inTurn(() => {
      this.journal?.markUnjournaled();
      return statements();
    });
    this.commits.writes++;
    return r;
  }

  // ---- atomic blocks -------------------------------------------------------

  atomically<T>(fn: () => T): T {
    this.commits.markWrite();
    const counters0 = this.counters.mark();
    const seq0 = this.seq;
    this.st.savepoint.run();
    const mark = this.cacheRepair.enterBlock();
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.cacheRepair.leaveBlock();
      this.undoAtomic(counters0, mark, seq0);
      throw err;
    }
    this.cacheRepair.leaveBlock();
    // A write inside fn may have failed and rolled back the whole turn even
    // though fn swallowed the error: then the block did not happen.
    const turnError = this.commits.turnError;
    if (turnError !== null) throw turnError;
    try {
      this.st.release.run();
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.cacheRepair.blockEnded();
    return result;
  }

  private undoAtomic(counters0: CounterMark, mark: number, seq0: number): void {
    if (this.commits.turnError === null) {
      try {
        this.st.rollbackTo.run();
        this.st.release.run();
      } catch (e) {
        this.commits.fail(e);
      }
    }
    if (this.commits.turnError === null) {
      this.counters.restore(counters0);
      // The block's sequences are given back (a failed turn's rollback does that instead).
      this.seq = seq0;
      this.log?.rolledBack(seq0);
      this.journal?.rolledBack(seq0);
      this.cacheRepair.blockRolledBack(mark);
    }
    this.cacheRepair.blockEnded();
  }

  // ---- the write journal's batch replay ---------------------------------------

  /**
   * A journaled turn's row change, applied again after the write journal
   * rolled its batch back for a later turn's failure (journal-transaction.ts):
   * counters, sequence, read cache, logs and listeners already hold that
   * turn, so only the rows are written, as the turn wrote them (version = seq).
   */
  replayRows(m: Mutation, seq: number): void {
    replayMutationRows(this.st, this.codec, this.rows, m, seq);
  }

  /** The batch replay reached lastSeq, where the failed turn began: the position and key count as that turn found them. */
  replayEnded(lastSeq: number): void {
    if (lastSeq !== this.seqAtBegin) throw new Error(`the write journal replayed its batch to sequence ${lastSeq}, but the failed turn began after ${this.seqAtBegin}`);
    this.st.setLastSeq.run(lastSeq);
    this.st.putMeta.run(KEY_COUNT, this.counters.storedKeyCount);
  }

  // ---- helpers -------------------------------------------------------------

  /**
   * Runs the statements of one write inside the turn: a failure rolls the
   * whole turn back and is rethrown. (markWrite's own error is the turn's
   * earlier failure: it is thrown as is.)
   */
  private inTurn<T>(statements: () => T): T {
    this.commits.markWrite();
    try {
      return statements();
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
  }

  /** The next write sequence: every mutation takes exactly one, here and nowhere else. */
  private nextSeq(): number {
    return ++this.seq;
  }

  /** Inside a delete's statements: the delete takes the next sequence and goes to the log. */
  private logDelete(key: Buffer): void {
    const seq = this.nextSeq();
    this.record({ op: 'del', key }, seq);
  }

  /** Inside a write's statements: the mutation goes to the replication log and the write journal. */
  private record(m: Mutation, seq: number): void {
    if (this.log !== null) this.log.record(m, seq);
    if (this.journal !== null) this.journal.record(m, seq, this.log?.migrating === true);
  }

  /** The open turn changes something the write journal cannot hold: it commits SQLite directly. */
  markUnjournaled(): void {
    this.commits.markWrite();
    this.journal?.markUnjournaled();
  }

  /** After a row was deleted (the statement and the log succeeded): counters, cache, listeners. */
  private deleted(key: Buffer, hadExpiry: boolean): void {
    this.commits.writes++;
    this.counters.removed(hadExpiry);
    this.changed(key);
  }

  /** Inside a write's statements: inserts or updates a key's row; counters follow. */
  private upsert(key: Buffer, slot: number | null, flags: number, expiresAt: number | null, version: number, stored: Buffer): void {
    this.counters.upserted(this.rows.run(key, slot, flags, expiresAt, version, stored, this.cacheRepair.priorRow(key)), expiresAt);
  }

  private changed(key: Buffer): void {
    this.cacheRepair.changed(key);
    this.notify(key);
  }

  private notify(key: Buffer): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!(key);
  }
}
