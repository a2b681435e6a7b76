/** Option parsing for SET/GETEX and the EXPIRE family: combinations, order of errors, int64 overflow. */
import { expect } from 'chai';
import fc from 'fast-check';
import { SetFlag, absoluteExpiry, expireAt, parseExpireFlags, parseStringOptions } from '../../node/commands/options.js';

const argv = (line: string): Buffer[] => line.split(' ').map((s) => Buffer.from(s));
const NOW = 1_700_000_000_000;

describe('commands/options: SET and GETEX options', () => {
  it('accepts each option and the allowed combinations', () => {
    const ok: Array<[string, number, string | null]> = [
      ['set k v', 0, null],
      ['set k v NX', SetFlag.NX, null],
      ['set k v nx get', SetFlag.NX | SetFlag.GET, null],
      ['set k v xx get keepttl', SetFlag.XX | SetFlag.GET | SetFlag.KEEPTTL, null],
      ['set k v ex 10 ex 20', SetFlag.EX, '20'],
      ['set k v pxat 5 nx', SetFlag.PXAT | SetFlag.NX, '5'],
      ['set k v nx nx get get', SetFlag.NX | SetFlag.GET, null],
    ];
    for (const [line, flags, expire] of ok) {
      const r = parseStringOptions(argv(line), false);
      expect(r.ok, line).to.equal(true);
      if (r.ok) {
        expect(r.value.flags, line).to.equal(flags);
        expect(r.value.expire?.toString() ?? null, line).to.equal(expire);
      }
    }
    const g = parseStringOptions(argv('getex k persist'), true);
    expect(g.ok && g.value.flags).to.equal(SetFlag.PERSIST);
  });

  it('refuses conflicting, unknown, incomplete and command-foreign options with a syntax error', () => {
    for (const line of ['set k v nx xx', 'set k v xx nx', 'set k v ex 1 px 1', 'set k v keepttl ex 1', 'set k v ex 1 keepttl',
      'set k v ex', 'set k v persist', 'set k v foo', 'set k v exat 1 pxat 1']) {
      expect(parseStringOptions(argv(line), false), line).to.deep.equal({ ok: false, error: 'ERR syntax error' });
    }
    for (const line of ['getex k nx', 'getex k get', 'getex k keepttl', 'getex k persist ex 1', 'getex k ex 1 persist']) {
      expect(parseStringOptions(argv(line), true), line).to.deep.equal({ ok: false, error: 'ERR syntax error' });
    }
  });

  it('reads option keywords as C strings (a NUL byte ends them)', () => {
    const r = parseStringOptions([Buffer.from('set'), Buffer.from('k'), Buffer.from('v'), Buffer.from('NX\0junk')], false);
    expect(r.ok && r.value.flags).to.equal(SetFlag.NX);
  });
});

describe('commands/options: expiry arithmetic', () => {
  it('absoluteExpiry: > 0 required, seconds scaled, relative ones offset by now, int64 overflow refused', () => {
    const inv = { ok: false, error: "ERR invalid expire time in 'set' command" };
    expect(absoluteExpiry(Buffer.from('10'), SetFlag.EX, NOW, 'set')).to.deep.equal({ ok: true, value: BigInt(NOW + 10_000) });
    expect(absoluteExpiry(Buffer.from('10'), SetFlag.PXAT, NOW, 'set')).to.deep.equal({ ok: true, value: 10n });
    expect(absoluteExpiry(Buffer.from('0'), SetFlag.EX, NOW, 'set')).to.deep.equal(inv);
    expect(absoluteExpiry(Buffer.from('-1'), SetFlag.PXAT, NOW, 'set')).to.deep.equal(inv);
    expect(absoluteExpiry(Buffer.from('9223372036854776'), SetFlag.EXAT, NOW, 'set')).to.deep.equal(inv);
    expect(absoluteExpiry(Buffer.from('9223372036854775'), SetFlag.EXAT, NOW, 'set'))
      .to.deep.equal({ ok: true, value: 9223372036854775000n });
    expect(absoluteExpiry(Buffer.from('9223372036854775'), SetFlag.EX, NOW, 'set')).to.deep.equal(inv);
    expect(absoluteExpiry(Buffer.from('9223372036854775807'), SetFlag.PX, NOW, 'set')).to.deep.equal(inv);
    expect(absoluteExpiry(Buffer.from('1.5'), SetFlag.PX, NOW, 'set'))
      .to.deep.equal({ ok: false, error: 'ERR value is not an integer or out of range' });
  });

  it('expireAt never overflows int64 silently', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.boolean(), (v, seconds) => {
      const r = expireAt(Buffer.from(String(v)), seconds, NOW, 'expire');
      const exact = (seconds ? v * 1000n : v) + BigInt(NOW);
      const scaledOk = !seconds || (v <= (2n ** 63n - 1n) / 1000n && v >= -(2n ** 63n) / 1000n);
      if (scaledOk && exact <= 2n ** 63n - 1n) expect(r).to.deep.equal({ ok: true, value: exact });
      else expect(r).to.deep.equal({ ok: false, error: "ERR invalid expire time in 'expire' command" });
    }), { numRuns: 2000 });
  });

  it('EXPIRE flags: NX excludes XX/GT/LT, GT excludes LT, unknown options are named', () => {
    expect(parseExpireFlags(argv('expire k 1 nx nx'))).to.deep.equal({ ok: true, value: 1 });
    expect(parseExpireFlags(argv('expire k 1 xx gt'))).to.deep.equal({ ok: true, value: 2 | 4 });
    expect(parseExpireFlags(argv('expire k 1 nx lt'))).to.deep.equal(
      { ok: false, error: 'ERR NX and XX, GT or LT options at the same time are not compatible' });
    expect(parseExpireFlags(argv('expire k 1 gt lt'))).to.deep.equal(
      { ok: false, error: 'ERR GT and LT options at the same time are not compatible' });
    expect(parseExpireFlags([...argv('expire k 1'), Buffer.from('a\r\nb')])).to.deep.equal(
      { ok: false, error: 'ERR Unsupported option a  b' });
  });
});
