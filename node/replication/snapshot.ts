/**
 * A consistent read of the whole keyspace for a full resync, through a
 * second, read-only SQLite connection (ReadTransaction, which the slot
 * migration's SlotSnapshot uses too): in WAL mode its read transaction sees
 * the database as of its first read while the node keeps committing on its
 * own connection. The sequence read in the same transaction is the position
 * the replica continues streaming from.
 */
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import type { StoredRow } from '../engine/types.js';
import { KV_ROWS_SQL } from '../engine/kv-rows.js';

export type RowTuple = [id: number, key: Buffer, flags: number, expiresAt: number | null, version: number, value: Buffer];

/**
 * A read transaction on a second, read-only connection to the database
 * file: it sees the database as of its first read (which reads the
 * sequence) while the node keeps committing on its own connection.
 */
export class ReadTransaction {
  readonly db: Database.Database;
  /** The last committed sequence in what this transaction sees. */
  readonly seq: number;

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      this.db.prepare('BEGIN').run();
      // The first read fixes the snapshot; every later read sees the same state.
      this.seq = this.db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck().get() as number;
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** `fn` over the connection (preparing statements, counting); the connection is closed if it throws. */
  setUp<T>(fn: (db: Database.Database) => T): T {
    try {
      return fn(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.db.prepare('COMMIT').run();
    } finally {
      this.db.close();
    }
  }
}

/** Roughly what a row costs to hold and send (for batching by size). */
export function rowBytes(key: Buffer, value: Buffer): number {
  return key.length + value.length + 32;
}

export class SnapshotReader {
  readonly seq: number;
  readonly totalKeys: number;
  private readonly tx: ReadTransaction;
  private readonly page: Database.Statement;
  private lastId = 0;
  private done = false;

  constructor(file: string) {
    this.tx = new ReadTransaction(file);
    this.seq = this.tx.seq;
    [this.totalKeys, this.page] = this.tx.setUp((db) => [
      db.prepare(KV_ROWS_SQL).pluck().get() as number,
      db.prepare('SELECT id, key, flags, expires_at, version, value FROM kv WHERE id > ? ORDER BY id LIMIT ?').raw(),
    ] as const);
  }

  /**
   * The next rows, about maxBytes of them, fewer if reading takes maxMs
   * (the caller yields to the event loop between calls: no long stall);
   * null when every row has been read.
   */
  next(maxBytes: number, maxRows = 10_000, maxMs = Infinity): StoredRow[] | null {
    if (this.done) return null;
    const rows: StoredRow[] = [];
    let bytes = 0;
    const t0 = performance.now();
    while (bytes < maxBytes && rows.length < maxRows && performance.now() - t0 < maxMs) {
      const page = this.page.all(this.lastId, 256) as RowTuple[];
      for (const [id, key, flags, expiresAt, version, value] of page) {
        rows.push({ key, flags, expiresAt, version, value });
        bytes += rowBytes(key, value);
        this.lastId = id;
      }
      if (page.length < 256) {
        this.done = true;
        break;
      }
    }
    return rows.length === 0 && this.done ? null : rows;
  }

  close(): void {
    this.tx.close();
  }
}
