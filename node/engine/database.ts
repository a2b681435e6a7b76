/**
 * Opens (or creates) the node's SQLite database: pragmas, schema, meta table.
 *
 * Schema choices (benchmarked at 1M keys x 100-byte values, so every index
 * has to earn its bytes):
 * - kv.id INTEGER PRIMARY KEY is the rowid. Writes to an existing key update
 *   the row in place, so a key keeps its id for as long as it exists; SCAN
 *   walks ids in order and its numeric cursor is the last id returned, which
 *   gives Redis's guarantee under concurrent inserts and deletes.
 * - kv_key (UNIQUE key): point lookups and key-ordered prefix scans (BLOBs
 *   compare with memcmp). The slot is not in this index because a prefix
 *   range must not be split by slot.
 * - kv_slot (slot): list / count / delete a slot's keys (slot migration);
 *   a small integer + rowid per key.
 * - kv_expiry: partial index holding only keys that have a TTL; the active
 *   expiry cycle reads it in expiry order.
 * Small columns come first so reading them never touches the value's
 * overflow pages.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FsyncMode } from './types.js';

export type Db = Database.Database;

export const SCHEMA_VERSION = 1;
export const DB_FILE_NAME = 'irisdb.sqlite';
/** Auto-checkpoint threshold (pages) when checkpoints run on the engine's own connection. */
export const WAL_AUTOCHECKPOINT_PAGES = 1000;

export interface OpenedDatabase {
  readonly db: Db;
  readonly file: string;
  readonly nodeId: string;
  /** Last write sequence committed before this open. */
  readonly lastSeq: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  name  TEXT PRIMARY KEY,
  value            -- no declared type: stored exactly as written (no numeric affinity)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (
  id         INTEGER PRIMARY KEY,
  key        BLOB    NOT NULL,
  slot       INTEGER NOT NULL,
  flags      INTEGER NOT NULL,
  expires_at INTEGER,
  version    INTEGER NOT NULL,
  value      BLOB    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS kv_key ON kv(key);
CREATE INDEX IF NOT EXISTS kv_slot ON kv(slot);
CREATE INDEX IF NOT EXISTS kv_expiry ON kv(expires_at) WHERE expires_at IS NOT NULL;
`;

/** SQLite knobs of the engine's connection (docs/benchmarks.md "Storage knobs"). */
export interface SqliteTuning {
  /** Page size of a NEW database file (a power of two, 512..65536); an existing file keeps its own. */
  readonly pageSize: number;
  /** Bytes of the file read through mmap (0: off, reads copy pages through the page cache). */
  readonly mmapBytes: number;
  /** Page cache of the connection, in bytes. */
  readonly cacheBytes: number;
}

export const DEFAULT_SQLITE_TUNING: SqliteTuning = { pageSize: 4096, mmapBytes: 0, cacheBytes: 32 * 1024 * 1024 };

export function openDatabase(dataDir: string, fsync: FsyncMode, tuning: SqliteTuning = DEFAULT_SQLITE_TUNING): OpenedDatabase {
  checkSqliteTuning(tuning);
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, DB_FILE_NAME);
  const db = new Database(file);
  try {
    applyPragmas(db, fsync, tuning);
    const { nodeId, lastSeq } = initSchema(db);
    return { db, file, nodeId, lastSeq };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Before any file is touched: a bad value is a clear error, not a silently ignored pragma. */
export function checkSqliteTuning(t: SqliteTuning): void {
  const p = t.pageSize;
  if (!Number.isInteger(p) || p < 512 || p > 65536 || (p & (p - 1)) !== 0) {
    throw new RangeError(`SQLite page size ${p} is not a power of two from 512 to 65536`);
  }
  if (!Number.isSafeInteger(t.mmapBytes) || t.mmapBytes < 0) throw new RangeError(`SQLite mmap size ${t.mmapBytes} must be a whole number of bytes >= 0`);
  if (!Number.isSafeInteger(t.cacheBytes) || t.cacheBytes < 1024) throw new RangeError(`SQLite cache size ${t.cacheBytes} must be at least 1024 bytes`);
}

function applyPragmas(db: Db, fsync: FsyncMode, tuning: SqliteTuning): void {
  // Only takes effect before the first table exists (a new database); in WAL
  // mode an existing file keeps its page size for good. Every write dirties
  // at least one whole page, which goes into the WAL: smaller pages, fewer
  // bytes per write.
  db.pragma(`page_size = ${tuning.pageSize}`);
  // Only takes effect before the first table exists (a new database): lets
  // the expiry cycle hand freed pages back with bounded incremental_vacuum
  // steps instead of a blocking VACUUM.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  // NORMAL: COMMIT writes the WAL without syncing it; SQLite syncs it before
  // each checkpoint. With fsync=always the group commit then fdatasyncs the
  // WAL itself, off the event loop, before any reply of the turn leaves
  // (wal-sync.ts): the same guarantee as FULL — an acknowledged write
  // survives power loss — without blocking the event loop on the disk.
  db.pragma('synchronous = NORMAL');
  // Default 32 MiB: the interior b-tree pages of 1M keys fit with room to spare.
  db.pragma(`cache_size = ${-Math.floor(tuning.cacheBytes / 1024)}`);
  db.pragma(`mmap_size = ${tuning.mmapBytes}`);
  // Checkpoints normally run in a worker thread (checkpointer.ts), which
  // raises this limit to a backstop; this value applies when they cannot,
  // and keeps each on-thread checkpoint short (~4 MiB of WAL).
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  // After a checkpoint, truncate a WAL that grew beyond 64 MiB.
  db.pragma('journal_size_limit = 67108864');
  db.pragma('temp_store = MEMORY');
  // The schema has no foreign keys; keep the check off the write path.
  db.pragma('foreign_keys = OFF');
}

function initSchema(db: Db): { nodeId: string; lastSeq: number } {
  return db.transaction(() => {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'").get() !== undefined;
    if (hasMeta) {
      const v = readMeta(db, 'schema_version');
      if (typeof v === 'number' && v > SCHEMA_VERSION) {
        throw new Error(`database schema version ${v} is newer than this irisdb-node supports (${SCHEMA_VERSION}); upgrade irisdb-node`);
      }
    }
    db.exec(SCHEMA);
    const put = db.prepare('INSERT OR IGNORE INTO meta(name, value) VALUES (?, ?)');
    put.run('schema_version', SCHEMA_VERSION);
    put.run('node_id', randomBytes(20).toString('hex'));
    put.run('last_seq', 0);
    const nodeId = readMeta(db, 'node_id');
    const lastSeq = readMeta(db, 'last_seq');
    if (typeof nodeId !== 'string' || !/^[0-9a-f]{40}$/.test(nodeId)) throw new Error('meta.node_id is corrupt');
    if (typeof lastSeq !== 'number' || !Number.isSafeInteger(lastSeq) || lastSeq < 0) throw new Error('meta.last_seq is corrupt');
    return { nodeId, lastSeq };
  }).immediate();
}

function readMeta(db: Db, name: string): unknown {
  const row = db.prepare('SELECT value FROM meta WHERE name = ?').pluck().get(name);
  return row;
}
