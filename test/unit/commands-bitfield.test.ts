/**
 * BITFIELD's pure arithmetic (node/commands/bitfield-ops.ts) against a
 * simple BigInt model: the whole value as one big integer, fields cut out
 * with shifts, overflow computed with modular arithmetic. Plus the type and
 * offset parsers (node/commands/bitfield.ts). Redis parity is in
 * test/integration/redis-parity-bitfield.test.ts.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { fitField, readField, runFieldOp, writeField, type FieldType, type Overflow } from '../../node/commands/bitfield-ops.js';
import { parseFieldOffset, parseFieldType } from '../../node/commands/bitfield.js';

/** The buffer as one unsigned integer of length*8 bits (byte 0 most significant). */
function asBig(buf: Uint8Array): bigint {
  let v = 0n;
  for (const x of buf) v = (v << 8n) | BigInt(x);
  return v;
}

function modelRead(buf: Uint8Array, offset: number, bits: number, signed: boolean): bigint {
  const width = Math.max(buf.length * 8, offset + bits);
  const padded = asBig(buf) << BigInt(width - buf.length * 8); // zero bits past the end
  const u = (padded >> BigInt(width - offset - bits)) & ((1n << BigInt(bits)) - 1n);
  return signed && u >= 1n << BigInt(bits - 1) ? u - (1n << BigInt(bits)) : u;
}

/**
 * Redis's overflow rule as plain math on value + incr, plus the one place
 * where its C arithmetic wraps: a signed SET (incr 0, width < 64) of a value
 * so negative that max - value exceeds 2^63-1 is reported as an overflow
 * upwards (SAT stores max).
 */
function modelFit(value: bigint, incr: bigint, t: FieldType, o: Overflow): bigint | null {
  const size = 1n << BigInt(t.bits);
  const min = t.signed ? -(size / 2n) : 0n;
  const max = min + size - 1n;
  const target = value + incr;
  if (target >= min && target <= max) return target;
  if (o === 'fail') return null;
  const wrapsUp = t.signed && t.bits < 64 && incr === 0n && max - value > (1n << 63n) - 1n;
  if (o === 'sat') return target > max || wrapsUp ? max : min;
  return ((((target - min) % size) + size) % size) + min;
}

const fieldType = fc.boolean().chain((signed) => fc.integer({ min: 1, max: signed ? 64 : 63 }).map((bits) => ({ signed, bits })));
const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const overflow = fc.constantFrom<Overflow>('wrap', 'sat', 'fail');

describe('BITFIELD arithmetic: pure logic against a BigInt model', () => {
  it('readField reads any field of any buffer as the model does (zero past the end)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), fc.nat(120), fieldType, (buf, offset, t) => {
      expect(readField(buf, offset, t)).to.equal(modelRead(buf, offset, t.bits, t.signed));
    }), { numRuns: 3000 });
  });

  it('writeField changes exactly the field and reads back as written', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 10, maxLength: 12 }), fc.nat(16), fieldType, int64, (orig, offset, t, v) => {
      const buf = Uint8Array.from(orig);
      writeField(buf, offset, t.bits, v);
      const mask = ((1n << BigInt(t.bits)) - 1n) << BigInt(buf.length * 8 - offset - t.bits);
      expect(asBig(buf) & ~mask).to.equal(asBig(orig) & ~mask);
      const low = v & ((1n << BigInt(t.bits)) - 1n);
      expect(modelRead(buf, offset, t.bits, false)).to.equal(low);
    }), { numRuns: 3000 });
  });

  it('fitField: WRAP, SAT and FAIL agree with modular arithmetic and clamping (SET: any value; INCRBY: a field value plus any int64)', () => {
    const near = fc.oneof(int64, fc.bigInt({ min: -(1n << 63n), max: -(1n << 63n) + 300n }), fc.bigInt({ min: -300n, max: 300n }));
    const setCase = fc.tuple(fieldType, near).map(([t, v]) => ({ t, value: t.signed ? v : BigInt.asUintN(64, v), incr: 0n }));
    const incrCase = fc.tuple(fieldType, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), near).map(([t, raw, incr]) => {
      const value = t.signed ? BigInt.asIntN(t.bits, raw) : BigInt.asUintN(t.bits, raw);
      return { t, value, incr };
    });
    fc.assert(fc.property(fc.oneof(setCase, incrCase), overflow, ({ t, value, incr }, o) => {
      expect(fitField(value, incr, t, o)).to.equal(modelFit(value, incr, t, o));
    }), { numRuns: 10000 });
    expect(fitField(-(1n << 63n), 0n, { signed: true, bits: 1 }, 'sat')).to.equal(0n); // Redis: i1 SET -2^63 under SAT stores 0
  });

  it('runFieldOp: SET answers the old value, INCRBY the new one, FAIL writes nothing', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 9, maxLength: 9 }), fc.nat(8), fieldType, int64, overflow, fc.boolean(),
      (orig, offset, t, arg, o, incr) => {
        const buf = Uint8Array.from(orig);
        const old = modelRead(orig, offset, t.bits, t.signed);
        const want = incr ? modelFit(old, arg, t, o) : modelFit(t.signed ? arg : BigInt.asUintN(64, arg), 0n, t, o);
        const r = runFieldOp(buf, { kind: incr ? 'incrby' : 'set', type: t, offset, arg, overflow: o });
        if (want === null) {
          expect(r).to.deep.equal({ reply: null, changed: false });
          expect(Buffer.from(buf).equals(Buffer.from(orig))).to.equal(true);
          return;
        }
        expect(r.reply).to.equal(incr ? want : old);
        expect(r.changed).to.equal(want !== old);
        expect(modelRead(buf, offset, t.bits, t.signed)).to.equal(want);
      }), { numRuns: 5000 });
  });

  it('a u2 counter wraps, an i8 saturates, a FAIL overflow answers null', () => {
    const buf = new Uint8Array(1);
    const u2 = { signed: false, bits: 2 };
    const counts = [1n, 2n, 3n, 0n].map(() => runFieldOp(buf, { kind: 'incrby', type: u2, offset: 4, arg: 1n, overflow: 'wrap' }).reply);
    expect(counts).to.deep.equal([1n, 2n, 3n, 0n]);
    expect(runFieldOp(buf, { kind: 'incrby', type: { signed: true, bits: 8 }, offset: 0, arg: 200n, overflow: 'sat' }).reply).to.equal(127n);
    expect(runFieldOp(buf, { kind: 'incrby', type: u2, offset: 0, arg: 5n, overflow: 'fail' }).reply).to.equal(null);
  });

  it('parseFieldType: i1..i64 and u1..u63, lower case only, the width read as a C string', () => {
    expect(parseFieldType(Buffer.from('i64'))).to.deep.equal({ signed: true, bits: 64 });
    expect(parseFieldType(Buffer.from('u63'))).to.deep.equal({ signed: false, bits: 63 });
    expect(parseFieldType(Buffer.from('i8\0junk'))).to.deep.equal({ signed: true, bits: 8 });
    for (const bad of ['u64', 'i65', 'i0', 'I8', 'U8', 'x8', 'i', 'i08', 'i+8', 'i-1', '']) {
      expect(parseFieldType(Buffer.from(bad)), bad).to.equal(null);
    }
  });

  it('parseFieldOffset: plain and # offsets, negative and over-limit offsets refused', () => {
    const max = 64 * 1024 * 1024;
    expect(parseFieldOffset(Buffer.from('17'), 8, max)).to.equal(17);
    expect(parseFieldOffset(Buffer.from('#3'), 16, max)).to.equal(48);
    expect(parseFieldOffset(Buffer.from(String(max * 8 - 1)), 8, max)).to.equal(max * 8 - 1);
    for (const bad of [String(max * 8), '-1', '#-1', '#', '##1', 'x', ' 1', '#9223372036854775807']) {
      expect(parseFieldOffset(Buffer.from(bad), 8, max), bad).to.equal(null);
    }
  });
});
