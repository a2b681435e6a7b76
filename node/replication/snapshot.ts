/**
 * A consistent read of the whole keyspace for a full resync, through a
 * second, read-only SQLite connection: in WAL mode its read transaction sees
 * the database as of its first read while the node keeps committing on its
 * own connection. The sequence read in the same transaction is the position
 * the replica continues streaming from.
 */
import Database from 'better-sqlite3';
import type { StoredRow } from '../engine/types.js';

type RowTuple = [id: number, key: Buffer, flags: number, expiresAt: number | null, version: number, value: Buffer];

export class SnapshotReader {
  readonly seq: number;
  readonly totalKeys: number;
  private readonly db: Database.Database;
  private readonly page: Database.Statement;
  private lastId = 0;
  private done = false;

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      this.db.prepare('BEGIN').run();
      // The first read fixes the snapshot; every later read sees the same state.
      this.seq = this.db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck().get() as number;
      this.totalKeys = this.db.prepare('SELECT COUNT(*) FROM kv').pluck().get() as number;
      this.page = this.db.prepare('SELECT id, key, flags, expires_at, version, value FROM kv WHERE id > ? ORDER BY id LIMIT ?').raw();
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** The next rows, about maxBytes of them; null when every row has been read. */
  next(maxBytes: number, maxRows = 10_000): StoredRow[] | null {
    if (this.done) return null;
    const rows: StoredRow[] = [];
    let bytes = 0;
    while (bytes < maxBytes && rows.length < maxRows) {
      const page = this.page.all(this.lastId, 256) as RowTuple[];
      for (const [id, key, flags, expiresAt, version, value] of page) {
        rows.push({ key, flags, expiresAt, version, value });
        bytes += key.length + value.length + 32;
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
    if (!this.db.open) return;
    try {
      this.db.prepare('COMMIT').run();
    } finally {
      this.db.close();
    }
  }
}
