/**
 * The cluster bus wire format: framing, and the binary bodies of the
 * high-volume frames (log batches, acks, snapshot and repair rows). The JSON
 * control messages are validated in messages.ts. Pure: no I/O.
 *
 * A frame is [u32 BE length][u8 type][body], length = 1 + body length. All
 * integers are big-endian; sequence numbers, versions and times travel as
 * float64 (they are safe integers), and -1 stands for "no expiry".
 *
 * Decoded Buffers (frame bodies, keys, values) are subarrays of the input,
 * not copies: they keep the received chunk alive for as long as they are held,
 * and the caller must not modify the input afterwards.
 */
import type { Mutation, StoredRow } from '../engine/types.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { FrameError } from '../../common/frame-fields.js';

export { FrameError };

/** Largest frame body a reader accepts by default. */
/** Body limit once a peer is authenticated: one value at its largest (maxValueBytes ≤ 512 MiB) plus its key and framing. */
export const MAX_FRAME_BYTES = 640 * 1024 * 1024;
/** Body limit for a connection's first frame (Hello, Probe, MigrateBegin: small JSON), before the peer is authenticated. */
export const HANDSHAKE_FRAME_BYTES = 1024 * 1024;

export enum FrameType {
  Hello = 1,
  Welcome = 2,
  Refuse = 3,
  Entries = 4,
  Ack = 5,
  SnapshotBegin = 6,
  SnapshotRows = 7,
  SnapshotEnd = 8,
  DigestRequest = 9,
  DigestReply = 10,
  SlotReset = 11,
  Probe = 12,
  ProbeReply = 13,
  Ping = 14,
  // Live slot migration (node/migration/). First frames of a migration connection: Begin, Abort.
  MigrateBegin = 20,
  MigrateReady = 21,
  MigrateRows = 22,
  MigrateEntries = 23,
  MigrateAck = 24,
  MigrateFlip = 25,
  MigrateFlipped = 26,
  MigrateAbort = 27,
  MigrateOutcome = 28,
  MigrateError = 29,
}

const MAX_FRAME_TYPE = FrameType.Ping;
const FIRST_MIGRATION_FRAME = FrameType.MigrateBegin;
const LAST_MIGRATION_FRAME = FrameType.MigrateError;

function knownFrameType(type: number): boolean {
  return (type >= 1 && type <= MAX_FRAME_TYPE) || (type >= FIRST_MIGRATION_FRAME && type <= LAST_MIGRATION_FRAME);
}
const HEADER_BYTES = 5;
/** The u32 length field counts the type byte too. */
const MAX_ENCODABLE_BODY = 0xffffffff - 1;

export interface Frame {
  readonly type: FrameType;
  readonly body: Buffer;
}


export function encodeFrame(type: FrameType, body: Buffer): Buffer {
  if (body.length > MAX_ENCODABLE_BODY) throw new RangeError(`frame body of ${body.length} bytes does not fit a u32 length`);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length + 1, 0);
  out.writeUInt8(type, 4);
  body.copy(out, HEADER_BYTES);
  return out;
}

export function encodeJsonFrame(type: FrameType, value: unknown): Buffer {
  return encodeFrame(type, Buffer.from(JSON.stringify(value), 'utf8'));
}

/**
 * Incremental frame reader over a byte stream. Chunks are kept in a list and
 * a frame's body is concatenated once, when it is complete, so a large frame
 * arriving in many small chunks costs linear time. A bad header throws as
 * soon as its 5 bytes are in, before any of the body is waited for; after
 * that the reader stays broken (every next() throws the same error).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private offset = 0;
  private total = 0;
  private broken: FrameError | null = null;
  /** Header of the frame being waited for (validated), or -1. */
  private pendingType = -1;
  private pendingBody = 0;

  constructor(private maxBodyBytes: number = MAX_FRAME_BYTES) {}

  /** Raises (or lowers) the limit for frames whose header has not been read yet. */
  setMaxBodyBytes(n: number): void {
    this.maxBodyBytes = n;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.total;
  }

  next(): Frame | null {
    if (this.broken !== null) throw this.broken;
    if (this.pendingType < 0) {
      if (this.total < HEADER_BYTES) return null;
      const h = this.peek(HEADER_BYTES);
      const length = h.readUInt32BE(0);
      const type = h[4]!;
      if (length === 0) return this.fail('frame length 0 (a frame holds at least its type byte)');
      if (!knownFrameType(type)) return this.fail(`unknown frame type ${type} (length ${length})`);
      if (length - 1 > this.maxBodyBytes) {
        return this.fail(`frame ${FrameType[type]} declares a ${length - 1}-byte body, over the ${this.maxBodyBytes}-byte limit`);
      }
      this.consume(HEADER_BYTES);
      this.pendingType = type;
      this.pendingBody = length - 1;
    }
    if (this.total < this.pendingBody) return null;
    const frame: Frame = { type: this.pendingType as FrameType, body: this.take(this.pendingBody) };
    this.pendingType = -1;
    return frame;
  }

  private fail(message: string): never {
    this.broken = new FrameError(message);
    this.chunks = [];
    this.total = 0;
    this.offset = 0;
    throw this.broken;
  }

  /** The first n buffered bytes without consuming them (n small: the header). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= n) return first.subarray(this.offset, this.offset + n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let off = this.offset;
    for (let i = 0; filled < n; i++) {
      const c = this.chunks[i]!;
      filled += c.copy(out, filled, off, Math.min(c.length, off + n - filled));
      off = 0;
    }
    return out;
  }

  private consume(n: number): void {
    this.take(n);
  }

  /** Removes and returns the first n buffered bytes (a subarray when they lie in one chunk). */
  private take(n: number): Buffer {
    this.total -= n;
    const first = this.chunks[0];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0;
    while (filled < n) {
      const c = this.chunks[used]!;
      const copied = c.copy(out, filled, this.offset, Math.min(c.length, this.offset + n - filled));
      filled += copied;
      if (this.offset + copied === c.length) {
        used++;
        this.offset = 0;
      } else {
        this.offset += copied;
      }
    }
    // One splice for all the chunks the frame used up: no per-chunk shifting.
    this.chunks.splice(0, used);
    return out;
  }
}

// ---- binary bodies -----------------------------------------------------------

export interface LoggedMutation {
  readonly seq: number;
  readonly m: Mutation;
}

const OP_SET = 1;
const OP_DEL = 2;
const OP_EXPIRE = 3;
const OP_CLEAR = 4;
/** seq + op + keyLen + valueLen + expiresAt: the smallest possible entry. */
const MIN_ENTRY_BYTES = 8 + 1 + 4 + 4 + 8;
/** keyLen + flags + expiresAt + version + valueLen: the smallest possible row. */
const MIN_ROW_BYTES = 4 + 1 + 8 + 8 + 4;
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

function wireExpiry(expiresAt: number | null): number {
  if (expiresAt === null) return -1;
  // -1 means "none" on the wire; the engine only stores expiries in the future (positive).
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new RangeError(`expiry ${expiresAt} is not a non-negative integer`);
  return expiresAt;
}

/** [u32 count] then per entry [f64 seq][u8 op][u32 keyLen][key][u32 valueLen][value][f64 expiresAt|-1]. */
export function encodeBatch(entries: readonly LoggedMutation[]): Buffer {
  let size = 4;
  for (const e of entries) size += MIN_ENTRY_BYTES + entryKey(e.m).length + entryValue(e.m).length;
  const out = Buffer.allocUnsafe(size);
  let pos = out.writeUInt32BE(entries.length, 0);
  for (const { seq, m } of entries) {
    const key = entryKey(m);
    const value = entryValue(m);
    pos = out.writeDoubleBE(seq, pos);
    pos = out.writeUInt8(opCode(m), pos);
    pos = out.writeUInt32BE(key.length, pos);
    pos += key.copy(out, pos);
    pos = out.writeUInt32BE(value.length, pos);
    pos += value.copy(out, pos);
    pos = out.writeDoubleBE(wireExpiry(entryExpiry(m)), pos);
  }
  return out;
}

/** Bounds-checked reads over a body; every failure names the field and offset. */
class Cursor {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number, field: string): void {
    if (this.buf.length - this.pos < n) {
      throw new FrameError(`${this.what}: truncated at byte ${this.pos} reading ${field} (${n} bytes needed, ${this.buf.length - this.pos} left)`);
    }
  }
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(field: string): number {
    this.need(8, field);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A non-negative safe integer sent as f64. */
  count(field: string): number {
    const at = this.pos;
    const v = this.f64(field);
    if (!Number.isSafeInteger(v) || v < 0) throw new FrameError(`${this.what}: ${field} at byte ${at} is ${v}, not a non-negative integer`);
    return v;
  }
  expiry(field: string): number | null {
    const at = this.pos;
    const v = this.f64(field);
    if (v === -1) return null;
    if (!Number.isSafeInteger(v) || v < 0) throw new FrameError(`${this.what}: ${field} at byte ${at} is ${v}, not -1 or a non-negative integer`);
    return v;
  }
  bytes(field: string): Buffer {
    const len = this.u32(`${field} length`);
    this.need(len, field);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skipBytes(field: string): void {
    const len = this.u32(`${field} length`);
    this.need(len, field);
    this.pos += len;
  }
  /** A declared item count that cannot fit in what is left is rejected before looping over it. */
  itemCount(minItemBytes: number, field: string): number {
    const n = this.u32(field);
    if (n * minItemBytes > this.buf.length - this.pos) {
      throw new FrameError(`${this.what}: ${field} ${n} cannot fit in the ${this.buf.length - this.pos} bytes left`);
    }
    return n;
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new FrameError(`${this.what}: ${this.buf.length - this.pos} trailing bytes after byte ${this.pos}`);
  }
}

function readEntries(c: Cursor, what: string): LoggedMutation[] {
  const n = c.itemCount(MIN_ENTRY_BYTES, 'entry count');
  const out: LoggedMutation[] = new Array<LoggedMutation>(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const at = c.pos;
    const seq = c.count(`entry ${i} seq`);
    if (seq <= prev) throw new FrameError(`${what}: entry ${i} at byte ${at} has seq ${seq}, not above the previous ${prev}`);
    prev = seq;
    const op = c.u8(`entry ${i} op`);
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
    out[i] = { seq, m };
  }
  return out;
}

/** FrameError on anything malformed: truncated, trailing bytes, a bad op, a seq not above the previous one. */
export function decodeBatch(body: Buffer): LoggedMutation[] {
  const c = new Cursor(body, 'log batch');
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
  const c = new Cursor(body, 'Entries frame');
  const epoch = c.u32('epoch');
  const entries = readEntries(c, 'Entries frame');
  c.end();
  return { epoch, entries };
}

/** First and last seq of a stored batch, skipping over keys and values (for the log table's columns). */
export function batchSeqRange(batch: Buffer): { first: number; last: number } {
  const c = new Cursor(batch, 'log batch');
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
  const c = new Cursor(body, 'Ack frame');
  const seq = c.count('seq');
  c.end();
  return seq;
}

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

function readRows(c: Cursor): StoredRow[] {
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
  const c = new Cursor(body, 'rows');
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
  const c = new Cursor(body, 'SlotReset frame');
  const slot = c.u16('slot');
  if (slot >= SLOT_COUNT) throw new FrameError(`SlotReset frame: slot ${slot} is not in 0..${SLOT_COUNT - 1}`);
  const rows = readRows(c);
  c.end();
  return { slot, rows };
}
