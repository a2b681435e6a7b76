/**
 * Schema and page-size variants of the kv table measured on SQLite alone
 * (issue #16), with the engine's statement shapes: a write looks the key up,
 * then inserts or updates; turns of 50 writes per transaction (as the group
 * commit batches 50 clients); synchronous=NORMAL, WAL. Besides ops/s (noisy on
 * a shared machine) it reports what does not depend on the machine: WAL
 * bytes per insert and per update (checkpoints off while counted) and bytes
 * of database file per key.
 *
 *   current  rowid table, UNIQUE(key), INDEX(slot)          (node/engine/database.ts)
 *   slotkey  rowid table, one UNIQUE(slot, key)               (lookups pass the slot)
 *   norowid  WITHOUT ROWID, PRIMARY KEY (slot, key)           (no rowid: SCAN's numeric cursor has nothing to page by)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { keySlot } from '../common/slot.js';

export type SchemaVariant = 'current' | 'slotkey' | 'norowid';

export interface SchemaResult {
  variant: SchemaVariant;
  pageSize: number;
  insertsPerSec: number;
  updatesPerSec: number;
  getsPerSec: number;
  walBytesPerInsert: number;
  walBytesPerUpdate: number;
  fileBytesPerKey: number;
}

const COLS = 'key BLOB NOT NULL, slot INTEGER NOT NULL, flags INTEGER NOT NULL, expires_at INTEGER, version INTEGER NOT NULL, value BLOB NOT NULL';
const DDL: Record<SchemaVariant, string> = {
  current: `CREATE TABLE kv (id INTEGER PRIMARY KEY, ${COLS}); CREATE UNIQUE INDEX kv_key ON kv(key); CREATE INDEX kv_slot ON kv(slot);`,
  slotkey: `CREATE TABLE kv (id INTEGER PRIMARY KEY, ${COLS}); CREATE UNIQUE INDEX kv_slot_key ON kv(slot, key);`,
  norowid: `CREATE TABLE kv (${COLS}, PRIMARY KEY (slot, key)) WITHOUT ROWID;`,
};
const TURN = 50;

export function measureSchema(variant: SchemaVariant, pageSize: number, keys: number): SchemaResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-schema-'));
  const file = path.join(dir, 'kv.sqlite');
  const db = new Database(file);
  try {
    db.pragma(`page_size = ${pageSize}`);
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -32768');
    db.exec(DDL[variant] + ' CREATE INDEX kv_expiry ON kv(expires_at) WHERE expires_at IS NOT NULL;');
    const bySlot = variant !== 'current';
    const where = bySlot ? 'slot = ? AND key = ?' : 'key = ?';
    const lookup = db.prepare(`SELECT ${variant === 'norowid' ? 'expires_at' : 'id, expires_at'} FROM kv WHERE ${where}`).raw(true);
    const get = db.prepare(`SELECT value, flags, expires_at, version FROM kv WHERE ${where}`).raw(true);
    const insert = db.prepare('INSERT INTO kv (key, slot, flags, expires_at, version, value) VALUES (?, ?, ?, ?, ?, ?)');
    const update = variant === 'norowid'
      ? db.prepare('UPDATE kv SET flags = ?, expires_at = ?, version = ?, value = ? WHERE slot = ? AND key = ?')
      : db.prepare('UPDATE kv SET flags = ?, expires_at = ?, version = ?, value = ? WHERE id = ?');
    const begin = db.prepare('BEGIN');
    const commit = db.prepare('COMMIT');
    const value = Buffer.alloc(100, 0x78);
    let version = 0;
    const args = (key: Buffer, slot: number): unknown[] => (bySlot ? [slot, key] : [key]);
    const set = (key: Buffer): void => {
      const slot = keySlot(key);
      const row = lookup.get(...args(key, slot)) as unknown[] | undefined;
      if (row === undefined) insert.run(key, slot, 0, null, ++version, value);
      else if (variant === 'norowid') update.run(0, null, ++version, value, slot, key);
      else update.run(0, null, ++version, value, row[0]);
    };
    // redis-benchmark's keys: key:NNNNNNNNNNNN, random.
    const randomKey = (): Buffer => Buffer.from(`key:${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`);
    const turns = (list: Buffer[]): void => {
      for (let i = 0; i < list.length; i += TURN) {
        begin.run();
        for (let j = i; j < i + TURN && j < list.length; j++) set(list[j]!);
        commit.run();
      }
    };
    const seconds = (fn: () => void): number => {
      const t = process.hrtime.bigint();
      fn();
      return Number(process.hrtime.bigint() - t) / 1e9;
    };
    const loaded = Array.from({ length: keys }, randomKey);
    const pick = (): Buffer => loaded[Math.floor(Math.random() * keys)]!;
    const insertS = seconds(() => turns(loaded));
    const updateS = seconds(() => turns(Array.from({ length: keys }, pick)));
    const getS = seconds(() => {
      for (let i = 0; i < keys; i++) {
        const k = pick();
        get.get(...args(k, keySlot(k)));
      }
    });
    // WAL bytes: the WAL starts empty and is not checkpointed while counting.
    const walBytes = (list: Buffer[]): number => {
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.pragma('wal_autocheckpoint = 0');
      turns(list);
      const bytes = fs.statSync(`${file}-wal`).size;
      db.pragma('wal_autocheckpoint = 1000');
      return bytes / list.length;
    };
    const sample = Math.min(20_000, keys);
    const walInsert = walBytes(Array.from({ length: sample }, randomKey));
    const walUpdate = walBytes(Array.from({ length: sample }, pick));
    db.pragma('wal_checkpoint(TRUNCATE)');
    const fileBytes = fs.statSync(file).size;
    return {
      variant, pageSize,
      insertsPerSec: keys / insertS, updatesPerSec: keys / updateS, getsPerSec: keys / getS,
      walBytesPerInsert: walInsert, walBytesPerUpdate: walUpdate, fileBytesPerKey: fileBytes / (keys + sample),
    };
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** BENCH_ONLY=storage-schema: every variant at 4096 and the current schema at other page sizes, BENCH_ROUNDS times, alternating. */
export function runStorageSchema(keys: number, rounds: number): void {
  const cases: Array<[SchemaVariant, number]> = [['current', 4096], ['slotkey', 4096], ['norowid', 4096], ['current', 1024], ['current', 2048], ['current', 8192]];
  const fmt = (x: number, d = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(`\n## Storage schema variants (SQLite alone, ${fmt(keys)} keys, 100-byte values, turns of ${TURN}); load average ${os.loadavg().map((l) => fmt(l, 2)).join(' ')}\n`);
  console.log('| schema | page | inserts/s | updates/s | gets/s | WAL bytes / insert | WAL bytes / update | file bytes / key |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (let round = 0; round < rounds; round++) {
    for (const [variant, page] of round % 2 === 0 ? cases : [...cases].reverse()) {
      const r = measureSchema(variant, page, keys);
      console.log(`| ${r.variant} | ${r.pageSize} | ${fmt(r.insertsPerSec)} | ${fmt(r.updatesPerSec)} | ${fmt(r.getsPerSec)} | ${fmt(r.walBytesPerInsert)} | ${fmt(r.walBytesPerUpdate)} | ${fmt(r.fileBytesPerKey, 1)} |`);
    }
  }
  console.log(`\nload average after: ${os.loadavg().map((l) => fmt(l, 2)).join(' ')}`);
}
