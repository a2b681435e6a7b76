/**
 * DUMP/RESTORE's payload codec (node/commands/rdb-string.ts, rdb-lzf.ts,
 * crc64.ts) on plain data: Redis's CRC-64 test vector, encode→decode round
 * trips, LZF round trips, random bytes and mutated payloads never crash the
 * parser, version and size limits. Redis parity and payloads exchanged with
 * a real redis-server are in test/integration/redis-parity-dump-object.test.ts.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { crc64 } from '../../node/commands/crc64.js';
import { lzfCompress, lzfDecompress } from '../../node/commands/rdb-lzf.js';
import {
  DUMP_RDB_VERSION, RESTORE_MAX_RDB_VERSION, decodeDumpPayload, encodeDumpPayload, encodeRdbString, withDumpFooter,
} from '../../node/commands/rdb-string.js';

const MAX = 1 << 20;
/** Values that hit every encoding: integers, short, long, repetitive, binary. */
const value = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((n) => Buffer.from(String(n))),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((n) => Buffer.from(String(n))),
  fc.tuple(fc.string({ minLength: 1, maxLength: 5 }), fc.nat(200)).map(([s, n]) => Buffer.from(s.repeat(n))),
);

describe('DUMP payload codec: pure logic', () => {
  it('crc64 is Redis crc64.c (Jones): the test vector and incremental use', () => {
    expect(crc64(0n, Buffer.from('123456789'))).to.equal(0xe9c6d914c4b8d9can);
    expect(crc64(0n, Buffer.alloc(0))).to.equal(0n);
    const s = Buffer.from('This is a test of the emergency broadcast system.');
    expect(crc64(crc64(0n, s.subarray(0, 10)), s.subarray(10))).to.equal(crc64(0n, s));
  });

  it('every value round-trips through DUMP and RESTORE decoding', () => {
    fc.assert(fc.property(value, (v) => {
      const decoded = decodeDumpPayload(encodeDumpPayload(v), MAX);
      expect(decoded.ok).to.equal(true);
      if (decoded.ok) expect(decoded.value.equals(v)).to.equal(true);
    }), { numRuns: 2000 });
  });

  it('LZF: compressed data decompresses to the input; incompressible data is refused', () => {
    fc.assert(fc.property(value, (v) => {
      const packed = lzfCompress(v, Math.max(0, v.length - 4));
      if (packed === null) return;
      expect(packed.length).to.be.at.most(v.length - 4);
      expect(lzfDecompress(packed, v.length)?.equals(v)).to.equal(true);
      expect(lzfDecompress(packed, v.length + 1)).to.equal(null);
    }), { numRuns: 2000 });
    expect(lzfCompress(Buffer.from('x'.repeat(1000)), 996)!.length).to.be.below(40);
  });

  it('encodeRdbString chooses Redis\'s encodings', () => {
    expect(encodeRdbString(Buffer.from('12'))).to.deep.equal(Buffer.from([0xc0, 12]));
    expect(encodeRdbString(Buffer.from('-32768'))).to.deep.equal(Buffer.from([0xc1, 0x00, 0x80]));
    expect(encodeRdbString(Buffer.from('65536'))).to.deep.equal(Buffer.from([0xc2, 0, 0, 1, 0]));
    expect(encodeRdbString(Buffer.from('2147483648'))[0]).to.equal(10); // verbatim
    expect(encodeRdbString(Buffer.from('012'))).to.deep.equal(Buffer.from([3, 0x30, 0x31, 0x32]));
    expect(encodeRdbString(Buffer.from('a'.repeat(64)))[0]).to.equal(0xc3);
    expect(encodeRdbString(Buffer.from('abcdefghijabcdefghij'))[0]).to.equal(20); // 20 bytes: never compressed
  });

  it('random bytes and mutated payloads never throw, and every failure has a reason', () => {
    const reasons = new Set(['version', 'format', 'type', 'tooLarge']);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const r = decodeDumpPayload(Buffer.from(bytes), MAX);
      if (!r.ok) expect(reasons.has(r.reason)).to.equal(true);
    }), { numRuns: 3000 });
    // A valid footer around random bodies reaches the object parser every time.
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (body) => {
      const r = decodeDumpPayload(withDumpFooter(Buffer.from(body)), MAX);
      if (!r.ok) expect(['format', 'type', 'tooLarge']).to.include(r.reason);
    }), { numRuns: 5000 });
    fc.assert(fc.property(value, fc.nat(), fc.integer({ min: 1, max: 255 }), (v, at, flip) => {
      const p = Buffer.from(encodeDumpPayload(v));
      p[at % p.length] ^= flip;
      const r = decodeDumpPayload(p, MAX);
      expect(r.ok).to.equal(false); // the CRC catches every single-byte change
    }), { numRuns: 2000 });
  });

  it('RDB versions: DUMP writes 10, RESTORE accepts up to 12 (Redis 7.4), not above', () => {
    const body = Buffer.from([0, 2, 0x68, 0x69]);
    expect(encodeDumpPayload(Buffer.from('hi')).readUInt16LE(4)).to.equal(DUMP_RDB_VERSION);
    for (let v = 0; v <= RESTORE_MAX_RDB_VERSION; v++) expect(decodeDumpPayload(withDumpFooter(body, v), MAX).ok, `v${v}`).to.equal(true);
    expect(decodeDumpPayload(withDumpFooter(body, RESTORE_MAX_RDB_VERSION + 1), MAX)).to.deep.equal({ ok: false, reason: 'version' });
  });

  it('non-string types are named; declared lengths over the limit are refused before allocating', () => {
    expect(decodeDumpPayload(withDumpFooter(Buffer.from([14, 1, 2])), MAX)).to.deep.include({ ok: false, reason: 'type', typeName: 'list', rdbType: 14 });
    expect(decodeDumpPayload(withDumpFooter(Buffer.from([4])), MAX)).to.deep.include({ reason: 'type', typeName: 'hash' });
    expect(decodeDumpPayload(withDumpFooter(Buffer.from([8])), MAX)).to.deep.equal({ ok: false, reason: 'format' });
    const huge = withDumpFooter(Buffer.from([0, 0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0]));
    expect(decodeDumpPayload(huge, MAX)).to.deep.include({ ok: false, reason: 'tooLarge' });
    // An LZF length no compressed input of that size can produce is 'Bad data format' (redis-server 7 answers so for
    // the first three payloads here, checked), refused before allocating; a length LZF could produce that is over
    // the limit is our own refusal (redis-server says 'Bad data format' for the last one, whose data is corrupt too).
    const lzfHuge = withDumpFooter(Buffer.from([0, 0xc3, 2, 0x80, 0x10, 0, 0, 0, 0x00, 0x61]));
    expect(decodeDumpPayload(lzfHuge, MAX)).to.deep.equal({ ok: false, reason: 'format' });
    // The differential fuzz's counterexample (seed -1572613779): a 32-bit plain length whose bytes run into the footer.
    const intoFooter = withDumpFooter(Buffer.from([0, 0xc3, 0, 0x80]));
    expect(decodeDumpPayload(intoFooter, MAX)).to.deep.equal({ ok: false, reason: 'format' });
    expect(decodeDumpPayload(withDumpFooter(Buffer.from([0, 0xc3, 2, 0x40, 200, 0x00, 0x61])), 100)).to.deep.include({ ok: false, reason: 'format' });
    expect(decodeDumpPayload(withDumpFooter(Buffer.from([0, 0xc3, 3, 0x40, 150, 0xe0, 0x8d, 0x00])), 100)).to.deep.include({ ok: false, reason: 'tooLarge' });
    expect(decodeDumpPayload(encodeDumpPayload(Buffer.alloc(100, 1)), 99)).to.deep.include({ reason: 'tooLarge' });
  });

  it('LZF lengths written with the 11xxxxxx marker count as their low 6 bits, as rdbLoadLen(rdb, NULL) reads them', () => {
    // Found by the differential fuzz test: redis-server 7 answers +OK and GET gives "" for clen 0xC0 (0), len 0.
    expect(decodeDumpPayload(withDumpFooter(Buffer.from([0, 0xc3, 0xc0, 0x00])), MAX)).to.deep.equal({ ok: true, value: Buffer.alloc(0) });
    // clen 0xC2 (2 bytes: a literal run of one 'a'), len 0xC1 (1).
    expect(decodeDumpPayload(withDumpFooter(Buffer.from([0, 0xc3, 0xc2, 0xc1, 0x00, 0x61])), MAX)).to.deep.equal({ ok: true, value: Buffer.from('a') });
  });
});
