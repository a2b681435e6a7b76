/**
 * BITFIELD's integer arithmetic (Redis 7 bitops.c): reading and writing
 * i1..i64 / u1..u63 fields at any bit offset (bit 0 = the most significant
 * bit of byte 0, bytes past the end read as 0), and the overflow rules of
 * SET and INCRBY under WRAP, SAT and FAIL. Pure, bigint throughout so
 * 64-bit values stay exact; unit-tested against a model with fast-check.
 */

export type Overflow = 'wrap' | 'sat' | 'fail';

export interface FieldType {
  readonly signed: boolean;
  /** 1..64 signed, 1..63 unsigned. */
  readonly bits: number;
}

/** The field's bits as an unsigned number (bytes past the end of `buf` are 0). */
export function readUnsigned(buf: Uint8Array, offset: number, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i++) {
    const pos = offset + i;
    const byte = pos >>> 3;
    const bit = byte < buf.length ? (buf[byte]! >> (7 - (pos & 7))) & 1 : 0;
    v = (v << 1n) | BigInt(bit);
  }
  return v;
}

/** The field read as its type (two's complement when signed). */
export function readField(buf: Uint8Array, offset: number, type: FieldType): bigint {
  const u = readUnsigned(buf, offset, type.bits);
  return type.signed ? BigInt.asIntN(type.bits, u) : u;
}

/** Writes the low `bits` bits of `value` at `offset`; `buf` must be long enough. */
export function writeField(buf: Uint8Array, offset: number, bits: number, value: bigint): void {
  const u = BigInt.asUintN(bits, value);
  for (let i = 0; i < bits; i++) {
    const pos = offset + i;
    const mask = 0x80 >> (pos & 7);
    const on = (u >> BigInt(bits - 1 - i)) & 1n;
    buf[pos >>> 3] = on === 1n ? buf[pos >>> 3]! | mask : buf[pos >>> 3]! & ~mask;
  }
}

const INT64_MAX = (1n << 63n) - 1n;

/**
 * checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow: 1 when
 * value + incr is above the type's range, -1 below, 0 inside. Written as
 * Redis's C is, int64 wrap-around included: for a signed SET (incr 0) of a
 * value so negative that `max - value` wraps, Redis reports an overflow
 * upwards, so SAT stores the maximum (i1: SET -2^63 stores 0, not -1).
 */
function overflowDirection(value: bigint, incr: bigint, type: FieldType): -1 | 0 | 1 {
  const bits = type.bits;
  if (type.signed) {
    const max = bits === 64 ? INT64_MAX : (1n << BigInt(bits - 1)) - 1n;
    const min = -max - 1n;
    const maxincr = BigInt.asIntN(64, max - value);
    const minincr = BigInt.asIntN(64, min - value);
    if (value > max || (bits !== 64 && incr > maxincr) || (value >= 0n && incr > 0n && incr > maxincr)) return 1;
    if (value < min || (bits !== 64 && incr < minincr) || (value < 0n && incr < 0n && incr < minincr)) return -1;
    return 0;
  }
  const max = (1n << BigInt(bits)) - 1n;
  if (value > max || (incr > 0n && incr > BigInt.asIntN(64, max - value))) return 1;
  if (incr < 0n && incr < BigInt.asIntN(64, -value)) return -1;
  return 0;
}

/**
 * The value to store for `value` + `incr` (SET: the argument and 0; an
 * unsigned SET's argument is first cast to uint64, as Redis does), or null
 * when it overflows under FAIL.
 */
export function fitField(value: bigint, incr: bigint, type: FieldType, overflow: Overflow): bigint | null {
  const direction = overflowDirection(value, incr, type);
  if (direction === 0) return value + incr;
  if (overflow === 'fail') return null;
  if (overflow === 'sat') {
    const b = BigInt(type.bits);
    if (!type.signed) return direction > 0 ? (1n << b) - 1n : 0n;
    const max = type.bits === 64 ? INT64_MAX : (1n << (b - 1n)) - 1n;
    return direction > 0 ? max : -max - 1n;
  }
  return type.signed ? BigInt.asIntN(type.bits, value + incr) : BigInt.asUintN(type.bits, value + incr);
}

export type FieldOp =
  | { readonly kind: 'get'; readonly type: FieldType; readonly offset: number }
  | { readonly kind: 'set' | 'incrby'; readonly type: FieldType; readonly offset: number; readonly arg: bigint; readonly overflow: Overflow };

/**
 * Runs one operation on `buf` (long enough for every write). `reply`: GET
 * answers the field, SET the old value, INCRBY the new one; null when FAIL
 * refused the write (nothing written). `changed`: the field now holds a
 * different value (what Redis counts as a change).
 */
export function runFieldOp(buf: Uint8Array, op: FieldOp): { reply: bigint | null; changed: boolean } {
  const old = readField(buf, op.offset, op.type);
  if (op.kind === 'get') return { reply: old, changed: false };
  const stored = op.kind === 'incrby'
    ? fitField(old, op.arg, op.type, op.overflow)
    : fitField(op.type.signed ? op.arg : BigInt.asUintN(64, op.arg), 0n, op.type, op.overflow);
  if (stored === null) return { reply: null, changed: false };
  writeField(buf, op.offset, op.type.bits, stored);
  return { reply: op.kind === 'set' ? old : stored, changed: stored !== old };
}
