/**
 * The replication log (docs/architecture.md §3): every mutation, in sequence order, kept in
 * the node's own SQLite database so that log, data and position commit in
 * one transaction. A turn's mutations are stored as one or more encoded
 * batches (the same bytes that are shipped to replicas), one row per batch,
 * keyed by the batch's first sequence.
 *
 * Primaries and replicas both keep it: a replica that is promoted serves
 * partial resyncs from its own log.
 */
import type { Db } from '../engine/database.js';
import type { Mutation, MutationLog } from '../engine/types.js';
import { encodeBatch, type LoggedMutation } from './batch-codec.js';
import type { KeyringSource } from '../crypto/keyring-store.js';
import { openLogBody, sealLogBody } from '../crypto/log-envelope.js';

/** Batches are cut at about this size so one huge turn (a big pipeline) ships in pieces. */
const BATCH_TARGET_BYTES = 1024 * 1024;

export interface StoredBatch {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly body: Buffer;
}

/** A stored batch with the time it was written (ms since the epoch; null for rows written before times were kept). */
export interface TimedBatch extends StoredBatch {
  readonly committedAt: number | null;
}

export type CommittedListener = (batches: readonly StoredBatch[], lastSeq: number) => void;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS repl_log (
  first_seq INTEGER PRIMARY KEY,
  last_seq  INTEGER NOT NULL,
  body      BLOB    NOT NULL,
  committed_at REAL
);`;

export class ReplicationLog implements MutationLog {
  private turn: LoggedMutation[] = [];
  /** > 0 while a slot migration writes (asMigration): its mutations are logged marked. */
  private migrationScope = 0;
  private turnBytes = 0;
  /** Batches written by beforeCommit and not yet committed. */
  private written: StoredBatch[] = [];
  /** The same batches as stored (sealed): the write journal takes them (takeStored), so a turn is encoded once. */
  private stored: Array<{ firstSeq: number; lastSeq: number; payload: Buffer }> = [];
  /** Extra listeners for committed batches (a slot migration forwarding writes). */
  private readonly subscribers = new Set<CommittedListener>();
  private readonly insertStmt;
  private readonly startStmt;
  private readonly rangeStmt;
  private readonly firstStmt;
  private readonly trimStmt;
  private readonly clearStmt;
  private readonly timedStmt;
  /** Another lower bound for trimming (the log archive's next sequence), or null: docs/backup.md. */
  private retentionFloor: (() => number | null) | null = null;

  /**
   * onCommitted receives each committed turn's batches in commit order; it
   * runs inside the group commit, right after COMMIT.
   */
  constructor(
    db: Db,
    private readonly onCommitted: (batches: readonly StoredBatch[], lastSeq: number) => void,
    /** Encryption at rest: stored bodies are sealed with it (node/crypto/log-envelope.ts). */
    private readonly keys: KeyringSource | null = null,
  ) {
    db.exec(SCHEMA);
    // Logs created before commit times were kept get the column (NULL for their old rows).
    const cols = db.prepare("SELECT name FROM pragma_table_info('repl_log')").pluck().all() as string[];
    if (!cols.includes('committed_at')) db.exec('ALTER TABLE repl_log ADD COLUMN committed_at REAL');
    this.insertStmt = db.prepare('INSERT INTO repl_log (first_seq, last_seq, body, committed_at) VALUES (?, ?, ?, ?)');
    this.timedStmt = db.prepare('SELECT first_seq, last_seq, body, committed_at FROM repl_log WHERE first_seq >= ? ORDER BY first_seq LIMIT ?').raw();
    this.startStmt = db.prepare('SELECT first_seq FROM repl_log WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1').pluck();
    this.rangeStmt = db.prepare('SELECT first_seq, last_seq, body FROM repl_log WHERE first_seq >= ? ORDER BY first_seq LIMIT ?').raw();
    this.firstStmt = db.prepare('SELECT MIN(first_seq) FROM repl_log').pluck();
    this.trimStmt = db.prepare('DELETE FROM repl_log WHERE last_seq < ?');
    this.clearStmt = db.prepare('DELETE FROM repl_log');
  }

  // ---- MutationLog (called by the engine) ----------------------------------

  record(m: Mutation, seq: number): void {
    this.turn.push(this.migrationScope > 0 ? { seq, m, migration: true } : { seq, m });
    this.turnBytes += 32 + (m.op === 'clear' ? 0 : m.key.length) + (m.op === 'set' ? m.value.length : 0);
  }

  beforeCommit(): void {
    if (this.turn.length === 0) return;
    const entries = this.turn;
    this.turn = [];
    this.turnBytes = 0;
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const m = entries[i]!.m;
      bytes += 32 + (m.op === 'clear' ? 0 : m.key.length) + (m.op === 'set' ? m.value.length : 0);
      if (bytes >= BATCH_TARGET_BYTES || i === entries.length - 1) {
        this.writeBatch(entries.slice(start, i + 1));
        start = i + 1;
        bytes = 0;
      }
    }
  }

  takeStored(): ReadonlyArray<{ firstSeq: number; lastSeq: number; payload: Buffer }> {
    const rows = this.stored;
    this.stored = [];
    return rows;
  }

  committed(lastSeq: number): void {
    this.stored = [];
    const batches = this.written;
    if (batches.length === 0) return;
    this.written = [];
    this.onCommitted(batches, lastSeq);
    for (const l of this.subscribers) l(batches, lastSeq);
  }

  /**
   * Calls `listener` with every committed turn's batches from now on, right
   * after COMMIT (inside the group commit: it must not throw or write).
   * Returns the unsubscribe function.
   */
  subscribe(listener: CommittedListener): () => void {
    this.subscribers.add(listener);
    return () => {
      this.subscribers.delete(listener);
    };
  }

  rolledBack(toSeq: number): void {
    // A failed COMMIT undoes the rows beforeCommit wrote; a savepoint rollback only some of this turn's entries.
    this.written = [];
    this.stored = [];
    if (this.turn.length > 0 && this.turn[this.turn.length - 1]!.seq > toSeq) {
      this.turn = this.turn.filter((e) => e.seq <= toSeq);
    }
  }

  /** Inside asMigration (MutationLog.migrating: the write journal records the mark too). */
  get migrating(): boolean {
    return this.migrationScope > 0;
  }

  /**
   * Runs `fn` (synchronous keyspace writes) with every mutation it logs
   * marked as a slot migration's (LoggedMutation.migration), so that a
   * point-in-time replay can tell them from clients' writes.
   */
  asMigration<T>(fn: () => T): T {
    this.migrationScope++;
    try {
      return fn();
    } finally {
      this.migrationScope--;
    }
  }

  // ---- reading and trimming -------------------------------------------------

  /** Smallest sequence still in the log, or null when it is empty. */
  firstSeq(): number | null {
    return (this.firstStmt.get() as number | null) ?? null;
  }

  /** Committed batches holding `fromSeq` and after, oldest first, at most `limit` rows. */
  readFrom(fromSeq: number, limit: number): StoredBatch[] {
    const start = (this.startStmt.get(fromSeq) as number | undefined) ?? fromSeq;
    const rows = this.rangeStmt.all(start, limit) as Array<[number, number, Buffer]>;
    return rows.map(([firstSeq, lastSeq, body]) => ({ firstSeq, lastSeq, body: this.open(body, firstSeq) }));
  }

  /** Like readFrom, with each batch's write time (the log archiver reads these). */
  readTimedFrom(fromSeq: number, limit: number): TimedBatch[] {
    const start = (this.startStmt.get(fromSeq) as number | undefined) ?? fromSeq;
    const rows = this.timedStmt.all(start, limit) as Array<[number, number, Buffer, number | null]>;
    return rows.map(([firstSeq, lastSeq, body, committedAt]) => ({ firstSeq, lastSeq, body: this.open(body, firstSeq), committedAt }));
  }

  /**
   * Adds a lower bound to trimming: batches holding `floor()` or later are
   * kept (the archive has not stored them yet). The floor's owner returns
   * null when it gives up (too far behind), so it never pins the log forever.
   */
  setRetentionFloor(floor: (() => number | null) | null): void {
    this.retentionFloor = floor;
  }

  /** Deletes batches that end before `keepFromSeq` (or the retention floor, if lower). Must run inside a write turn (the caller opens it). */
  trimBefore(keepFromSeq: number): number {
    return this.trimStmt.run(retentionKeepFrom(keepFromSeq, this.retentionFloor?.() ?? null)).changes;
  }

  /** Deletes the whole log (a replica starting a full resync). Inside a write turn. */
  clear(): void {
    this.clearStmt.run();
    this.turn = [];
    this.written = [];
    this.stored = [];
  }

  private open(stored: Buffer, firstSeq: number): Buffer {
    return openLogBody(this.keys?.current ?? null, stored, firstSeq);
  }

  private writeBatch(entries: LoggedMutation[]): void {
    const body = encodeBatch(entries);
    const firstSeq = entries[0]!.seq;
    const lastSeq = entries[entries.length - 1]!.seq;
    // Written just before COMMIT: not later than the acknowledgement, not earlier than the writes' arrival.
    const stored = this.keys === null ? body : sealLogBody(this.keys.current, body, firstSeq);
    this.insertStmt.run(firstSeq, lastSeq, stored, Date.now());
    this.written.push({ firstSeq, lastSeq, body });
    this.stored.push({ firstSeq, lastSeq, payload: stored });
  }
}

/** Where trimming keeps from: the replicas' bound, lowered to the archive's floor when it has one. Pure. */
export function retentionKeepFrom(keepFromSeq: number, floor: number | null): number {
  return floor === null ? keepFromSeq : Math.min(keepFromSeq, floor);
}
