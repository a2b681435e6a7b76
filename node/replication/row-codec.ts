/**
 * The binary bodies that carry stored rows: snapshot and migration rows,
 * and SlotReset (a repaired slot's rows). Decoded keys and values are
 * subarrays of the input, not copies. Pure: no I/O.
 */
import type { StoredRow } from '../engine/types.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { FrameError } from '../../common/frame-fields.js';
import { BodyCursor, wireExpiry } from './body-codec.js';

/** keyLen + flags + expiresAt + version + valueLen: the smallest possible row. */
const MIN_ROW_BYTES = 4 + 1 + 8 + 8 + 4;

/** [u32 count] then per row [u32 keyLen][key][u8 flags][f64 expiresAt|-1][f64 version][u32 valueLen][value]. */
export function encodeRows(rows: readonly StoredRow[]): Buffer {
  return writeRows(rows, 0, () => undefined);
}

function writeRows(rows: readonly StoredRow[], prefix: number, writePrefix: (out: Buffer) => void): Buffer {
  let size = prefix + 4;
  for (const r of rows) size += MIN_ROW_BYTES + r.key.length + r.value.length;
  const out = Buffer.allocUnsafe(size);
  writePrefix(out);
  let pos = out.writeUInt32BE(rows.length, prefix);
  for (const r of rows) {
    if (!Number.isInteger(r.flags) || r.flags < 0 || r.flags > 255) throw new RangeError(`row flags ${r.flags} do not fit a byte`);
    pos = out.writeUInt32BE(r.key.length, pos);
    pos += r.key.copy(out, pos);
    pos = out.writeUInt8(r.flags, pos);
    pos = out.writeDoubleBE(wireExpiry(r.expiresAt), pos);
    pos = out.writeDoubleBE(r.version, pos);
    pos = out.writeUInt32BE(r.value.length, pos);
    pos += r.value.copy(out, pos);
  }
  return out;
}

function readRows(c: BodyCursor): StoredRow[] {
  const n = c.itemCount(MIN_ROW_BYTES, 'row count');
  const out: StoredRow[] = new Array<StoredRow>(n);
  for (let i = 0; i < n; i++) {
    const key = c.bytes(`row ${i} key`);
    const flags = c.u8(`row ${i} flags`);
    const expiresAt = c.expiry(`row ${i} expiresAt`);
    const version = c.count(`row ${i} version`);
    const value = c.bytes(`row ${i} value`);
    out[i] = { key, flags, expiresAt, version, value };
  }
  return out;
}

export function decodeRows(body: Buffer): StoredRow[] {
  const c = new BodyCursor(body, 'rows');
  const rows = readRows(c);
  c.end();
  return rows;
}

/** SlotReset body: [u16 slot][rows]; the replica replaces the slot's rows with these. */
export function encodeSlotReset(slot: number, rows: readonly StoredRow[]): Buffer {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) throw new RangeError(`slot ${slot} is not in 0..${SLOT_COUNT - 1}`);
  return writeRows(rows, 2, (out) => out.writeUInt16BE(slot, 0));
}

export function decodeSlotReset(body: Buffer): { slot: number; rows: StoredRow[] } {
  const c = new BodyCursor(body, 'SlotReset frame');
  const slot = c.u16('slot');
  if (slot >= SLOT_COUNT) throw new FrameError(`SlotReset frame: slot ${slot} is not in 0..${SLOT_COUNT - 1}`);
  const rows = readRows(c);
  c.end();
  return { slot, rows };
}
