/**
 * Slot digests and slot rows read from a node's kv table (the consistency
 * check and its repair path). Values are decoded before hashing, so two nodes
 * with different compression settings still agree. Expired rows that are
 * still present count too: primary and replica are compared at the same
 * sequence, where both hold the same rows whatever their clocks say.
 *
 * Runs synchronously on the connection it is given; rows written in an open
 * (uncommitted) turn on that connection are included.
 */
import type { SlotDigest } from '../../common/replication.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { decodeValue } from '../engine/codec.js';
import type { Db } from '../engine/database.js';
import type { StoredRow } from '../engine/types.js';
import { DigestAccumulator } from './digest.js';

type DigestRow = [slot: number, key: Buffer, value: Buffer, flags: number, expiresAt: number | null];
type KvRow = [key: Buffer, flags: number, expiresAt: number | null, version: number, value: Buffer];

/** Digests of every non-empty slot, or only of `slots` (through the kv_slot index), ascending. */
export function computeSlotDigests(db: Db, slots?: readonly number[]): SlotDigest[] {
  const acc = new DigestAccumulator();
  const add = (row: DigestRow): void => acc.add(row[0], row[1], decodeValue(row[2], row[3]), row[4]);
  if (slots === undefined) {
    // iterate(): one row at a time, never the whole table in memory.
    const all = db.prepare('SELECT slot, key, value, flags, expires_at FROM kv').raw(true);
    for (const row of all.iterate() as IterableIterator<DigestRow>) add(row);
  } else {
    const one = db.prepare('SELECT slot, key, value, flags, expires_at FROM kv WHERE slot = ?').raw(true);
    for (const slot of new Set(slots)) {
      checkSlot(slot);
      for (const row of one.iterate(slot) as IterableIterator<DigestRow>) add(row);
    }
  }
  return acc.result();
}

/** The stored rows of one slot, as stored (value possibly compressed, per flags), for repair. */
export function readSlotRows(db: Db, slot: number): StoredRow[] {
  checkSlot(slot);
  const rows = db.prepare('SELECT key, flags, expires_at, version, value FROM kv WHERE slot = ?').raw(true).all(slot) as KvRow[];
  return rows.map(([key, flags, expiresAt, version, value]) => ({ key, flags, expiresAt, version, value }));
}

function checkSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) throw new RangeError(`slot ${slot} is not in 0..${SLOT_COUNT - 1}`);
}
