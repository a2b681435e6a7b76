/**
 * A consistent read of the rows of some slots, for a migration's copy:
 * like the replication SnapshotReader, a ReadTransaction (a second
 * read-only SQLite connection that sees the database as of its first read
 * while the node keeps committing); the sequence read in that transaction is
 * where the forwarded writes start. Pages through each slot by rowid on the slot
 * index; when the slots hold a large share of all rows, one pass over the
 * whole table in rowid order (sequential pages) filtered by slot is cheaper
 * than that many random row lookups.
 */
import type Database from 'better-sqlite3';
import type { SlotRange } from '../../common/cluster-map.js';
import { rangesToSlots } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import type { StoredRow } from '../engine/types.js';
import { ReadTransaction, rowBytes, type RowTuple } from '../replication/snapshot.js';
import { KV_ROWS_SQL } from '../engine/kv-rows.js';

type ScanTuple = [id: number, slot: number, key: Buffer, flags: number, expiresAt: number | null, version: number, value: Buffer];

const PAGE_ROWS = 512;
/** Above this share of all rows, the whole table is scanned instead of the slot index. */
const SCAN_SHARE = 0.25;

export class SlotSnapshot {
  readonly seq: number;
  readonly totalKeys: number;
  private readonly tx: ReadTransaction;
  private readonly page: Database.Statement;
  /** Non-null: the table is scanned in rowid order and rows are filtered by slot. */
  private readonly scan: Database.Statement | null;
  private readonly wanted = new Uint8Array(SLOT_COUNT);
  private readonly slots: number[];
  private slotIndex = 0;
  private lastId = 0;

  /** `now`: rows already expired then are left out (the source deletes them itself, and the delete is forwarded). */
  constructor(file: string, ranges: readonly SlotRange[], private readonly now: number) {
    this.slots = rangesToSlots(ranges);
    this.tx = new ReadTransaction(file);
    this.seq = this.tx.seq;
    [this.totalKeys, this.page, this.scan] = this.tx.setUp((db) => {
      const count = db.prepare('SELECT COUNT(*) FROM kv WHERE slot BETWEEN ? AND ?').pluck();
      let total = 0;
      for (const [a, b] of ranges) total += count.get(a, b) as number;
      const page = db.prepare('SELECT id, key, flags, expires_at, version, value FROM kv WHERE slot = ? AND id > ? ORDER BY id LIMIT ?').raw();
      const all = db.prepare(KV_ROWS_SQL).pluck().get() as number;
      const scan = total > 0 && total >= all * SCAN_SHARE
        ? db.prepare('SELECT id, slot, key, flags, expires_at, version, value FROM kv WHERE id > ? ORDER BY id LIMIT ?').raw()
        : null;
      return [total, page, scan] as const;
    });
    for (const slot of this.slots) this.wanted[slot] = 1;
  }

  get done(): boolean {
    return this.slotIndex >= this.slots.length;
  }

  /** The next rows, about maxBytes of them (at most maxRows); [] once every slot has been read. */
  next(maxBytes: number, maxRows = 20_000): StoredRow[] {
    if (this.scan !== null) return this.nextScanned(maxBytes, maxRows);
    const rows: StoredRow[] = [];
    let bytes = 0;
    while (bytes < maxBytes && rows.length < maxRows && this.slotIndex < this.slots.length) {
      const slot = this.slots[this.slotIndex]!;
      const page = this.page.all(slot, this.lastId, PAGE_ROWS) as RowTuple[];
      for (const [id, key, flags, expiresAt, version, value] of page) {
        this.lastId = id;
        if (expiresAt !== null && expiresAt <= this.now) continue;
        rows.push({ key, flags, expiresAt, version, value });
        bytes += rowBytes(key, value);
      }
      if (page.length < PAGE_ROWS) {
        this.slotIndex++;
        this.lastId = 0;
      }
    }
    return rows;
  }

  private nextScanned(maxBytes: number, maxRows: number): StoredRow[] {
    const rows: StoredRow[] = [];
    let bytes = 0;
    while (bytes < maxBytes && rows.length < maxRows && this.slotIndex < this.slots.length) {
      const page = this.scan!.all(this.lastId, PAGE_ROWS) as ScanTuple[];
      for (const [id, slot, key, flags, expiresAt, version, value] of page) {
        this.lastId = id;
        if (this.wanted[slot] !== 1 || (expiresAt !== null && expiresAt <= this.now)) continue;
        rows.push({ key, flags, expiresAt, version, value });
        bytes += rowBytes(key, value);
      }
      // The end of the table ends every slot.
      if (page.length < PAGE_ROWS) this.slotIndex = this.slots.length;
    }
    return rows;
  }

  close(): void {
    this.tx.close();
  }
}
