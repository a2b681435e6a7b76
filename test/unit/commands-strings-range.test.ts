/**
 * GETRANGE/SETRANGE offset arithmetic (node/commands/strings-range.ts)
 * against a simple model: an index-by-index reading of Redis's rules.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { overwrite, rangeBounds } from '../../node/commands/strings-range.js';

/** Model of GETRANGE: the characters whose index i satisfies start' <= i <= end' after Redis's adjustments. */
function modelGetrange(s: string, start: bigint, end: bigint): string {
  const n = BigInt(s.length);
  if (start < 0n && end < 0n && start > end) return '';
  const lo = start < 0n ? (start + n < 0n ? 0n : start + n) : start;
  const hi = end < 0n ? (end + n < 0n ? 0n : end + n) : end;
  let out = '';
  for (let i = 0n; i < n; i++) if (i >= lo && i <= hi) out += s[Number(i)];
  return out;
}

/** Model of SETRANGE: a character array, padded with NULs, written position by position. */
function modelSetrange(s: string, offset: number, patch: string): string {
  const chars = s.split('');
  while (chars.length < offset) chars.push('\0');
  for (let i = 0; i < patch.length; i++) chars[offset + i] = patch[i]!;
  return chars.join('');
}

const index = fc.oneof(
  fc.bigInt({ min: -20n, max: 20n }),
  fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n),
);

describe('GETRANGE/SETRANGE offsets', () => {
  it('GETRANGE matches the model for any string and any int64 start/end', () => {
    fc.assert(fc.property(fc.string({ maxLength: 12 }), index, index, (s, start, end) => {
      const b = Buffer.from(s, 'latin1');
      const r = rangeBounds(b.length, start, end);
      const got = r === null ? '' : b.subarray(r.start, r.end + 1).toString('latin1');
      expect(got).to.equal(modelGetrange(Buffer.from(s, 'latin1').toString('latin1'), start, end));
    }), { numRuns: 2000 });
  });

  it('SETRANGE matches the model (zero padding, the rest of the old value kept)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 10 }), fc.nat(15), fc.string({ minLength: 1, maxLength: 6 }), (s, off, p) => {
      const old = Buffer.from(s, 'latin1');
      const got = overwrite(old, off, Buffer.from(p, 'latin1')).toString('latin1');
      expect(got).to.equal(modelSetrange(old.toString('latin1'), off, Buffer.from(p, 'latin1').toString('latin1')));
    }), { numRuns: 2000 });
  });

  it('examples from the Redis documentation', () => {
    const show = (s: string, a: bigint, b: bigint): string => {
      const r = rangeBounds(s.length, a, b);
      return r === null ? '' : s.slice(r.start, r.end + 1);
    };
    expect(show('This is a string', 0n, 3n)).to.equal('This');
    expect(show('This is a string', -3n, -1n)).to.equal('ing');
    expect(show('This is a string', 0n, -1n)).to.equal('This is a string');
    expect(show('This is a string', 10n, 100n)).to.equal('string');
    expect(overwrite(Buffer.from('Hello World'), 6, Buffer.from('Redis')).toString()).to.equal('Hello Redis');
    expect(overwrite(Buffer.alloc(0), 6, Buffer.from('Redis')).toString('latin1')).to.equal('\0\0\0\0\0\0Redis');
  });
});
