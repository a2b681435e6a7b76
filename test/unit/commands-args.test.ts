/** Redis's argument parsing rules: strict int64 (string2ll), SCAN cursors (strtoul), option keywords. */
import { expect } from 'chai';
import fc from 'fast-check';
import { optionName, parseInt64, parseInt64Big, parseScanCursor } from '../../node/commands/args.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Reference for string2ll: the canonical decimal spelling of an int64, nothing else. */
function referenceInt64(s: string): bigint | null {
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
  const v = BigInt(s);
  return v >= -(2n ** 63n) && v <= 2n ** 63n - 1n ? v : null;
}

describe('commands/args: parseInt64 (Redis string2ll)', () => {
  it('accepts canonical int64 spellings and nothing else', () => {
    const ok: Array<[string, number | bigint]> = [
      ['0', 0], ['1', 1], ['-1', -1], ['123', 123], ['9007199254740991', 9007199254740991],
      ['9007199254740992', 9007199254740992n], ['9223372036854775807', 9223372036854775807n],
      ['-9223372036854775808', -9223372036854775808n],
    ];
    for (const [s, v] of ok) expect(parseInt64(b(s)), s).to.equal(v);
    for (const s of ['', '-', '+1', ' 1', '1 ', '01', '-0', '00', '1.0', '1e3', '0x10', '9223372036854775808',
      '-9223372036854775809', '99999999999999999999', '1\x00', '١']) {
      expect(parseInt64(b(s)), JSON.stringify(s)).to.equal(null);
    }
  });

  it('agrees with the reference on arbitrary strings and on every int64', () => {
    fc.assert(fc.property(fc.oneof(
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
      fc.string({ unit: fc.constantFrom('0', '1', '9', '-', '+', ' ', '.', 'e', 'x') }),
    ), (s) => {
      const want = referenceInt64(s);
      const got = parseInt64Big(b(s));
      expect(got, JSON.stringify(s)).to.equal(want);
    }), { numRuns: 2000 });
  });

  it('returns numbers for safe integers and bigints beyond', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
      const got = parseInt64(b(String(v)));
      const safe = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
      expect(typeof got).to.equal(safe ? 'number' : 'bigint');
      expect(BigInt(got!)).to.equal(v);
    }));
  });
});

describe('commands/args: parseScanCursor (strtoul semantics)', () => {
  it('parses like strtoul(…, 10) over a C string, refusing leading spaces, junk and overflow', () => {
    const cases: Array<[string, bigint | null]> = [
      ['0', 0n], ['', 0n], ['+5', 5n], ['-1', 18446744073709551615n], ['18446744073709551615', 18446744073709551615n],
      ['18446744073709551616', null], [' 0', null], ['0 ', null], ['x', null], ['1x', null], ['+', null], ['-', null],
      ['12\x00junk', 12n], ['-18446744073709551615', 1n], ['007', 7n],
    ];
    for (const [s, v] of cases) expect(parseScanCursor(b(s)), JSON.stringify(s)).to.equal(v);
  });
});

describe('commands/args: optionName (strcasecmp view of an argument)', () => {
  it('lower-cases ASCII and stops at the first NUL byte', () => {
    expect(optionName(b('NX'))).to.equal('nx');
    expect(optionName(b('KeepTTL'))).to.equal('keepttl');
    expect(optionName(b('nx\x00junk'))).to.equal('nx');
    expect(optionName(b('\xc0X'))).to.equal('\xc0x');
  });
});
