/**
 * The DUMP payload of a string value, as Redis's rdb.c writes and reads it:
 * RDB type byte 0, the string (length-prefixed, as an INT8/16/32 integer,
 * or LZF-compressed), the 2-byte RDB version (little endian) and the CRC-64
 * of everything before it (little endian). Pure: no I/O, never throws on
 * bad input.
 */
import { crc64 } from './crc64.js';
import { lzfCompress, lzfDecompress } from './rdb-lzf.js';
import { parseInt64 } from './args.js';

/** The RDB version DUMP writes: Redis 7.0's, so every Redis 7 accepts the payload. */
export const DUMP_RDB_VERSION = 10;
/**
 * The newest RDB version RESTORE accepts: Redis 7.4's. A string is encoded
 * the same way in versions 10 to 12 (Redis 7.0 refuses anything above 10).
 */
export const RESTORE_MAX_RDB_VERSION = 12;

const RDB_TYPE_STRING = 0;
const ENC_INT8 = 0;
const ENC_INT16 = 1;
const ENC_INT32 = 2;
const ENC_LZF = 3;

/** Non-string RDB object types, by the data type they hold (rdb.h, up to Redis 7.4). */
const RDB_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'list', 2: 'set', 3: 'zset', 4: 'hash', 5: 'zset', 6: 'module', 7: 'module', 9: 'hash', 10: 'list', 11: 'set',
  12: 'zset', 13: 'hash', 14: 'list', 15: 'stream', 16: 'hash', 17: 'zset', 18: 'list', 19: 'stream', 20: 'set',
  21: 'stream', 22: 'hash', 23: 'hash', 24: 'hash',
};

export type DumpDecodeResult =
  | { readonly ok: true; readonly value: Buffer }
  /** version: RDB version too new or CRC mismatch; format: malformed; type: a valid non-string type; tooLarge: over the limit. */
  | { readonly ok: false; readonly reason: 'version' | 'format' }
  | { readonly ok: false; readonly reason: 'type'; readonly rdbType: number; readonly typeName: string }
  | { readonly ok: false; readonly reason: 'tooLarge'; readonly length: number };

/** rdbSaveLen: 6-bit, 14-bit, 32-bit or 64-bit big-endian length. */
export function encodeLength(len: number): Buffer {
  if (len < 64) return Buffer.from([len]);
  if (len < 16384) return Buffer.from([(len >> 8) | 0x40, len & 0xff]);
  if (len <= 0xffffffff) {
    const b = Buffer.alloc(5);
    b[0] = 0x80;
    b.writeUInt32BE(len, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0x81;
  b.writeBigUInt64BE(BigInt(len), 1);
  return b;
}

/** rdbTryIntegerEncoding: a canonical decimal int32 as INT8/INT16/INT32, else null. */
function encodeInteger(value: Buffer): Buffer | null {
  if (value.length > 11) return null;
  const v = parseInt64(value);
  if (typeof v !== 'number') return null;
  if (v >= -128 && v <= 127) return Buffer.from([0xc0 | ENC_INT8, v & 0xff]);
  if (v >= -32768 && v <= 32767) {
    const b = Buffer.alloc(3);
    b[0] = 0xc0 | ENC_INT16;
    b.writeInt16LE(v, 1);
    return b;
  }
  if (v >= -2147483648 && v <= 2147483647) {
    const b = Buffer.alloc(5);
    b[0] = 0xc0 | ENC_INT32;
    b.writeInt32LE(v, 1);
    return b;
  }
  return null;
}

/** rdbSaveRawString: integer encoding, else LZF when it saves at least 4 bytes (strings over 20 bytes), else verbatim. */
export function encodeRdbString(value: Buffer): Buffer {
  const asInt = encodeInteger(value);
  if (asInt !== null) return asInt;
  if (value.length > 20) {
    const packed = lzfCompress(value, value.length - 4);
    if (packed !== null) {
      return Buffer.concat([Buffer.from([0xc0 | ENC_LZF]), encodeLength(packed.length), encodeLength(value.length), packed]);
    }
  }
  return Buffer.concat([encodeLength(value.length), value]);
}

/** `body` (type byte and object) followed by the RDB version and the CRC-64 of both. */
export function withDumpFooter(body: Buffer, rdbVersion = DUMP_RDB_VERSION): Buffer {
  const version = Buffer.alloc(2);
  version.writeUInt16LE(rdbVersion, 0);
  const signed = Buffer.concat([body, version]);
  const crc = Buffer.alloc(8);
  crc.writeBigUInt64LE(crc64(0n, signed), 0);
  return Buffer.concat([signed, crc]);
}

/** DUMP's reply for a string value. */
export function encodeDumpPayload(value: Buffer): Buffer {
  return withDumpFooter(Buffer.concat([Buffer.from([RDB_TYPE_STRING]), encodeRdbString(value)]));
}

/** verifyDumpPayload: at least 10 bytes, a known RDB version, a matching CRC-64. */
export function verifyDumpPayload(payload: Buffer): boolean {
  if (payload.length < 10) return false;
  const footer = payload.length - 10;
  if (payload.readUInt16LE(footer) > RESTORE_MAX_RDB_VERSION) return false;
  return crc64(0n, payload.subarray(0, payload.length - 8)) === payload.readBigUInt64LE(footer + 2);
}

/** A read cursor over the payload (Redis reads the object from the whole buffer, footer included). */
class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  byte(): number | null {
    return this.pos < this.buf.length ? this.buf[this.pos++]! : null;
  }
  bytes(n: number): Buffer | null {
    if (n > this.buf.length - this.pos) return null;
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** The most bytes LZF decompresses from one input byte (264 from a 3-byte back reference). */
const LZF_MAX_EXPANSION = 88;

/** rdbLoadLenByRef: the length, or the encoding number when `encoded`; null when truncated. */
function readLength(r: Reader): { len: number; encoded: boolean } | null {
  const first = r.byte();
  if (first === null) return null;
  const kind = first >> 6;
  if (kind === 3) return { len: first & 0x3f, encoded: true };
  if (kind === 0) return { len: first & 0x3f, encoded: false };
  if (kind === 1) {
    const second = r.byte();
    return second === null ? null : { len: ((first & 0x3f) << 8) | second, encoded: false };
  }
  if (first === 0x80) {
    const b = r.bytes(4);
    return b === null ? null : { len: b.readUInt32BE(0), encoded: false };
  }
  if (first === 0x81) {
    const b = r.bytes(8);
    if (b === null) return null;
    const v = b.readBigUInt64BE(0);
    // Longer than any payload can be: treat as unreadable rather than lose precision.
    return { len: v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v), encoded: false };
  }
  return null;
}

/** rdbGenericLoadStringObject for a string value; `maxLength` bounds what is allocated. */
function readString(r: Reader, maxLength: number): DumpDecodeResult {
  const FORMAT = { ok: false, reason: 'format' } as const;
  const head = readLength(r);
  if (head === null) return FORMAT;
  if (!head.encoded) {
    if (head.len > maxLength) return { ok: false, reason: 'tooLarge', length: head.len };
    const b = r.bytes(head.len);
    return b === null ? FORMAT : { ok: true, value: Buffer.from(b) };
  }
  if (head.len === ENC_INT8 || head.len === ENC_INT16 || head.len === ENC_INT32) {
    const size = head.len === ENC_INT8 ? 1 : head.len === ENC_INT16 ? 2 : 4;
    const b = r.bytes(size);
    if (b === null) return FORMAT;
    const v = size === 1 ? b.readInt8(0) : size === 2 ? b.readInt16LE(0) : b.readInt32LE(0);
    return { ok: true, value: Buffer.from(String(v)) };
  }
  if (head.len === ENC_LZF) {
    // rdbLoadLen(rdb, NULL): a length written with the 11xxxxxx marker counts as its low 6 bits, not as an error.
    const clen = readLength(r);
    if (clen === null) return FORMAT;
    const len = readLength(r);
    if (len === null) return FORMAT;
    const packed = r.bytes(clen.len);
    if (packed === null) return FORMAT;
    // More than LZF can produce from clen bytes (a back reference writes at most 264 bytes from 3): Redis's
    // decompression fails on it (Bad data format), so that comes before our own size limit.
    if (len.len > clen.len * LZF_MAX_EXPANSION) return FORMAT;
    if (len.len > maxLength) return { ok: false, reason: 'tooLarge', length: len.len };
    // Redis compares lzf_decompress's result (0 on any error) with the length: a length of 0 always passes.
    if (len.len === 0) return { ok: true, value: Buffer.alloc(0) };
    const value = lzfDecompress(packed, len.len);
    return value === null ? FORMAT : { ok: true, value };
  }
  return FORMAT;
}

/**
 * RESTORE's checks and decoding, in Redis's order: version and checksum,
 * then the object type, then the string. `maxLength` is the largest value
 * the node stores (checked before anything that size is allocated).
 */
export function decodeDumpPayload(payload: Buffer, maxLength: number): DumpDecodeResult {
  if (!verifyDumpPayload(payload)) return { ok: false, reason: 'version' };
  const r = new Reader(payload);
  const type = r.byte();
  if (type === null) return { ok: false, reason: 'format' };
  if (type !== RDB_TYPE_STRING) {
    const typeName = RDB_TYPE_NAMES[type];
    return typeName === undefined ? { ok: false, reason: 'format' } : { ok: false, reason: 'type', rdbType: type, typeName };
  }
  return readString(r, maxLength);
}
