/**
 * SETBIT, GETBIT, BITCOUNT, BITPOS (Redis 7 bitops.c). Bit 0 is the most
 * significant bit of byte 0. The range and search logic is pure (bitRange,
 * countBits, findBit) and unit-tested; SETBIT writes through the keyspace
 * like SETRANGE (zero padding, TTL kept).
 */
import { Errors, ONE, ZERO, error, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { optionName, parseInt64Big } from './args.js';
import { valueTooLarge } from './limits.js';
import { lookupRead } from './lookup.js';

const BIT_OFFSET_ERR = 'ERR bit offset is not an integer or out of range';

/** getBitOffsetFromArgument: 0 ≤ offset and offset/8 < proto-max-bulk-len (IrisDB: maxBulkBytes). */
function bitOffset(ctx: CommandContext, arg: Buffer): number | Reply {
  const v = parseInt64Big(arg);
  if (v === null || v < 0n || (v >> 3n) >= BigInt(ctx.server.config.maxBulkBytes)) return error(BIT_OFFSET_ERR);
  return Number(v);
}

export function getBit(value: Buffer, offset: number): 0 | 1 {
  const byte = Math.floor(offset / 8);
  return byte < value.length && (value[byte]! & (0x80 >> (offset % 8))) !== 0 ? 1 : 0;
}

/**
 * BITCOUNT/BITPOS range: start and end in bytes (or bits), negative from the
 * end, clamped; returns the inclusive bit range, or null when it is empty.
 */
export function bitRange(byteLength: number, start: bigint, end: bigint, isBit: boolean): { from: number; to: number } | null {
  const total = BigInt(isBit ? byteLength * 8 : byteLength);
  if (start < 0n) start += total;
  if (end < 0n) end += total;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= total) end = total - 1n;
  if (start > end) return null;
  return isBit ? { from: Number(start), to: Number(end) } : { from: Number(start) * 8, to: Number(end) * 8 + 7 };
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let x = i; x !== 0; x >>= 1) n += x & 1;
  return n;
});

/** Set bits in the inclusive bit range [from, to]. */
export function countBits(value: Buffer, from: number, to: number): number {
  let n = 0;
  let i = from;
  for (; i <= to && i % 8 !== 0; i++) n += getBit(value, i);
  for (; i + 7 <= to; i += 8) n += POPCOUNT[value[i / 8]!]!;
  for (; i <= to; i++) n += getBit(value, i);
  return n;
}

/** First bit equal to `bit` in [from, to], or -1. */
export function findBit(value: Buffer, bit: 0 | 1, from: number, to: number): number {
  const skip = bit === 1 ? 0x00 : 0xff; // a whole byte that cannot contain the bit
  let i = from;
  while (i <= to) {
    if (i % 8 === 0 && i + 7 <= to && value[i / 8] === skip) {
      i += 8;
      continue;
    }
    if (getBit(value, i) === bit) return i;
    i++;
  }
  return -1;
}

function setbit(ctx: CommandContext, argv: Buffer[]): Reply {
  const offset = bitOffset(ctx, argv[2]!);
  if (typeof offset !== 'number') return offset;
  const on = parseInt64Big(argv[3]!);
  if (on === null || (on !== 0n && on !== 1n)) return error('ERR bit is not an integer or out of range');
  const ks = ctx.server.keyspace;
  const key = argv[1]!;
  const e = ks.get(key, ctx.now);
  const old = e === null ? Buffer.alloc(0) : e.value;
  const byte = Math.floor(offset / 8);
  const previous = getBit(old, offset);
  const grows = e === null || byte >= old.length;
  if (grows) {
    const tooLarge = valueTooLarge(ctx.server.config, byte + 1);
    if (tooLarge !== null) return tooLarge;
  }
  if (grows || previous !== Number(on)) {
    const value = Buffer.alloc(Math.max(old.length, byte + 1));
    old.copy(value, 0);
    const mask = 0x80 >> (offset % 8);
    value[byte] = on === 1n ? value[byte]! | mask : value[byte]! & ~mask;
    ks.set(key, value, e === null ? null : e.expiresAt);
  }
  return previous === 1 ? ONE : ZERO;
}

function getbit(ctx: CommandContext, argv: Buffer[]): Reply {
  const offset = bitOffset(ctx, argv[2]!);
  if (typeof offset !== 'number') return offset;
  const e = lookupRead(ctx, argv[1]!);
  return e === null ? ZERO : getBit(e.value, offset) === 1 ? ONE : ZERO;
}

/** BYTE or BIT (strcasecmp); null for anything else. */
function unit(arg: Buffer): boolean | null {
  const o = optionName(arg);
  return o === 'bit' ? true : o === 'byte' ? false : null;
}

function bitcount(ctx: CommandContext, argv: Buffer[]): Reply {
  const e = lookupRead(ctx, argv[1]!);
  if (e === null) return ZERO;
  const v = e.value;
  if (argv.length === 2) return integer(countBits(v, 0, v.length * 8 - 1));
  if (argv.length !== 4 && argv.length !== 5) return Errors.syntax();
  const start = parseInt64Big(argv[2]!);
  if (start === null) return Errors.notInteger();
  const end = parseInt64Big(argv[3]!);
  if (end === null) return Errors.notInteger();
  if (start < 0n && end < 0n && start > end) return ZERO;
  const isBit = argv.length === 5 ? unit(argv[4]!) : false;
  if (isBit === null) return Errors.syntax();
  const r = bitRange(v.length, start, end, isBit);
  return integer(r === null ? 0 : countBits(v, r.from, r.to));
}

function bitpos(ctx: CommandContext, argv: Buffer[]): Reply {
  const b = parseInt64Big(argv[2]!);
  if (b === null) return Errors.notInteger();
  if (b !== 0n && b !== 1n) return error('ERR The bit argument must be 1 or 0.');
  const bit = b === 1n ? 1 : 0;
  const e = lookupRead(ctx, argv[1]!);
  if (e === null) return integer(bit === 1 ? -1 : 0); // a missing key is an infinite run of 0 bits
  const v = e.value;
  if (argv.length > 6) return Errors.syntax();
  let start = 0n;
  let end = -1n;
  let isBit = false;
  const endGiven = argv.length >= 5;
  if (argv.length >= 4) {
    const s = parseInt64Big(argv[3]!);
    if (s === null) return Errors.notInteger();
    start = s;
    if (argv.length === 6) {
      const u = unit(argv[5]!);
      if (u === null) return Errors.syntax();
      isBit = u;
    }
    if (endGiven) {
      const x = parseInt64Big(argv[4]!);
      if (x === null) return Errors.notInteger();
      end = x;
    }
  }
  const r = bitRange(v.length, start, end, isBit);
  if (r === null) return integer(-1);
  const pos = findBit(v, bit, r.from, r.to);
  // Looking for a 0 without an explicit end: the string continues with 0 bits past its end.
  if (pos === -1 && bit === 0 && !endGiven) return integer(r.to + 1);
  return integer(pos);
}

export const bitCommands: readonly CommandSpec[] = [
  defineCommand('setbit', setbit),
  defineCommand('getbit', getbit),
  defineCommand('bitcount', bitcount),
  defineCommand('bitpos', bitpos),
];
