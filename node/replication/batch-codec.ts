/**
 * The binary bodies of the replication stream: log batches (stored as they
 * are sent), Entries frames and Acks. Sequence numbers travel as float64
 * (they are safe integers). Decoded keys and values are subarrays of the
 * input, not copies. Pure: no I/O.
 */
import type { Mutation } from '../engine/types.js';
import { FrameError } from '../../common/frame-fields.js';
import { BodyCursor, wireExpiry } from './body-codec.js';
import { FrameType, HEADER_BYTES } from './frames.js';

export interface LoggedMutation {
  readonly seq: number;
  readonly m: Mutation;
  /**
   * Written by a slot migration, not a client: the target's imported copies
   * and the cleanup deletes of slots that moved away. Point-in-time replay
   * skips them (docs/backup.md); everything else applies them as usual.
   */
  readonly migration?: true;
}

const OP_SET = 1;
const OP_DEL = 2;
const OP_EXPIRE = 3;
const OP_CLEAR = 4;
/** High bit of the op byte: LoggedMutation.migration (batches logged before it existed never set it). */
const OP_MIGRATION = 0x80;
/** seq + op + keyLen + valueLen + expiresAt: the smallest possible entry. */
const MIN_ENTRY_BYTES = 8 + 1 + 4 + 4 + 8;
const EMPTY = Buffer.alloc(0);

function entryKey(m: Mutation): Buffer {
  return m.op === 'clear' ? EMPTY : m.key;
}
function entryValue(m: Mutation): Buffer {
  return m.op === 'set' ? m.value : EMPTY;
}
function entryExpiry(m: Mutation): number | null {
  return m.op === 'set' || m.op === 'expire' ? m.expiresAt : null;
}
function opCode(m: Mutation): number {
  switch (m.op) {
    case 'set':
      return OP_SET;
    case 'del':
      return OP_DEL;
    case 'expire':
      return OP_EXPIRE;
    case 'clear':
      return OP_CLEAR;
  }
}

/** [u32 count] then per entry [f64 seq][u8 op][u32 keyLen][key][u32 valueLen][value][f64 expiresAt|-1]. */
export function encodeBatch(entries: readonly LoggedMutation[]): Buffer {
  let size = 4;
  for (const e of entries) size += MIN_ENTRY_BYTES + entryKey(e.m).length + entryValue(e.m).length;
  const out = Buffer.allocUnsafe(size);
  let pos = out.writeUInt32BE(entries.length, 0);
  for (const { seq, m, migration } of entries) {
    const key = entryKey(m);
    const value = entryValue(m);
    pos = out.writeDoubleBE(seq, pos);
    pos = out.writeUInt8(opCode(m) | (migration === true ? OP_MIGRATION : 0), pos);
    pos = out.writeUInt32BE(key.length, pos);
    pos += key.copy(out, pos);
    pos = out.writeUInt32BE(value.length, pos);
    pos += value.copy(out, pos);
    pos = out.writeDoubleBE(wireExpiry(entryExpiry(m)), pos);
  }
  return out;
}

function readEntries(c: BodyCursor, what: string): LoggedMutation[] {
  const n = c.itemCount(MIN_ENTRY_BYTES, 'entry count');
  const out: LoggedMutation[] = new Array<LoggedMutation>(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const at = c.pos;
    const seq = c.count(`entry ${i} seq`);
    if (seq <= prev) throw new FrameError(`${what}: entry ${i} at byte ${at} has seq ${seq}, not above the previous ${prev}`);
    prev = seq;
    const opByte = c.u8(`entry ${i} op`);
    const op = opByte & ~OP_MIGRATION;
    const key = c.bytes(`entry ${i} key`);
    const value = c.bytes(`entry ${i} value`);
    const expiresAt = c.expiry(`entry ${i} expiresAt`);
    let m: Mutation;
    switch (op) {
      case OP_SET:
        m = { op: 'set', key, value, expiresAt };
        break;
      case OP_DEL:
        m = { op: 'del', key };
        break;
      case OP_EXPIRE:
        m = { op: 'expire', key, expiresAt };
        break;
      case OP_CLEAR:
        m = { op: 'clear' };
        break;
      default:
        throw new FrameError(`${what}: entry ${i} at byte ${at} has unknown op ${op}`);
    }
    out[i] = (opByte & OP_MIGRATION) !== 0 ? { seq, m, migration: true } : { seq, m };
  }
  return out;
}

/** FrameError on anything malformed: truncated, trailing bytes, a bad op, a seq not above the previous one. */
export function decodeBatch(body: Buffer): LoggedMutation[] {
  const c = new BodyCursor(body, 'log batch');
  const entries = readEntries(c, 'log batch');
  c.end();
  return entries;
}

/** A whole Entries frame ([u32 sender epoch][batch]): a stored batch is copied in as it is, not re-encoded. */
export function entriesFrame(epoch: number, batch: Buffer): Buffer {
  const bodyLen = 4 + batch.length;
  const out = Buffer.allocUnsafe(HEADER_BYTES + bodyLen);
  out.writeUInt32BE(bodyLen + 1, 0);
  out.writeUInt8(FrameType.Entries, 4);
  out.writeUInt32BE(epoch, HEADER_BYTES);
  batch.copy(out, HEADER_BYTES + 4);
  return out;
}

export function decodeEntriesBody(body: Buffer): { epoch: number; entries: LoggedMutation[] } {
  const c = new BodyCursor(body, 'Entries frame');
  const epoch = c.u32('epoch');
  const entries = readEntries(c, 'Entries frame');
  c.end();
  return { epoch, entries };
}

/** First and last seq of a stored batch, skipping over keys and values (for the log table's columns). */
export function batchSeqRange(batch: Buffer): { first: number; last: number } {
  const c = new BodyCursor(batch, 'log batch');
  const n = c.itemCount(MIN_ENTRY_BYTES, 'entry count');
  if (n === 0) throw new FrameError('log batch: empty (no seq range)');
  let first = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const seq = c.count(`entry ${i} seq`);
    if (i === 0) first = seq;
    last = seq;
    c.u8(`entry ${i} op`);
    c.skipBytes(`entry ${i} key`);
    c.skipBytes(`entry ${i} value`);
    c.f64(`entry ${i} expiresAt`);
  }
  c.end();
  return { first, last };
}

/** A whole Ack frame: the highest seq the replica has durably applied. */
export function encodeAck(seq: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + 8);
  out.writeUInt32BE(9, 0);
  out.writeUInt8(FrameType.Ack, 4);
  out.writeDoubleBE(seq, HEADER_BYTES);
  return out;
}

export function decodeAck(body: Buffer): number {
  const c = new BodyCursor(body, 'Ack frame');
  const seq = c.count('seq');
  c.end();
  return seq;
}
