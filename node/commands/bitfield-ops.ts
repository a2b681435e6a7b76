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

function limits(type: FieldType): { min: bigint; max: bigint } {
  const b = BigInt(type.bits);
  return type.signed ? { min: -(1n << (b - 1n)), max: (1n << (b - 1n)) - 1n } : { min: 0n, max: (1n << b) - 1n };
}

/**
 * checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow: the value to
 * store for `target` (the exact result of SET or INCRBY), or null when it
 * overflows under FAIL. An unsigned SET of a negative number is, as in
 * Redis, the 64-bit two's complement (so it overflows upwards).
 */
export function fitValue(target: bigint, type: FieldType, overflow: Overflow): bigint | null {
  const { min, max } = limits(type);
  if (target >= min && target <= max) return target;
  if (overflow === 'fail') return null;
  if (overflow === 'sat') return target > max ? max : min;
  return type.signed ? BigInt.asIntN(type.bits, target) : BigInt.asUintN(type.bits, target);
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
  // Unsigned SET: Redis casts the int64 argument to uint64 first.
  const target = op.kind === 'incrby' ? old + op.arg : op.type.signed ? op.arg : BigInt.asUintN(64, op.arg);
  const stored = fitValue(target, op.type, op.overflow);
  if (stored === null) return { reply: null, changed: false };
  writeField(buf, op.offset, op.type.bits, stored);
  return { reply: op.kind === 'set' ? old : stored, changed: stored !== old };
}
