/**
 * The read cache: an LRU bounded by entries and bytes, and kept consistent by
 * every write path (set, delete, setExpiry, clear, lazy and active expiry,
 * atomically rollback; turn rollback is covered in engine-commit), including
 * negative entries (keys known to be absent); the property test in
 * engine-cache-model.test.ts checks every read against a model.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ReadCache, type CachedEntry } from '../../node/engine/read-cache.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import type { Entry } from '../../node/engine/types.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);
const entry = (size: number): Entry => ({ value: Buffer.alloc(size), expiresAt: null, version: 1 });

describe('engine: read cache', () => {
  describe('ReadCache', () => {
    it('evicts the least recently used entry beyond maxEntries', () => {
      const c = new ReadCache(3, 1 << 20);
      for (const k of ['a', 'b', 'c']) c.put(b(k), entry(1));
      c.lookup(b('a')); // a is now the youngest
      c.put(b('d'), entry(1));
      expect(c.peek('b')).to.equal(undefined);
      expect([c.peek('a'), c.peek('c'), c.peek('d')].every((e) => e !== undefined)).to.equal(true);
      expect(c.size).to.equal(3);
    });

    it('keeps its byte size under maxBytes and accounts replacements', () => {
      const c = new ReadCache(1000, 2000);
      for (let i = 0; i < 10; i++) c.put(b(`k${i}`), entry(500));
      expect(c.byteSize).to.be.at.most(2000);
      expect(c.size).to.be.at.most(3);
      expect(c.peek('k9')).to.not.equal(undefined);
      c.put(b('k9'), entry(10));
      c.put(b('k9'), entry(10));
      const bytes = c.byteSize;
      c.invalidate(b('k9'));
      expect(c.byteSize).to.be.lessThan(bytes);
      c.clear();
      expect(c.byteSize).to.equal(0);
      expect(c.size).to.equal(0);
    });

    it('does not cache a value larger than the whole budget', () => {
      const c = new ReadCache(10, 1000);
      c.put(b('small'), entry(10));
      c.put(b('huge'), entry(5000));
      expect(c.peek('huge')).to.equal(undefined);
      expect(c.peek('small')).to.not.equal(undefined);
    });

    it('caches a key known to be absent as null, within the same bounds', () => {
      const c = new ReadCache(3, 1 << 20);
      c.put(b('gone'), null);
      expect(c.lookup(b('gone'))).to.equal(null);
      expect(c.byteSize).to.be.greaterThan(0);
      c.invalidate(b('gone'));
      expect(c.peek('gone')).to.equal(undefined);
      expect([c.hits, c.misses]).to.deep.equal([1, 0]);
    });

    it('gives a negative entry no second chance: a used one is evicted before a used value', () => {
      const c = new ReadCache(2, 1 << 20);
      c.put(b('gone'), null);
      c.put(b('a'), entry(1));
      c.lookup(b('gone'));
      c.lookup(b('a'));
      c.put(b('b'), entry(1));
      expect(c.peek('gone')).to.equal(undefined);
      expect(c.peek('a')).to.not.equal(undefined);
    });

    it('when full, takes a negative entry only for a key turned away before (a hot absent key), not a stream of distinct ones', () => {
      const c = new ReadCache(100, 1 << 20);
      for (let i = 0; i < 100; i++) c.put(b(`v${i}`), entry(1));
      for (let i = 0; i < 1000; i++) c.put(b(`absent:${i}`), null);
      expect(c.size).to.equal(100);
      for (let i = 0; i < 100; i++) expect(c.peek(`v${i}`), `v${i}`).to.not.equal(undefined);
      c.put(b('hot'), null); // turned away, remembered
      c.put(b('hot'), null); // asked again: admitted, evicting one value
      expect(c.peek('hot')).to.equal(null);
      expect(c.size).to.equal(100);
    });

    it('bounds a flood of negative entries by both budgets: each costs its key plus the per-entry overhead', () => {
      const byBytes = new ReadCache(1_000_000, 10_000);
      for (let i = 0; i < 5000; i++) byBytes.put(b(String(i).padStart(4, '0')), null); // 4-byte keys
      expect(byBytes.byteSize).to.be.at.most(10_000);
      expect(byBytes.size).to.equal(Math.floor(10_000 / (4 + 96)));
      const byEntries = new ReadCache(50, 1 << 30);
      for (let i = 0; i < 5000; i++) byEntries.put(b(`absent:${i}`), null);
      expect(byEntries.size).to.equal(50);
    });

    it('keeps its eviction queue proportional to its entries under churn and put/invalidate cycles', () => {
      const c = new ReadCache(100, 1 << 30);
      for (let i = 0; i < 100_000; i++) {
        const k = `k${(i * 7919) % 5000}`;
        if (c.lookup(b(k)) === undefined) c.put(b(k), entry(8));
      }
      expect(c.size).to.equal(100);
      expect(c.queueLength).to.be.at.most(4 * 100 + 2048);
      for (let i = 0; i < 100_000; i++) {
        c.put(b('hot'), entry(8));
        c.invalidate(b('hot'));
      }
      expect(c.queueLength).to.be.at.most(4 * 100 + 2048);
    });

    it('agrees with a model under random puts, written values, lookups, invalidations and clears (bounds, bytes, values)', () => {
      const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
      const op = fc.oneof(
        fc.record({ do: fc.constant('put' as const), k: key, size: fc.option(fc.integer({ min: 0, max: 300 }), { nil: null }) }),
        fc.record({ do: fc.constant('write' as const), k: key, size: fc.integer({ min: 0, max: 1600 }), version: fc.nat() }),
        fc.record({ do: fc.constant('lookup' as const), k: key }),
        fc.record({ do: fc.constant('invalidate' as const), k: key }),
        fc.record({ do: fc.constant('clear' as const) }),
      );
      fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 100, max: 1500 }), fc.array(op, { maxLength: 200 }), (maxEntries, maxBytes, ops) => {
        const c = new ReadCache(maxEntries, maxBytes);
        const last = new Map<string, CachedEntry>(); // what a cached key may hold: its last put
        for (const o of ops) {
          if (o.do === 'put') {
            const e = o.size === null ? null : entry(o.size);
            c.put(b(o.k), e);
            last.set(o.k, e);
          } else if (o.do === 'write') {
            const value = Buffer.alloc(o.size, o.version % 251);
            c.putWritten(b(o.k), value, o.version, o.version);
            value.fill(0xff); // the cache holds a copy
            if (o.k.length + o.size + 96 > maxBytes) {
              last.delete(o.k);
              expect(c.peek(o.k)).to.equal(undefined);
            } else {
              last.set(o.k, { value: Buffer.alloc(o.size, o.version % 251), expiresAt: o.version, version: o.version });
            }
          } else if (o.do === 'lookup') {
            const got = c.lookup(b(o.k));
            if (got !== undefined) expect(got).to.deep.equal(last.get(o.k));
          } else if (o.do === 'invalidate') {
            c.invalidate(b(o.k));
            last.delete(o.k);
            expect(c.peek(o.k)).to.equal(undefined);
          } else {
            c.clear();
            last.clear();
          }
          expect(c.size).to.be.at.most(maxEntries);
          expect(c.byteSize).to.be.at.most(maxBytes);
          let bytes = 0;
          for (const k of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
            const got = c.peek(k);
            if (got === undefined) continue;
            expect(got, k).to.deep.equal(last.get(k));
            bytes += k.length + (got === null ? 0 : got.value.length) + 96;
          }
          expect(c.byteSize).to.equal(bytes);
        }
      }), { numRuns: 300 });
    });

    it('a written value never evicts: a full cache keeps what reads cached, and updates a cached key in place', () => {
      const c = new ReadCache(3, 10_000);
      for (const k of ['a', 'b', 'c']) c.put(b(k), entry(8));
      const before = c.byteSize;
      c.putWritten(b('d'), b('new'), null, 1);
      expect(c.peek('d'), 'no room: not cached').to.equal(undefined);
      expect(['a', 'b', 'c'].map((k) => c.peek(k) !== undefined)).to.deep.equal([true, true, true]);
      expect(c.byteSize).to.equal(before);
      c.putWritten(b('b'), b('rewritten'), 7, 2);
      expect(c.peek('b')).to.deep.equal({ value: b('rewritten'), expiresAt: 7, version: 2 });
      expect(c.byteSize).to.equal(before - 8 + 'rewritten'.length);
      c.invalidate(b('a'));
      c.putWritten(b('d'), b('new'), null, 3);
      expect(c.peek('d'), 'room again').to.deep.equal({ value: b('new'), expiresAt: null, version: 3 });
    });

    it('a key rewritten in place keeps its second chance (the used flag shares its table int with the value length)', () => {
      const c = new ReadCache(2, 10_000);
      c.put(b('a'), entry(8));
      c.put(b('b'), entry(8));
      c.lookup(b('a'));
      c.putWritten(b('a'), b('a longer value than before'), null, 2);
      c.put(b('c'), entry(8));
      expect(c.peek('a'), 'used since queued: second chance').to.deep.equal({ value: b('a longer value than before'), expiresAt: null, version: 2 });
      expect(c.peek('b'), 'not used: evicted').to.equal(undefined);
      expect(c.byteSize).to.equal(('a'.length + 26 + 96) + ('c'.length + 8 + 96));
    });

    it('never caches a value of 1 GiB or more, whatever the byte budget (its length would not fit the table)', () => {
      const c = new ReadCache(10, 2 ** 32);
      const huge = Buffer.allocUnsafe(2 ** 30); // not filled: it is refused before any copy
      c.put(b('x'), { value: huge, expiresAt: null, version: 1 });
      expect(c.peek('x')).to.equal(undefined);
      c.put(b('y'), entry(8));
      c.putWritten(b('y'), huge, null, 2);
      expect(c.peek('y'), 'the old value is stale: dropped').to.equal(undefined);
      c.putWritten(b('z'), huge, null, 3);
      expect([c.size, c.byteSize]).to.deep.equal([0, 0]);
    });

    it('counts hits and misses', () => {
      const c = new ReadCache(10, 10_000);
      c.lookup(b('x'));
      c.put(b('x'), entry(1));
      c.lookup(b('x'));
      c.lookup(b('x'));
      expect([c.hits, c.misses]).to.deep.equal([2, 1]);
    });
  });

  describe('invalidation through the engine', () => {
    const fx = engineFixture({
      compression: { algorithm: 'zlib', thresholdBytes: 16 },
      readCache: { maxEntries: 100, maxBytes: 1 << 20, absentKeys: true },
    });
    let engine: SqliteEngine;

    beforeEach(() => {
      engine = fx.open();
    });

    const cached = (key: string): CachedEntry | undefined => engine.keyspace.readCache!.peek(b(key).toString('latin1'));

    /** Writes k=v (the cache takes the written value) and reads it back from the cache. */
    function warm(key: string, value: string, expiresAt: number | null = null): void {
      engine.keyspace.set(b(key), b(value), expiresAt);
      expect(cached(key)!.value.toString()).to.equal(value);
      const hits = engine.stats().cacheHits;
      expect(engine.keyspace.get(b(key), 0)!.value.toString()).to.equal(value);
      expect(engine.stats().cacheHits).to.equal(hits + 1);
    }

    it('serves a written value from the cache, as written (not the compressed row)', () => {
      const long = 'abc'.repeat(100);
      warm('k', long);
      expect(cached('k')!.value.toString()).to.equal(long);
      expect(engine.stats().cacheMisses).to.equal(0);
    });

    it('caches a value read from SQLite decompressed, and serves repeated reads from the cache', () => {
      const long = 'xyz'.repeat(100);
      engine.keyspace.set(b('k'), b(long), null);
      engine.keyspace.readCache!.clear();
      expect(engine.keyspace.get(b('k'), 0)!.value.toString()).to.equal(long);
      expect(engine.keyspace.get(b('k'), 0)!.value.toString()).to.equal(long);
      expect([engine.stats().cacheMisses, engine.stats().cacheHits]).to.deep.equal([1, 1]);
      expect(cached('k')!.value.toString()).to.equal(long);
    });

    it('a read of an absent key caches it as absent, and a set() makes it visible', () => {
      expect(engine.keyspace.get(b('k'), 0)).to.equal(null);
      expect(cached('k')).to.equal(null);
      const misses = engine.stats().cacheMisses;
      expect(engine.keyspace.get(b('k'), 0)).to.equal(null);
      expect(engine.stats().cacheMisses).to.equal(misses); // served by the negative entry
      engine.keyspace.set(b('k'), b('now'), null);
      expect(cached('k')!.value.toString()).to.equal('now');
      expect(engine.keyspace.get(b('k'), 0)!.value.toString()).to.equal('now');
    });

    it('absentKeys not given: negative entries are on (the default)', () => {
      const dflt = fx.open({ dataDir: `${fx.dir}/default`, readCache: { maxEntries: 100, maxBytes: 1 << 20 } });
      expect(dflt.keyspace.get(b('k'), 0)).to.equal(null);
      expect(dflt.keyspace.readCache!.peek('k')).to.equal(null);
    });

    it('readCacheAbsentKeys off: an absent key is looked up in SQLite every time', () => {
      const off = fx.open({ dataDir: `${fx.dir}/off`, readCache: { maxEntries: 100, maxBytes: 1 << 20, absentKeys: false } });
      expect(off.keyspace.get(b('k'), 0)).to.equal(null);
      expect(off.keyspace.readCache!.peek('k')).to.equal(undefined);
      off.keyspace.get(b('k'), 0);
      expect(off.stats().cacheMisses).to.equal(2);
    });

    it('an expired row a replica keeps is not cached as absent', () => {
      engine.keyspace.set(b('k'), b('v'), 100);
      engine.setExpiryMode('passive');
      expect(engine.keyspace.get(b('k'), 200)).to.equal(null);
      expect(cached('k'), 'the written entry, with its expiry: not a negative entry').to.not.equal(null);
      engine.keyspace.readCache!.clear();
      expect(engine.keyspace.get(b('k'), 200)).to.equal(null);
      expect(cached('k')).to.equal(undefined);
    });

    it('set() replaces the cached entry with a copy of the written value, its expiry and version', () => {
      warm('k', 'one');
      const value = b('two');
      const version = engine.keyspace.set(b('k'), value, 5_000);
      value.write('XYZ'); // the caller's buffer (often a receive buffer) is reused
      expect(cached('k')).to.deep.include({ expiresAt: 5_000, version });
      expect(cached('k')!.value.toString()).to.equal('two');
      expect(engine.keyspace.get(b('k'), 0)!.value.toString()).to.equal('two');
      engine.keyspace.readCache!.clear();
      expect(engine.keyspace.get(b('k'), 0), 'the row says the same').to.deep.include({ expiresAt: 5_000, version });
    });

    it('set() of a value larger than the cache only drops the older entry', () => {
      warm('k', 'one');
      engine.keyspace.set(b('k'), Buffer.alloc((1 << 20) + 1, 'v'), null);
      expect(cached('k')).to.equal(undefined);
      expect(engine.keyspace.get(b('k'), 0)!.value.length).to.equal((1 << 20) + 1);
    });

    it('delete() invalidates', () => {
      warm('k', 'one');
      expect(engine.keyspace.delete(b('k'), 0)).to.equal(true);
      expect(cached('k')).to.equal(undefined);
      expect(engine.keyspace.get(b('k'), 0)).to.equal(null);
    });

    it('setExpiry() invalidates', () => {
      warm('k', 'one');
      engine.keyspace.setExpiry(b('k'), 500, 0);
      expect(cached('k')).to.equal(undefined);
      expect(engine.keyspace.get(b('k'), 0)!.expiresAt).to.equal(500);
    });

    it('clear() empties it', () => {
      warm('a', '1');
      warm('b', '2');
      engine.keyspace.clear();
      expect(engine.keyspace.readCache!.size).to.equal(0);
      expect(engine.keyspace.get(b('a'), 0)).to.equal(null);
    });

    it('lazy expiry of a cached entry deletes the key and the entry', () => {
      warm('k', 'one', 100);
      expect(engine.keyspace.get(b('k'), 100)).to.equal(null);
      expect(cached('k')).to.equal(undefined);
      expect(engine.keyspace.size()).to.equal(0);
    });

    it('active expiry invalidates', () => {
      warm('k', 'one', 1); // expired long ago in real time
      expect(engine.runExpiryCycle()).to.equal(1);
      expect(cached('k')).to.equal(undefined);
    });

    it('an atomically() block that throws leaves no cached value of its writes', () => {
      warm('k', 'before');
      expect(() => engine.keyspace.atomically(() => {
        engine.keyspace.set(b('k'), b('inside'), null);
        engine.keyspace.set(b('new'), b('inside'), null);
        engine.keyspace.get(b('k'), 0);
        engine.keyspace.get(b('new'), 0);
        throw new Error('nope');
      })).to.throw('nope');
      expect(cached('k')).to.equal(undefined);
      expect(cached('new')).to.equal(undefined);
      expect(engine.keyspace.get(b('k'), 0)!.value.toString()).to.equal('before');
      expect(engine.keyspace.get(b('new'), 0)).to.equal(null);
    });

    it('an atomically() block that clears (FLUSHALL in MULTI) and throws leaves no negative entry behind', () => {
      warm('k', 'before');
      expect(() => engine.keyspace.atomically(() => {
        engine.keyspace.clear();
        expect(engine.keyspace.get(b('k'), 0)).to.equal(null);
        expect(cached('k')).to.equal(null);
        throw new Error('nope');
      })).to.throw('nope');
      expect(cached('k')).to.equal(undefined);
      expect(engine.keyspace.get(b('k'), 0)!.value.toString()).to.equal('before');
    });

    it('a clear() in an inner block that succeeded is undone with the outer block, negative entries too', () => {
      warm('k', 'before');
      expect(() => engine.keyspace.atomically(() => {
        engine.keyspace.atomically(() => engine.keyspace.clear());
        engine.keyspace.get(b('k'), 0);
        throw new Error('nope');
      })).to.throw('nope');
      expect(engine.keyspace.get(b('k'), 0)!.value.toString()).to.equal('before');
    });
  });
});
