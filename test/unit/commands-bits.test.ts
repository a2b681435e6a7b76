/** Bit range, count and search logic of node/commands/bits.ts against a bit-by-bit model. */
import { expect } from 'chai';
import fc from 'fast-check';
import { bitRange, countBits, findBit, getBit } from '../../node/commands/bits.js';
import { bitop } from '../../node/commands/bitop.js';

const bitsOf = (b: Buffer): number[] => Array.from({ length: b.length * 8 }, (_, i) => (b[i >> 3]! >> (7 - (i & 7))) & 1);

describe('bit commands: pure logic', () => {
  const buf = fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a));
  const idx = fc.bigInt({ min: -60n, max: 60n });

  it('getBit, countBits and findBit agree with a bit array over any range', () => {
    fc.assert(fc.property(buf, idx, idx, fc.boolean(), fc.constantFrom(0 as const, 1 as const), (b, s, e, isBit, bit) => {
      const model = bitsOf(b);
      model.forEach((v, i) => expect(getBit(b, i)).to.equal(v));
      const r = bitRange(b.length, s, e, isBit);
      if (r === null) return;
      const slice = model.slice(r.from, r.to + 1);
      expect(countBits(b, r.from, r.to)).to.equal(slice.filter((x) => x === 1).length);
      const at = slice.indexOf(bit);
      expect(findBit(b, bit, r.from, r.to)).to.equal(at === -1 ? -1 : r.from + at);
    }), { numRuns: 2000 });
  });

  it('bitop: every result bit is the operation over the zero-padded source bits', () => {
    fc.assert(fc.property(fc.constantFrom('and' as const, 'or' as const, 'xor' as const), fc.array(buf, { minLength: 1, maxLength: 3 }), (op, srcs) => {
      const out = bitsOf(bitop(op, srcs));
      const n = Math.max(...srcs.map((s) => s.length)) * 8;
      expect(out.length).to.equal(n);
      for (let i = 0; i < n; i++) {
        const xs = srcs.map((s) => (i < s.length * 8 ? bitsOf(s)[i]! : 0));
        const want = xs.reduce((a, b) => (op === 'and' ? a & b : op === 'or' ? a | b : a ^ b));
        expect(out[i]).to.equal(want);
      }
    }), { numRuns: 500 });
    expect(bitop('not', [Buffer.from([0x0f, 0xff])])).to.deep.equal(Buffer.from([0xf0, 0x00]));
  });

  it('bitRange: bytes map to whole bytes of bits, negative indexes count from the end, empty ranges are null', () => {
    expect(bitRange(6, 1n, 1n, false)).to.deep.equal({ from: 8, to: 15 });
    expect(bitRange(6, -2n, -1n, false)).to.deep.equal({ from: 32, to: 47 });
    expect(bitRange(6, 5n, 30n, true)).to.deep.equal({ from: 5, to: 30 });
    expect(bitRange(6, 3n, 2n, false)).to.equal(null);
    expect(bitRange(0, 0n, -1n, false)).to.equal(null);
  });
});
