/**
 * Every SQL statement the engine runs, prepared once per connection. Row
 * statements are in raw mode (arrays, not objects): less work per call on
 * the hot path. Column order in each comment is the array order.
 */
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

type Stmt = Database.Statement;

export class Statements {
  /** [value, flags, expires_at, version] by key. */
  readonly getByKey: Stmt;
  /** [id, expires_at] by key: does the key exist, and with which TTL. */
  readonly idByKey: Stmt;
  readonly insert: Stmt;
  /** The same columns as insert; changes 0 when the key exists (apply-path's insert-first upsert). */
  readonly insertIfAbsent: Stmt;
  /** flags, expires_at, version, value, id. */
  readonly updateById: Stmt;
  /** flags, expires_at, version, value, key: changes 0 when the key has no row. */
  readonly updateByKey: Stmt;
  /** expires_at, version, id. */
  readonly updateExpiryById: Stmt;
  /** RETURNING [expires_at] of the deleted row. */
  readonly deleteByKey: Stmt;
  readonly deleteById: Stmt;
  readonly deleteAll: Stmt;
  /** RETURNING [key, expires_at] of every deleted row of a slot (slot repair). */
  readonly deleteSlot: Stmt;
  /** Every key (FLUSHALL notifications). */
  readonly allKeys: Stmt;
  /** [id, key, expires_at] after an id, in id order (SCAN). */
  readonly scanAfterId: Stmt;
  /** [key, value, flags, expires_at, version] in key order; four bound variants. */
  readonly prefixFrom: Stmt;
  readonly prefixFromTo: Stmt;
  readonly prefixAfter: Stmt;
  readonly prefixAfterTo: Stmt;
  readonly countLiveInSlot: Stmt;
  /** Live keys of a slot. */
  readonly liveKeysInSlot: Stmt;
  /** [id, key] of keys expired at a time, oldest expiry first (uses the partial index). */
  readonly expiredBatch: Stmt;
  readonly countAll: Stmt;
  readonly countExpiring: Stmt;
  readonly setLastSeq: Stmt;
  /** A meta row's value by name (undefined if absent). */
  readonly getMeta: Stmt;
  /** name, value: insert or replace a meta row. */
  readonly putMeta: Stmt;
  readonly savepoint: Stmt;
  readonly release: Stmt;
  readonly rollbackTo: Stmt;
  readonly pageCount: Stmt;
  readonly freelistCount: Stmt;
  readonly walCheckpoint: Stmt;

  constructor(db: Db) {
    const row = (sql: string): Stmt => db.prepare(sql).raw(true);
    const one = (sql: string): Stmt => db.prepare(sql).pluck(true);
    this.getByKey = row('SELECT value, flags, expires_at, version FROM kv WHERE key = ?');
    this.idByKey = row('SELECT id, expires_at FROM kv WHERE key = ?');
    this.insert = db.prepare('INSERT INTO kv (key, slot, flags, expires_at, version, value) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertIfAbsent = db.prepare('INSERT INTO kv (key, slot, flags, expires_at, version, value) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING');
    this.updateById = db.prepare('UPDATE kv SET flags = ?, expires_at = ?, version = ?, value = ? WHERE id = ?');
    this.updateByKey = db.prepare('UPDATE kv SET flags = ?, expires_at = ?, version = ?, value = ? WHERE key = ?');
    this.updateExpiryById = db.prepare('UPDATE kv SET expires_at = ?, version = ? WHERE id = ?');
    this.deleteByKey = row('DELETE FROM kv WHERE key = ? RETURNING expires_at');
    this.deleteById = db.prepare('DELETE FROM kv WHERE id = ?');
    this.deleteAll = db.prepare('DELETE FROM kv');
    this.deleteSlot = row('DELETE FROM kv WHERE slot = ? RETURNING key, expires_at');
    this.allKeys = one('SELECT key FROM kv');
    this.scanAfterId = row('SELECT id, key, expires_at FROM kv WHERE id > ? ORDER BY id LIMIT ?');
    const cols = 'SELECT key, value, flags, expires_at, version FROM kv';
    this.prefixFrom = row(`${cols} WHERE key >= ? ORDER BY key LIMIT ?`);
    this.prefixFromTo = row(`${cols} WHERE key >= ? AND key < ? ORDER BY key LIMIT ?`);
    this.prefixAfter = row(`${cols} WHERE key > ? ORDER BY key LIMIT ?`);
    this.prefixAfterTo = row(`${cols} WHERE key > ? AND key < ? ORDER BY key LIMIT ?`);
    const live = '(expires_at IS NULL OR expires_at > ?)';
    this.countLiveInSlot = one(`SELECT COUNT(*) FROM kv WHERE slot = ? AND ${live}`);
    this.liveKeysInSlot = one(`SELECT key FROM kv WHERE slot = ? AND ${live} LIMIT ?`);
    this.expiredBatch = row('SELECT id, key FROM kv WHERE expires_at <= ? ORDER BY expires_at LIMIT ?');
    this.countAll = one('SELECT COUNT(*) FROM kv');
    this.countExpiring = one('SELECT COUNT(*) FROM kv WHERE expires_at IS NOT NULL');
    this.setLastSeq = db.prepare("UPDATE meta SET value = ? WHERE name = 'last_seq'");
    this.getMeta = one('SELECT value FROM meta WHERE name = ?');
    this.putMeta = db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value');
    this.savepoint = db.prepare('SAVEPOINT atomically');
    this.release = db.prepare('RELEASE atomically');
    this.rollbackTo = db.prepare('ROLLBACK TO atomically');
    this.pageCount = one('PRAGMA page_count');
    this.freelistCount = one('PRAGMA freelist_count');
    this.walCheckpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  }
}
