/**
 * A whole RDB file (what SAVE writes and a master sends a replica on a full
 * sync), read the way Redis's rdb.c loads it: the header, aux fields,
 * SELECTDB, RESIZEDB, EXPIRETIME / EXPIRETIME_MS, LRU/LFU hints, module aux
 * data and functions, then the objects. String values are decoded in every
 * encoding (plain, INT8/16/32, LZF: node/commands/rdb-lzf.ts); every other
 * type (lists, sets, hashes, zsets, streams, module values of the v2
 * format; plain, ziplist, listpack, intset or quicklist encodings) is
 * stepped over by its length prefixes and reported by type. The trailing
 * CRC-64 (node/commands/crc64.ts) is checked. Pure: no I/O; any malformed
 * input throws RdbError with the offset, never anything else.
 */
import { crc64 } from '../../node/commands/crc64.js';
import { lzfDecompress } from '../../node/commands/rdb-lzf.js';

export class RdbError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`RDB: ${message} at byte ${offset}`);
    this.name = 'RdbError';
  }
}

/** The newest RDB version read (Redis 7.4's). */
export const RDB_MAX_VERSION = 12;

export interface RdbHandlers {
  /** A string key; expiresAt: absolute Unix milliseconds, or null. */
  onString(db: number, key: Buffer, value: Buffer, expiresAt: number | null): void;
  /** A key of another type (not copied): its type name as TYPE says it. */
  onOther(db: number, key: Buffer, type: string): void;
}

export interface RdbSummary {
  readonly version: number;
  /** false when the file carries no checksum (rdbchecksum no writes zeros). */
  readonly checksumChecked: boolean;
  readonly aux: Readonly<Record<string, string>>;
}

const OP = { SLOT_INFO: 0xf4, FUNCTION2: 0xf5, FUNCTION_PRE_GA: 0xf6, MODULE_AUX: 0xf7, IDLE: 0xf8, FREQ: 0xf9, AUX: 0xfa, RESIZEDB: 0xfb, EXPIRETIME_MS: 0xfc, EXPIRETIME: 0xfd, SELECTDB: 0xfe, EOF: 0xff } as const;

/** Object types (rdb.h) and how their bodies are laid out. */
const TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'string', 1: 'list', 2: 'set', 3: 'zset', 4: 'hash', 5: 'zset', 7: 'module', 9: 'hash', 10: 'list', 11: 'set',
  12: 'zset', 13: 'hash', 14: 'list', 15: 'stream', 16: 'hash', 17: 'zset', 18: 'list', 19: 'stream', 20: 'set', 21: 'stream',
};

const ENC_INT8 = 0;
const ENC_INT16 = 1;
const ENC_INT32 = 2;
const ENC_LZF = 3;

/** A cursor over the file. */
export class RdbCursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  fail(message: string): never {
    throw new RdbError(message, this.pos);
  }
  byte(): number {
    if (this.pos >= this.buf.length) this.fail('unexpected end');
    return this.buf[this.pos++]!;
  }
  bytes(n: number): Buffer {
    if (n < 0 || n > this.buf.length - this.pos) this.fail(`a ${n}-byte field runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(n: number): void {
    this.bytes(n);
  }

  /** rdbLoadLenByRef: { len, encoded } (encoded: len is a string encoding number). */
  lengthOrEncoding(): { len: number; encoded: boolean } {
    const first = this.byte();
    const kind = first >> 6;
    if (kind === 3) return { len: first & 0x3f, encoded: true };
    if (kind === 0) return { len: first & 0x3f, encoded: false };
    if (kind === 1) return { len: ((first & 0x3f) << 8) | this.byte(), encoded: false };
    if (first === 0x80) return { len: this.bytes(4).readUInt32BE(0), encoded: false };
    if (first === 0x81) {
      const v = this.bytes(8).readBigUInt64BE(0);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('a length over 2^53');
      return { len: Number(v), encoded: false };
    }
    return this.fail(`bad length byte 0x${first.toString(16)}`);
  }

  length(): number {
    const l = this.lengthOrEncoding();
    if (l.encoded) this.fail('an encoded string where a length was expected');
    return l.len;
  }

  /** rdbGenericLoadStringObject. */
  string(): Buffer {
    const head = this.lengthOrEncoding();
    if (!head.encoded) return this.bytes(head.len);
    switch (head.len) {
      case ENC_INT8:
        return Buffer.from(String(this.bytes(1).readInt8(0)));
      case ENC_INT16:
        return Buffer.from(String(this.bytes(2).readInt16LE(0)));
      case ENC_INT32:
        return Buffer.from(String(this.bytes(4).readInt32LE(0)));
      case ENC_LZF: {
        const clen = this.length();
        const len = this.length();
        const packed = this.bytes(clen);
        // A compressed string expands at most ~8x per liblzf's format (a 3-byte reference covers up to 264 bytes): refuse absurd claims before allocating.
        if (len > clen * 100 + 64) this.fail(`an LZF string claims ${len} bytes from ${clen}`);
        const out = lzfDecompress(packed, len);
        if (out === null) this.fail('invalid LZF compressed string');
        return out;
      }
      default:
        return this.fail(`unknown string encoding ${head.len}`);
    }
  }

  skipString(): void {
    const head = this.lengthOrEncoding();
    if (!head.encoded) return this.skip(head.len);
    if (head.len === ENC_INT8) return this.skip(1);
    if (head.len === ENC_INT16) return this.skip(2);
    if (head.len === ENC_INT32) return this.skip(4);
    if (head.len === ENC_LZF) {
      const clen = this.length();
      this.length();
      return this.skip(clen);
    }
    this.fail(`unknown string encoding ${head.len}`);
  }

  /** A count of items about to be skipped: each takes at least one byte, so more than the rest of the file is corrupt. */
  count(perItem = 1): number {
    const n = this.length();
    if (n * perItem > this.buf.length - this.pos) this.fail(`a count of ${n} items runs past the end`);
    return n;
  }
}

/** Steps over one object of a non-string type. */
function skipObject(c: RdbCursor, type: number): void {
  switch (type) {
    case 1: case 2: { // list, set: n strings
      for (let n = c.count(); n > 0; n--) c.skipString();
      return;
    }
    case 3: { // zset: n (member, double as a length-prefixed text; 253-255 are nan/+inf/-inf)
      for (let n = c.count(2); n > 0; n--) {
        c.skipString();
        const dl = c.byte();
        if (dl < 253) c.skip(dl);
      }
      return;
    }
    case 4: { // hash: n (field, value)
      for (let n = c.count(2); n > 0; n--) {
        c.skipString();
        c.skipString();
      }
      return;
    }
    case 5: { // zset2: n (member, binary double)
      for (let n = c.count(9); n > 0; n--) {
        c.skipString();
        c.skip(8);
      }
      return;
    }
    case 7: // module, v2 format: module id, then typed values up to EOF
      c.skip(8);
      skipModuleValues(c);
      return;
    case 9: case 10: case 11: case 12: case 13: case 16: case 17: case 20: // one serialized blob (zipmap, ziplist, intset, listpack)
      c.skipString();
      return;
    case 14: { // quicklist: n ziplists
      for (let n = c.count(); n > 0; n--) c.skipString();
      return;
    }
    case 18: { // quicklist2: n (container kind, blob)
      for (let n = c.count(2); n > 0; n--) {
        c.length();
        c.skipString();
      }
      return;
    }
    case 15: case 19: case 21:
      skipStream(c, type);
      return;
    default:
      c.fail(`unsupported object type ${type}`);
  }
}

/** rdbLoadObject's stream layout (v1, v2: Redis 7.0, v3: Redis 7.2). */
function skipStream(c: RdbCursor, type: number): void {
  for (let n = c.count(2); n > 0; n--) {
    c.skipString(); // master id
    c.skipString(); // listpack
  }
  c.length(); // items
  c.length(); // last id ms
  c.length(); // last id seq
  if (type >= 19) {
    for (let i = 0; i < 5; i++) c.length(); // first id, max deleted id, entries added
  }
  for (let groups = c.count(); groups > 0; groups--) {
    c.skipString(); // name
    c.length();
    c.length(); // last id
    if (type >= 19) c.length(); // entries read
    for (let pel = c.count(16); pel > 0; pel--) {
      c.skip(16); // id
      c.skip(8); // delivery time
      c.length(); // delivery count
    }
    for (let consumers = c.count(); consumers > 0; consumers--) {
      c.skipString(); // name
      c.skip(8); // seen time
      if (type >= 21) c.skip(8); // active time
      for (let pel = c.count(16); pel > 0; pel--) c.skip(16);
    }
  }
}

/** Module values saved with the v2 API: (opcode, value) until opcode 0. */
function skipModuleValues(c: RdbCursor): void {
  for (;;) {
    const op = c.length();
    switch (op) {
      case 0:
        return;
      case 1: case 2:
        c.length();
        break;
      case 3:
        c.skip(4);
        break;
      case 4:
        c.skip(8);
        break;
      case 5:
        c.skipString();
        break;
      default:
        c.fail(`unknown module value opcode ${op}`);
    }
  }
}

/** Reads the whole file, calling `h` for every key. */
export function readRdb(buf: Buffer, h: RdbHandlers): RdbSummary {
  const c = new RdbCursor(buf);
  const magic = c.bytes(9).toString('latin1');
  if (!/^REDIS\d{4}$/.test(magic)) throw new RdbError('not an RDB file (no REDIS header)', 0);
  const version = Number(magic.slice(5));
  if (version < 1 || version > RDB_MAX_VERSION) throw new RdbError(`RDB version ${version} is not supported (1 to ${RDB_MAX_VERSION})`, 5);
  const aux: Record<string, string> = {};
  let db = 0;
  let expiresAt: number | null = null;
  for (;;) {
    const type = c.byte();
    switch (type) {
      case OP.EOF: {
        const end = c.pos;
        if (version < 5) return { version, checksumChecked: false, aux };
        const stored = c.bytes(8).readBigUInt64LE(0);
        if (stored === 0n) return { version, checksumChecked: false, aux };
        if (crc64(0n, buf.subarray(0, end)) !== stored) throw new RdbError('wrong RDB checksum', end);
        return { version, checksumChecked: true, aux };
      }
      case OP.SELECTDB:
        db = c.length();
        continue;
      case OP.RESIZEDB:
        c.length();
        c.length();
        continue;
      case OP.EXPIRETIME:
        expiresAt = c.bytes(4).readUInt32LE(0) * 1000;
        continue;
      case OP.EXPIRETIME_MS: {
        const v = c.bytes(8).readBigInt64LE(0);
        expiresAt = Number(v);
        continue;
      }
      case OP.AUX: {
        const k = c.string().toString('latin1');
        aux[k] = c.string().toString('latin1');
        continue;
      }
      case OP.FREQ:
        c.skip(1);
        continue;
      case OP.IDLE:
        c.length();
        continue;
      case OP.MODULE_AUX:
        c.length(); // module id
        c.length(); // when
        skipModuleValues(c);
        continue;
      case OP.FUNCTION2:
        c.skipString();
        continue;
      case OP.SLOT_INFO:
        c.length();
        c.length();
        c.length();
        continue;
      case OP.FUNCTION_PRE_GA:
        return c.fail('functions of Redis 7.0 release candidates are not supported');
      default: {
        const name = TYPE_NAMES[type];
        if (name === undefined) return c.fail(`unsupported object type ${type}`);
        const key = c.string();
        if (type === 0) h.onString(db, Buffer.from(key), Buffer.from(c.string()), expiresAt);
        else {
          skipObject(c, type);
          h.onOther(db, Buffer.from(key), name);
        }
        expiresAt = null;
      }
    }
  }
}
