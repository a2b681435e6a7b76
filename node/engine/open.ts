/**
 * openEngine: the storage engine of one node, assembled from its parts
 * (database.ts: file, pragmas, schema; keyspace.ts: reads and the write API;
 * apply-path.ts: every change to the rows; group-commit.ts; active-expiry.ts; codec.ts; read-cache.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ActiveExpiry } from './active-expiry.js';
import { ValueCodec } from './codec.js';
import { Checkpointer } from './checkpointer.js';
import { WalSync } from './wal-sync.js';
import { DB_FILE_NAME, DEFAULT_SQLITE_TUNING, WAL_AUTOCHECKPOINT_PAGES, checkSqliteTuning, openDatabase, type Db } from './database.js';
import { ensurePrivateFile, lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { SqliteKeyspace, type ExpiryMode } from './keyspace.js';
import { KEY_COUNT } from './kv-rows.js';
import { Statements } from './statements.js';
import { openJournal, type EngineJournal } from './journal-open.js';
import { drainJournal } from './journal-drain.js';
import type { KeyringSource } from '../crypto/keyring-store.js';
import type { CommitScheduler, Engine, EngineHooks, EngineOptions, EngineStats, MutationLog, ReleaseGate } from './types.js';

/**
 * Named values kept in the database's meta table (shard epoch, replication
 * position...): they commit with the data of the turn that writes them.
 */
export interface MetaStore {
  /** The value as stored (including this turn's uncommitted set), or undefined if never set. */
  get(name: string): unknown;
  /** Joins the current turn; await commits.barrier() for durability. Throws on a name the engine owns. */
  set(name: string, value: string | number | null): void;
}

/** Meta rows the engine itself maintains: writing them from outside would corrupt it. */
const ENGINE_META = new Set(['schema_version', 'node_id', 'last_seq', KEY_COUNT, 'journal_gen']);

/** The checkpoint worker runs at most this often while writes keep coming. */
const CHECKPOINT_INTERVAL_MS = 100;
/** WAL frames (~32 MiB) past which the engine lets the log start over (see checkpointer.ts). */
const CHECKPOINT_RESTART_FRAMES = 8000;
/**
 * The engine's own catch-up checkpoint runs only if it has at most this many
 * writes' pages to copy: each is a random write the final fsync waits for.
 */
const CATCH_UP_MAX_WRITES = 200;
/** With the worker running, the engine's own connection checkpoints only past this many pages (~96 MiB): a backstop. */
const BACKSTOP_AUTOCHECKPOINT_PAGES = 24000;
/** Reclaim free pages only once they are at least this share of the file (1/8)... */
const RECLAIM_FREE_RATIO = 8;
/** ...and at least this many (tiny files are not worth the page moves). */
const RECLAIM_MIN_FREE_PAGES = 16;
/** Pages returned per cycle: bounds the time one step takes. */
const RECLAIM_STEP_PAGES = 128;

export class SqliteEngine implements Engine {
  readonly keyspace: SqliteKeyspace;
  readonly commits: CommitScheduler;
  readonly nodeId: string;
  /** The database file path (backups, diagnostics). */
  readonly file: string;
  private readonly st: Statements;
  private readonly expiry: ActiveExpiry;
  private closed = false;
  private readonly checkpointer: Checkpointer | null;
  /** The database's page size (a WAL frame holds one page), read when first needed. */
  private pageBytes: number | null = null;
  /** walBacklog's default threshold (EngineOptions.walWaitBytes). */
  private readonly walWaitBytes: number;
  /** fdatasync of the WAL off the event loop (fsync=always). */
  private readonly walSync: WalSync | null;

  /** The keyring values (and the replication log) are encrypted with, or null. */
  readonly encryption: KeyringSource | null;

  /** The SQLite connection: for tables that commit with the data (the replication log) and for tests. */
  readonly db: Db;
  readonly meta: MetaStore;

  /** The data directory's lock: held from before the database is opened until close(). */
  private readonly lock: DataDirLock;
  /** The write journal (--write-journal yes), or null. */
  readonly journal: EngineJournal | null = null;

  constructor(opts: EngineOptions, hooks: EngineHooks = {}) {
    checkSqliteTuning(opts.sqlite ?? DEFAULT_SQLITE_TUNING);
    // Before any other file is touched: a second process on this directory stops here (DataDirLockedError).
    this.lock = lockDataDir(opts.dataDir);
    this.encryption = opts.encryption ?? null;
    let opened: ReturnType<typeof openDatabase>;
    try {
      // 0600 before SQLite opens it: its -wal and -shm files take the database file's mode.
      const dbFile = path.join(opts.dataDir, DB_FILE_NAME);
      ensurePrivateFile(dbFile);
      for (const f of [`${dbFile}-wal`, `${dbFile}-shm`]) if (fs.existsSync(f)) ensurePrivateFile(f);
      opened = openDatabase(opts.dataDir, opts.fsync, opts.sqlite);
    } catch (err) {
      this.lock.release();
      throw err;
    }
    this.db = opened.db;
    // With a keyring, freed cells and pages are zeroed: no old value stays in free space (crypto/reencrypt-scrub.ts).
    if (this.encryption !== null) this.db.pragma('secure_delete = ON');
    this.walSync = opts.fsync === 'always' ? new WalSync(`${opened.file}-wal`) : null;
    this.file = opened.file;
    this.nodeId = opened.nodeId;
    try {
      this.st = new Statements(this.db);
      const journal = opts.journal ? openJournal(this.db, this.st, opts, this.walSync, `${opened.file}-wal`, () => this.keyspace.headSeq, hooks, () => this.keyspace.batchReplay) : null;
      this.journal = journal;
      this.keyspace = new SqliteKeyspace(
        this.st,
        this.db,
        new ValueCodec(opts.compression.algorithm, opts.compression.thresholdBytes, opts.encryption ?? null),
        opts.readCache,
        opened.lastSeq,
        {
          onCommit: (seconds, writes) => {
            this.checkpointer?.noteCommit(writes);
            hooks.onCommit?.(seconds, writes);
          },
          onCommitError: hooks.onCommitError,
        },
        {
          onLazyExpired: () => {
            if (hooks.onLazyExpired) hooks.onLazyExpired(1);
            else hooks.onExpired?.(1, 0);
          },
        },
        this.walSync,
        journal?.parts ?? null,
      );
      journal?.recover(this.keyspace, opened.lastSeq);
      // --write-journal no on a directory a journal left turns in: replayed into SQLite first (journal-drain.ts).
      if (journal === null) drainJournal(opts.dataDir, this.db, this.st, this.keyspace, opened.lastSeq, opts.encryption?.current ?? null, `${opened.file}-wal`, hooks);
    } catch (err) {
      this.journal?.close();
      if (this.db.inTransaction) this.db.prepare('ROLLBACK').run();
      this.db.close();
      this.lock.release();
      throw err;
    }
    this.commits = this.keyspace.commits;
    this.meta = this.metaStore();
    this.checkpointer = this.startCheckpointer(opts, hooks);
    this.walWaitBytes = opts.walWaitBytes ?? 0;
    const target = {
      expireBatch: (now: number, limit: number) => this.keyspace.expireBatch(now, limit),
      reclaimPages: () => this.reclaimPages(),
    };
    this.expiry = new ActiveExpiry(target, opts.activeExpiry, (count, seconds) => hooks.onExpired?.(count, seconds));
  }

  startActiveExpiry(): void {
    if (this.closed) throw new Error('engine is closed');
    this.expiry.start();
  }

  stopActiveExpiry(): void {
    this.expiry.stop();
  }

  /** Checkpoints the WAL in the worker and resolves when done (tests); no-op without the worker. */
  checkpoint(): Promise<void> {
    return this.checkpointer?.checkpointNow() ?? Promise.resolve();
  }

  /**
   * Resolves once every thread the engine started has exited after close():
   * the checkpoint worker opens the database file itself and may still be
   * starting, so whoever removes the data directory (tests) waits for this.
   */
  whenClosed(): Promise<void> {
    return this.checkpointer?.exited ?? Promise.resolve();
  }

  /**
   * For a bulk writer that can wait (a full resync's load): a promise while
   * the WAL holds at least `bytes` of frames (as the checkpoint worker last
   * found it), resolved after a worker pass that began after this call. A
   * writer that waits for it before its next transaction lets the worker
   * copy every frame, so that transaction starts the log over; one that
   * does not keep the WAL growing until SQLite's backstop checkpoint runs
   * inside a COMMIT, on the event loop (docs/benchmarks.md, "Event-loop
   * stalls"). Null when no wait is needed, or checkpoints run inline.
   */
  walBacklog(bytes = this.walWaitBytes): Promise<void> | null {
    const cp = this.checkpointer;
    if (cp === null || !cp.running || bytes <= 0 || this.closed) return null;
    this.pageBytes ??= Number(this.db.pragma('page_size', { simple: true }));
    if (cp.walFrames * this.pageBytes < bytes) return null;
    return cp.checkpointNow();
  }

  /** True while checkpoints run off the event loop. */
  get checkpointingInWorker(): boolean {
    return this.checkpointer?.running ?? false;
  }

  /**
   * Commits what the write journal holds in the batch transaction, so that
   * another connection (a snapshot, a backup, a migration copy, a digest)
   * reads every acknowledged write. A no-op without the journal.
   */
  commitNow(): void {
    if (this.journal === null || this.closed) return;
    // An open (or failed) turn ends here: its writes cannot be committed without it.
    if (this.commits.pending || this.keyspace.commits.turnError !== null) this.commits.flushNow();
    this.journal.commitNow();
  }

  /** Runs one active expiry cycle now (tests, admin); returns the keys deleted. */
  runExpiryCycle(): number {
    return this.expiry.runCycle();
  }

  /** Attaches the replication log: told every mutation inside its transaction, and every commit and rollback. */
  setMutationLog(log: MutationLog | null): void {
    this.keyspace.setMutationLog(log);
  }

  /** 'passive' on replicas: expired keys read as absent but are deleted only by the primary's deletes. */
  setExpiryMode(mode: ExpiryMode): void {
    this.keyspace.setExpiryMode(mode);
  }

  /** Holds each turn's replies until the gate releases them (replica acknowledgements); null runs them at once. */
  setReleaseGate(gate: ReleaseGate | null): void {
    this.keyspace.commits.setReleaseGate(gate);
  }

  stats(): EngineStats {
    const ks = this.keyspace;
    return {
      keys: ks.size(),
      keysWithExpiry: ks.keysWithExpiry,
      dbFileBytes: fileSize(this.file),
      walFileBytes: fileSize(this.file + '-wal'),
      pageCount: this.st.pageCount.get() as number,
      freelistCount: this.st.freelistCount.get() as number,
      commits: this.keyspace.commits.commits,
      expiredKeys: ks.expiredKeys,
      cacheHits: ks.cacheHits,
      cacheMisses: ks.cacheMisses,
      lastSeq: ks.lastSeq,
      journal: this.journal?.stats() ?? null,
    };
  }

  integrityCheck(): string[] {
    return this.db.prepare('PRAGMA integrity_check').pluck().all() as string[];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.expiry.stop();
    try {
      this.commits.flushNow();
      if (this.journal !== null && this.journal.broken === null) {
        this.journal.commitNow();
        this.walSync?.syncNow();
      }
    } finally {
      this.journal?.close();
      this.checkpointer?.close();
      this.db.close();
      this.walSync?.close();
      this.lock.release();
    }
  }

  private metaStore(): MetaStore {
    const st = this.st;
    const commits = this.keyspace.commits;
    return {
      get: (name) => st.getMeta.get(name),
      set: (name, value) => {
        if (ENGINE_META.has(name)) throw new RangeError(`meta.${name} is maintained by the engine and cannot be set`);
        commits.markWrite();
        // Meta rows are not mutations: the turn commits SQLite directly (a no-op without the journal).
        this.keyspace.markUnjournaled();
        try {
          st.putMeta.run(name, value);
        } catch (e) {
          commits.fail(e);
          throw e;
        }
      },
    };
  }

  private startCheckpointer(opts: EngineOptions, hooks: EngineHooks): Checkpointer | null {
    if (opts.checkpoints === 'inline') return null;
    let cp: Checkpointer;
    try {
      cp = new Checkpointer({
        file: this.file,
        synchronous: opts.fsync === 'always' ? 'FULL' : 'NORMAL',
        intervalMs: CHECKPOINT_INTERVAL_MS,
        restartFrames: CHECKPOINT_RESTART_FRAMES,
        catchUpMaxWrites: CATCH_UP_MAX_WRITES,
        inTransaction: () => this.db.inTransaction,
        catchUp: () => {
          if (this.db.inTransaction) return;
          try {
            this.st.walCheckpoint.get();
          } catch (err) {
            // Runs inside the commit path: never let it keep replies from being sent.
            hooks.onCheckpointError?.(err instanceof Error ? err : new Error(String(err)));
          }
        },
        onFailure: (err) => {
          // Checkpoint on this connection again so the WAL stays bounded.
          if (!this.closed) this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
          hooks.onCheckpointError?.(err);
        },
      });
    } catch (err) {
      hooks.onCheckpointError?.(err instanceof Error ? err : new Error(String(err)));
      return null;
    }
    this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
    return cp;
  }

  /**
   * Hands free pages back to the file system (auto_vacuum=INCREMENTAL), a
   * bounded step at a time, once they are a sizeable share of the file;
   * a few free pages are kept for reuse by the next inserts.
   */
  private reclaimPages(): void {
    const free = this.st.freelistCount.get() as number;
    if (free < RECLAIM_MIN_FREE_PAGES) return;
    const pages = this.st.pageCount.get() as number;
    if (free * RECLAIM_FREE_RATIO < pages) return;
    const commits = this.keyspace.commits;
    commits.markWrite();
    try {
      // exec() steps the pragma to completion; a prepared run() frees one page only.
      this.db.exec(`PRAGMA incremental_vacuum(${RECLAIM_STEP_PAGES})`);
    } catch (e) {
      commits.fail(e);
      throw e;
    }
  }
}

export function openEngine(opts: EngineOptions, hooks?: EngineHooks): SqliteEngine {
  return new SqliteEngine(opts, hooks);
}

function fileSize(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}
