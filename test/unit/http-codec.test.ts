import { expect } from 'chai';
import fc from 'fast-check';
import {
  decodeBase64Strict, decodeCursor, encodeBytes, encodeCursor, formatEtag, ifMatchPasses, ifNoneMatchPasses,
  parseEtagCondition, parseIntStrict, percentDecode, percentEncode,
} from '../../node/http/codec.js';

const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));

describe('http codec: percent-encoding of keys', () => {
  it('round-trips every byte sequence, including %00, %FF and "/"', () => {
    fc.assert(fc.property(bytes, (b) => {
      expect(percentDecode(percentEncode(b))!.equals(b)).to.equal(true);
    }), { numRuns: 500 });
  });

  it('decodes what encodeURIComponent produces for any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), (s) => {
      expect(percentDecode(encodeURIComponent(s))!.toString('utf8')).to.equal(s);
    }));
  });

  it('keeps "+" literal and decodes mixed-case hex', () => {
    expect(percentDecode('a+b')!.toString()).to.equal('a+b');
    expect([...percentDecode('%ff%Fe%00')!]).to.deep.equal([0xff, 0xfe, 0]);
  });

  it('rejects malformed escapes without throwing', () => {
    for (const bad of ['%', '%1', '%G0', 'a%zz', '%%']) expect(percentDecode(bad)).to.equal(null);
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
      const r = percentDecode(s);
      expect(r === null || Buffer.isBuffer(r)).to.equal(true);
    }));
  });
});

describe('http codec: strict base64', () => {
  it('round-trips standard and URL-safe alphabets, with or without padding', () => {
    fc.assert(fc.property(bytes, (b) => {
      const std = b.toString('base64');
      expect(decodeBase64Strict(std)!.equals(b)).to.equal(true);
      expect(decodeBase64Strict(std.replace(/=+$/, ''))!.equals(b)).to.equal(true);
      expect(decodeBase64Strict(b.toString('base64url'))!.equals(b)).to.equal(true);
    }), { numRuns: 500 });
  });

  it('rejects text Node would silently accept', () => {
    for (const bad of ['a', 'ab!c', 'YQ==YQ==', 'Y Q==', 'YR==', 'abc=d', 'YQ===']) expect(decodeBase64Strict(bad), bad).to.equal(null);
    expect(decodeBase64Strict('')!.length).to.equal(0);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
      const r = decodeBase64Strict(s);
      if (r !== null) expect(r.toString('base64').replace(/=+$/, '')).to.equal(s.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/'));
    }));
  });
});

describe('http codec: JSON byte encoding', () => {
  it('uses utf8 when lossless and falls back to base64 otherwise', () => {
    expect(encodeBytes(Buffer.from('héllo'), 'utf8')).to.deep.equal({ text: 'héllo', encoding: 'utf8' });
    expect(encodeBytes(Buffer.from([0xff]), 'utf8')).to.deep.equal({ text: '/w==', encoding: 'base64' });
    expect(encodeBytes(Buffer.from('a'), 'base64')).to.deep.equal({ text: 'YQ==', encoding: 'base64' });
  });

  it('is always reversible', () => {
    fc.assert(fc.property(bytes, fc.constantFrom('utf8' as const, 'base64' as const), (b, pref) => {
      const { text, encoding } = encodeBytes(b, pref);
      expect(Buffer.from(text, encoding).equals(b)).to.equal(true);
    }), { numRuns: 500 });
  });
});

describe('http codec: conditional headers', () => {
  it('parses quoted, bare, weak, listed and * tags', () => {
    expect(parseEtagCondition('*')).to.deep.equal({ any: true });
    expect(parseEtagCondition('"5"')).to.deep.equal({ any: false, tags: [{ weak: false, version: 5 }] });
    expect(parseEtagCondition('5')).to.deep.equal({ any: false, tags: [{ weak: false, version: 5 }] });
    expect(parseEtagCondition('W/"5", "7"')).to.deep.equal({ any: false, tags: [{ weak: true, version: 5 }, { weak: false, version: 7 }] });
    expect(parseEtagCondition('"abc"')).to.deep.equal({ any: false, tags: [{ weak: false, version: null }] });
  });

  it('rejects malformed headers', () => {
    for (const bad of ['', '"5', 'abc', 'W/5', '"a"b"', ' , ']) expect(parseEtagCondition(bad), bad).to.equal(null);
  });

  it('If-Match is strong and needs an existing key; If-None-Match is weak', () => {
    const c = parseEtagCondition('W/"3", "4"')!;
    expect(ifMatchPasses(c, 3)).to.equal(false);
    expect(ifMatchPasses(c, 4)).to.equal(true);
    expect(ifMatchPasses({ any: true }, null)).to.equal(false);
    expect(ifMatchPasses({ any: true }, 1)).to.equal(true);
    expect(ifNoneMatchPasses(c, 3)).to.equal(false);
    expect(ifNoneMatchPasses({ any: true }, null)).to.equal(true);
    expect(ifNoneMatchPasses({ any: true }, 0)).to.equal(false);
  });

  it('round-trips versions through ETags and never throws on junk', () => {
    fc.assert(fc.property(fc.nat(), (v) => {
      expect(ifMatchPasses(parseEtagCondition(formatEtag(v))!, v)).to.equal(true);
    }));
    fc.assert(fc.property(fc.string({ maxLength: 30 }), (s) => { parseEtagCondition(s); }));
  });
});

describe('http codec: integers and cursors', () => {
  it('accepts only plain decimal integers within bounds', () => {
    expect(parseIntStrict('42', 1, 100)).to.equal(42);
    for (const bad of ['', '1e3', '0x10', ' 5', '5 ', '+5', '1.0', '101', '0', '99999999999999999']) expect(parseIntStrict(bad, 1, 100), bad).to.equal(null);
    expect(parseIntStrict('-3', -5, 5)).to.equal(-3);
  });

  it('cursors round-trip and malformed ones are refused', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (s) => {
      const c = encodeCursor(s);
      expect(c).to.match(/^c[A-Za-z0-9_-]*$/);
      expect(decodeCursor(c)).to.equal(s);
    }));
    for (const bad of ['', 'x', 'c!', 'c a']) expect(decodeCursor(bad)).to.equal(null);
  });
});
