/**
 * The storage engine's surface as the rest of the node sees it. Commands and
 * the HTTP API only ever talk to a Keyspace; SQLite, compression, the read
 * cache and group commit stay behind it.
 */
import type { SqliteTuning } from './database.js';
import type { KeyringSource } from '../crypto/keyring-store.js';

export interface Entry {
  /** The value as the client wrote it (already decompressed). */
  readonly value: Buffer;
  /** Absolute expiry in Unix milliseconds, or null for no expiry. */
  readonly expiresAt: number | null;
  /** Monotonic per-node sequence of the last write to this key; the HTTP API's ETag. */
  readonly version: number;
}

export interface ScanPage {
  /** 0 when the iteration is complete (Redis SCAN semantics). */
  readonly cursor: bigint;
  readonly keys: Buffer[];
}

export interface PrefixScanPage {
  readonly entries: Array<{ key: Buffer; entry: Entry }>;
  /** Opaque position to resume after, or null at the end. */
  readonly next: string | null;
}

/** One change to the data, as it is logged and replicated. Each takes exactly one sequence number. */
export type Mutation =
  | { readonly op: 'set'; readonly key: Buffer; readonly value: Buffer; readonly expiresAt: number | null }
  | { readonly op: 'del'; readonly key: Buffer }
  | { readonly op: 'expire'; readonly key: Buffer; readonly expiresAt: number | null }
  /** Every key deleted (FLUSHALL / FLUSHDB). */
  | { readonly op: 'clear' };

/** A row as stored (value possibly compressed, per flags): snapshot transfer and slot repair copy these as they are. */
export interface StoredRow {
  readonly key: Buffer;
  readonly flags: number;
  readonly expiresAt: number | null;
  readonly version: number;
  readonly value: Buffer;
}

/**
 * The replication log as the engine sees it. Sequence numbers are
 * contiguous: every mutation takes the next one, and a rolled-back turn or
 * atomically() block gives its numbers back.
 */
export interface MutationLog {
  /** Inside the turn's transaction, after the row changed. Throwing fails the turn. */
  record(m: Mutation, seq: number): void;
  /** Inside the transaction, just before COMMIT (the last moment to write log rows). Throwing fails the turn. */
  beforeCommit(): void;
  /** The turn committed; `lastSeq` is the highest committed sequence. */
  committed(lastSeq: number): void;
  /** Mutations with seq > `toSeq` were rolled back (a whole turn, or an atomically() block). */
  rolledBack(toSeq: number): void;
  /** True while the mutations being recorded are a slot migration's (the write journal keeps the mark, journal-turns.ts). */
  readonly migrating?: boolean;
  /** After beforeCommit: the rows it stored for the turn, as stored (sealed); the write journal appends these bytes instead of encoding the turn again. */
  takeStored?(): ReadonlyArray<{ readonly firstSeq: number; readonly lastSeq: number; readonly payload: Buffer }>;
}

/**
 * Holds back a turn's replies until something outside the engine allows
 * them (replica acknowledgements). GroupCommit calls hold() once per turn,
 * in turn order, after the turn is durable locally; the gate must call
 * release exactly once per hold, in the same order.
 */
export interface ReleaseGate {
  /** `seq`: the highest committed sequence when the turn committed; `err`: the turn's own error, if any. */
  hold(seq: number, err: Error | null, release: (err: Error | null) => void): void;
  /**
   * Whether hold(seq, null, …) would release at once: nothing held ahead
   * and seq acknowledged. Absent: the group commit always asks hold().
   */
  releasesAt?(seq: number): boolean;
}

export interface Keyspace {
  /** The live entry, or null if absent or expired (an expired key is deleted lazily, as an explicit delete). */
  get(key: Buffer, now: number): Entry | null;
  /** Writes key=value with the given absolute expiry (null = none). Returns the new version. */
  set(key: Buffer, value: Buffer, expiresAt: number | null): number;
  /** Deletes the key; true if a live (non-expired) key was removed. */
  delete(key: Buffer, now: number): boolean;
  /** Changes only the expiry of a live key; false if the key is absent or expired. */
  setExpiry(key: Buffer, expiresAt: number | null, now: number): boolean;
  /** Number of keys stored, including expired ones not yet reclaimed (as Redis DBSIZE). */
  size(): number;
  /** Redis-style SCAN: every key present for the whole iteration is returned at least once. */
  scan(cursor: bigint, count: number, now: number, match?: (key: Buffer) => boolean): ScanPage;
  /** Key-ordered scan by prefix for the HTTP API. `after` is the previous page's `next`. */
  scanPrefix(prefix: Buffer, after: string | null, limit: number, now: number): PrefixScanPage;
  countInSlot(slot: number, now: number): number;
  keysInSlot(slot: number, count: number, now: number): Buffer[];
  /** Deletes every key (FLUSHALL / FLUSHDB). */
  clear(): void;
  /**
   * Runs fn so that all of its writes commit together or not at all (the
   * HTTP batch endpoint). If fn throws, every write it made is undone.
   */
  atomically<T>(fn: () => T): T;
  /** Called after every change to a key (WATCH invalidation, metrics). */
  onChange(listener: (key: Buffer) => void): void;
  /** Called for every key deleted because its TTL passed (lazily or by the active cycle); keyspace notifications' `expired`. */
  onExpired?(listener: (key: Buffer) => void): void;
}

/**
 * Group commit: every write made in one event-loop turn goes into one SQLite
 * transaction that commits at the end of the turn. Nothing that depends on a
 * write may be sent to a client before the commit: callers hand their
 * replies over through afterCommit/barrier.
 */
export interface CommitScheduler {
  /** Runs cb once the current turn's writes are committed (err if the commit failed and was rolled back). */
  afterCommit(cb: (err: Error | null) => void): void;
  /** Promise form of afterCommit, for async code paths (HTTP). Rejects if the commit failed. */
  barrier(): Promise<void>;
  /** True while the current turn has uncommitted writes. */
  readonly pending: boolean;
  /**
   * Set for good when the store can take no more turns until the node
   * restarts (a failed fsync; the write journal's batch lost to a disk-full
   * or I/O error): liveness fails on it so a supervisor restarts the node.
   */
  readonly fatal?: Error | null;
  /** Commits now (shutdown, tests). */
  flushNow(): void;
  /**
   * Tracing (node/tracing/): the current turn's trace, set when a sampled
   * command or request joins the turn; the group commit takes it with the
   * turn. Absent on schedulers that do not trace.
   */
  turnTrace?: TurnTrace | null;
  /** While the turn's commit is handed to replication (onCommitted): its trace, else null. */
  readonly committingTrace?: TurnTrace | null;
}

/**
 * The spans of one traced turn, told about its stages by the group commit.
 * Only turns with a sampled command have one: untraced turns pay a null check.
 */
export interface TurnTrace {
  /** COMMIT is about to run (writes: statements of the turn). */
  committing(writes: number): void;
  /** COMMIT succeeded and the turn is about to be shipped to replicas (a release gate waits for their acks). */
  shipping(): void;
  /** The turn is durable here (COMMIT and, with walSync, its fsync) or failed. */
  durable(err: Error | null): void;
  /** The turn's replies were released (after the replicas' acks, if a gate held them). */
  released(err: Error | null): void;
  /** The W3C traceparent the replicas continue (the replication ack wait span), '' before shipping(). */
  readonly replicationTraceparent: string;
}

export interface EngineStats {
  keys: number;
  keysWithExpiry: number;
  dbFileBytes: number;
  walFileBytes: number;
  pageCount: number;
  freelistCount: number;
  commits: number;
  expiredKeys: number;
  cacheHits: number;
  cacheMisses: number;
  lastSeq: number;
  /** The write journal's counters (INFO persistence journal_*), or null/absent without it. */
  journal?: JournalStats | null;
}

/** The write journal's counters (--write-journal yes): metrics and INFO persistence. */
export interface JournalStats {
  readonly appendedBytes: number;
  readonly diskBytes: number;
  readonly syncs: number;
  readonly batchCommits: number;
  /** Batches rolled back for a failed turn and applied again from the journal. */
  readonly batchReplays: number;
  readonly generation: number;
  /** Appended records not yet covered by a started fdatasync (fsync batch). */
  readonly pendingSync: boolean;
  /** 'err' after a failed append or fdatasync (until the next successful sync), or once SQLite lost the batch (until restart). */
  readonly lastWriteStatus: 'ok' | 'err';
}

export type FsyncMode = 'always' | 'batch';
export type CompressionAlgorithm = 'none' | 'zlib' | 'brotli';

export interface EngineOptions {
  dataDir: string;
  fsync: FsyncMode;
  compression: { algorithm: CompressionAlgorithm; thresholdBytes: number };
  /** 0 entries disables the read cache. */
  /** absentKeys (default true): also cache keys found not to exist (negative entries, counted in both budgets). */
  readCache: { maxEntries: number; maxBytes: number; absentKeys?: boolean };
  activeExpiry: { intervalMs: number; maxKeysPerCycle: number; maxCycleMs: number };
  /** A full resync's load waits for the checkpoint worker once the WAL holds this much (walBacklog; 0 or absent: never). */
  walWaitBytes?: number;
  /**
   * Where WAL checkpoints run: 'worker' (default) copies pages back into the
   * database file on a worker thread so the event loop does not stall;
   * 'inline' leaves them to SQLite's auto-checkpoint on the engine's thread.
   */
  checkpoints?: 'worker' | 'inline';
  /** Encryption at rest: values are sealed with this keyring's active key (null/absent: stored in clear). */
  encryption?: KeyringSource | null;
  /**
   * The write journal (docs/architecture.md, "Write journal"): turns are
   * acknowledged from an append-only journal and SQLite commits in batches.
   * Absent/null: one SQLite transaction per turn.
   */
  journal?: { commitMs: number; maxTurns?: number; maxBytes?: number; segmentBytes?: number; commitTargetMs?: number; commitTargetDense?: boolean; minBatchBytes?: number } | null;
  /** SQLite page size (new files), mmap and page cache; absent: DEFAULT_SQLITE_TUNING (database.ts). */
  sqlite?: SqliteTuning;
}

export interface EngineHooks {
  /** Duration of each SQLite COMMIT in seconds (metrics). */
  onCommit?(seconds: number, writes: number): void;
  /** Each SQLite COMMIT of a batch of journaled turns, WAL sync included: it runs on the event loop (metrics: stalls). */
  onJournalBatchCommit?(seconds: number, turns: number): void;
  /** Keys reclaimed by the active expiry cycle (metrics). */
  onExpired?(count: number, cycleSeconds: number): void;
  /** Commit failures (logged by the caller). */
  onCommitError?(err: Error): void;
  /**
   * Keys deleted on access because their TTL had passed (metrics). If not
   * given, lazy expiries are reported as onExpired(count, 0).
   */
  onLazyExpired?(count: number): void;
  /** The write journal: a failed append, sync or batch commit, a torn tail cut off at recovery, or a journal replayed and removed at a start with it off (drained) (log it). */
  onJournalEvent?(what: 'error' | 'truncated' | 'recovered' | 'drained' | 'batch-replayed', detail: Record<string, unknown>): void;
  /** The background WAL checkpointer failed; checkpoints continue on the main connection (log it). */
  onCheckpointError?(err: Error): void;
}

export interface Engine {
  /** 40 lowercase hex chars, generated on first open and kept in the database (CLUSTER MYID). */
  readonly nodeId: string;
  readonly keyspace: Keyspace;
  readonly commits: CommitScheduler;
  startActiveExpiry(): void;
  stopActiveExpiry(): void;
  stats(): EngineStats;
  /** Result rows of PRAGMA integrity_check ("ok" when healthy). */
  integrityCheck(): string[];
  close(): void;
}
