/**
 * Compression: values at or above the threshold are stored compressed when
 * that is smaller, flags record how, reads are transparent, and a node that
 * changes its configured algorithm still reads what it stored before.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { FLAG_BROTLI, FLAG_DEFLATE, FLAG_ENCRYPTED, FLAG_RAW, ValueCodec, decodeValue } from '../../node/engine/codec.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import type { CompressionAlgorithm } from '../../node/engine/types.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);
/** The Redis key the values belong to (encryption binds to it; compression ignores it). */
const K = Buffer.from('key');
const text = (n: number): Buffer => Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(Math.ceil(n / 44)).slice(0, n));

describe('engine: compression', () => {
  describe('ValueCodec', () => {
    for (const [algorithm, flag] of [['zlib', FLAG_DEFLATE], ['brotli', FLAG_BROTLI]] as const) {
      it(`${algorithm}: compresses at the threshold, not below it`, () => {
        const codec = new ValueCodec(algorithm, 100);
        const below = text(99);
        expect(codec.encode(below, K)).to.equal(below);
        expect(codec.lastFlags).to.equal(FLAG_RAW);
        const at = text(100);
        const stored = codec.encode(at, K);
        expect(codec.lastFlags).to.equal(flag);
        expect(stored.length).to.be.lessThan(at.length);
        expect(decodeValue(stored, flag, K).equals(at)).to.equal(true);
      });

      it(`${algorithm}: stores incompressible and empty values raw`, () => {
        const codec = new ValueCodec(algorithm, 0);
        const noise = randomBytes(4096);
        expect(codec.encode(noise, K)).to.equal(noise);
        expect(codec.lastFlags).to.equal(FLAG_RAW);
        expect(codec.encode(Buffer.alloc(0), K).length).to.equal(0);
        expect(codec.lastFlags).to.equal(FLAG_RAW);
      });

      it(`${algorithm}: round-trips any value`, () => {
        const codec = new ValueCodec(algorithm, 16);
        const value = fc.oneof(
          fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
          fc.tuple(fc.string({ maxLength: 20 }), fc.integer({ min: 1, max: 200 })).map(([s, n]) => b(s.repeat(n))),
        );
        fc.assert(
          fc.property(value, (v) => {
            const stored = codec.encode(v, K);
            const flags = codec.lastFlags;
            expect(stored.length).to.be.at.most(v.length);
            expect(decodeValue(stored, flags, K).equals(v)).to.equal(true);
          }),
          { numRuns: 300 },
        );
      });
    }

    it("'none' never compresses", () => {
      const codec = new ValueCodec('none', 0);
      const v = text(10_000);
      expect(codec.encode(v, K)).to.equal(v);
      expect(codec.lastFlags).to.equal(FLAG_RAW);
    });

    it('refuses flags it cannot read with a clear error', () => {
      expect(() => decodeValue(b('x'), 8, K)).to.throw(/unsupported encoding flags 8/);
      expect(() => decodeValue(b('x'), 3, K)).to.throw(/unsupported compression flags 3/);
      // Encrypted, but this process has no keyring: the error says so (the encryption-codec tests cover the rest).
      expect(() => decodeValue(Buffer.from('\x01k1\x00rest'), FLAG_ENCRYPTED, K)).to.throw(/key id 'k1' but no encryption keyring/);
    });
  });

  describe('through the engine', () => {
    const fx = engineFixture();
    let engine: SqliteEngine | undefined;
    const open = (algorithm: CompressionAlgorithm, thresholdBytes: number): SqliteEngine =>
      fx.open({ compression: { algorithm, thresholdBytes } });

    const storedFlags = (e: SqliteEngine, key: string): number =>
      e.db.prepare('SELECT flags FROM kv WHERE key = ?').pluck().get(b(key)) as number;
    const storedLength = (e: SqliteEngine, key: string): number =>
      e.db.prepare('SELECT length(value) FROM kv WHERE key = ?').pluck().get(b(key)) as number;

    it('stores large values compressed and returns them unchanged', () => {
      engine = open('zlib', 1024);
      const ks = engine.keyspace;
      ks.set(b('big'), text(50_000), null);
      ks.set(b('edge'), text(1024), null);
      ks.set(b('small'), text(1023), null);
      ks.set(b('noise'), randomBytes(5000), null);
      expect(storedFlags(engine, 'big')).to.equal(FLAG_DEFLATE);
      expect(storedLength(engine, 'big')).to.be.lessThan(5_000);
      expect(storedFlags(engine, 'edge')).to.equal(FLAG_DEFLATE);
      expect(storedFlags(engine, 'small')).to.equal(FLAG_RAW);
      expect(storedFlags(engine, 'noise')).to.equal(FLAG_RAW);
      expect(ks.get(b('big'), 0)!.value.equals(text(50_000))).to.equal(true);
      expect(ks.get(b('edge'), 0)!.value.equals(text(1024))).to.equal(true);
      const page = ks.scanPrefix(b('b'), null, 10, 0);
      expect(page.entries[0]!.entry.value.equals(text(50_000))).to.equal(true);
    });

    it('reads old values after the configured algorithm changes', () => {
      engine = open('zlib', 64);
      engine.keyspace.set(b('z'), text(3000), null);
      engine.close();
      engine = open('brotli', 64);
      engine.keyspace.set(b('br'), text(3000), null);
      expect(storedFlags(engine, 'br')).to.equal(FLAG_BROTLI);
      engine.close();
      engine = open('none', 64);
      engine.keyspace.set(b('raw'), text(3000), null);
      expect(storedFlags(engine, 'raw')).to.equal(FLAG_RAW);
      for (const k of ['z', 'br', 'raw']) expect(engine.keyspace.get(b(k), 0)!.value.equals(text(3000)), k).to.equal(true);
      // Overwriting a compressed value with a small one stores it raw.
      engine.keyspace.set(b('z'), b('tiny'), null);
      expect(storedFlags(engine, 'z')).to.equal(FLAG_RAW);
      expect(engine.keyspace.get(b('z'), 0)!.value.toString()).to.equal('tiny');
    });
  });
});
