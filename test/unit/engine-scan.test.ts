/**
 * SCAN and prefix scans: Redis's SCAN guarantee under random interleavings
 * of inserts, overwrites and deletes (fast-check), key-ordered prefix pages
 * over 10k keys with no duplicates or gaps, and the pure prefix/token helpers.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { SqliteEngine } from '../../node/engine/open.js';
import { decodeScanToken, encodeScanToken, prefixUpperBound } from '../../node/engine/prefix.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);

type Op =
  | { kind: 'scan'; count: number }
  | { kind: 'insert' }
  | { kind: 'deleteVolatile'; pick: number }
  | { kind: 'overwriteStable'; pick: number }
  | { kind: 'expireStable'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('scan' as const), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const) }),
  fc.record({ kind: fc.constant('deleteVolatile' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('overwriteStable' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('expireStable' as const), pick: fc.nat() }),
);

describe('engine: SCAN and prefix scans', () => {
  const fx = engineFixture({}, 'all');
  let engine: SqliteEngine;

  before(() => {
    engine = fx.open();
  });

  it('returns every key present for the whole iteration, whatever happens meanwhile', () => {
    const ks = engine.keyspace;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(opArb, { maxLength: 120 }),
        (stableCount, volatileCount, ops) => {
          ks.clear();
          const stable: string[] = [];
          const volatile: string[] = [];
          const ever = new Set<string>();
          let fresh = 0;
          // Interleave stable and volatile keys so their ids mix.
          for (let i = 0; i < Math.max(stableCount, volatileCount); i++) {
            if (i < stableCount) stable.push(`s${i}`);
            if (i < volatileCount) volatile.push(`v${i}`);
          }
          for (const k of [...stable, ...volatile]) {
            ks.set(b(k), b('x'), null);
            ever.add(k);
          }
          const seen = new Set<string>();
          let cursor = 0n;
          let started = false;
          const step = (count: number): void => {
            const page = ks.scan(cursor, count, 0);
            for (const k of page.keys) seen.add(k.toString());
            cursor = page.cursor;
            started = true;
          };
          for (const op of ops) {
            if (started && cursor === 0n) break; // iteration complete
            switch (op.kind) {
              case 'scan':
                step(op.count);
                break;
              case 'insert': {
                const k = `n${fresh++}`;
                ks.set(b(k), b('y'), null);
                volatile.push(k);
                ever.add(k);
                break;
              }
              case 'deleteVolatile':
                if (volatile.length > 0) {
                  const [k] = volatile.splice(op.pick % volatile.length, 1);
                  ks.delete(b(k!), 0);
                }
                break;
              case 'overwriteStable':
                if (stable.length > 0) ks.set(b(stable[op.pick % stable.length]!), b('z'.repeat(op.pick % 300)), null);
                break;
              case 'expireStable':
                if (stable.length > 0) ks.setExpiry(b(stable[op.pick % stable.length]!), 1e15, 0);
                break;
            }
          }
          if (!started || cursor !== 0n) {
            do step(3); while (cursor !== 0n);
          }
          for (const k of stable) expect(seen.has(k), `stable key ${k} missing`).to.equal(true);
          for (const k of seen) expect(ever.has(k), `never-present key ${k}`).to.equal(true);
        },
      ),
      { numRuns: 150 },
    );
    engine.commits.flushNow();
  });

  it('applies MATCH after counting and ends with cursor 0; a huge cursor ends at once', () => {
    const ks = engine.keyspace;
    ks.clear();
    for (let i = 0; i < 30; i++) ks.set(b(i % 3 === 0 ? `a${i}` : `b${i}`), b('v'), null);
    const got: string[] = [];
    let cursor = 0n;
    let calls = 0;
    do {
      const page = ks.scan(cursor, 7, 0, (k) => k[0] === 0x61);
      got.push(...page.keys.map(String));
      cursor = page.cursor;
      calls++;
    } while (cursor !== 0n);
    expect(got.sort()).to.deep.equal(Array.from({ length: 10 }, (_, i) => `a${i * 3}`).sort());
    expect(calls).to.be.greaterThanOrEqual(5);
    expect(ks.scan(2n ** 64n - 1n, 10, 0)).to.deep.equal({ cursor: 0n, keys: [] });
    expect(() => ks.scan(-1n, 10, 0)).to.throw(RangeError);
    engine.commits.flushNow();
  });

  it('pages 10k keys of a prefix in byte order with no duplicates or gaps', () => {
    const ks = engine.keyspace;
    ks.clear();
    const prefix = b('user:');
    const inside: Buffer[] = [];
    const ids = Array.from({ length: 10_000 }, (_, i) => i);
    // Insert in a scrambled order so key order differs from id order.
    for (let i = 0; i < ids.length; i++) {
      const j = (i * 7919) % ids.length;
      const k = b(`user:${String(ids[j]).padStart(5, '0')}`);
      ks.set(k, b(`v${ids[j]}`), null);
      inside.push(k);
    }
    const edge = [b('user:'), Buffer.concat([b('user:'), Buffer.from([0xff, 0xff])]), Buffer.concat([b('user:'), Buffer.from([0])])];
    for (const k of edge) {
      ks.set(k, b('edge'), null);
      inside.push(k);
    }
    for (const k of ['user', 'user;', 'use', 'usera', 'user9', 'zzz', '']) ks.set(b(k), b('out'), null);
    ks.set(b('user:expired'), b('v'), 5); // expired at now=10: skipped
    engine.commits.flushNow();

    const expected = inside.slice().sort(Buffer.compare).map((k) => k.toString('hex'));
    const got: string[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const page = ks.scanPrefix(prefix, next, 97, 10);
      for (const { key, entry } of page.entries) {
        got.push(key.toString('hex'));
        expect(key.subarray(0, 5).equals(prefix)).to.equal(true);
        const name = key.toString();
        if (/^user:\d{5}$/.test(name)) expect(entry.value.toString()).to.equal(`v${Number(name.slice(5))}`);
      }
      next = page.next;
      pages++;
    } while (next !== null);
    expect(got).to.deep.equal(expected);
    expect(new Set(got).size).to.equal(got.length);
    expect(pages).to.equal(Math.ceil((expected.length + 1) / 97));
  });

  it('handles prefixes of 0xff bytes and the empty prefix', () => {
    const ks = engine.keyspace;
    ks.clear();
    const keys = [[0xff], [0xff, 0xff], [0xff, 0x00], [0xfe], [], [0x00]].map((a) => Buffer.from(a));
    for (const k of keys) ks.set(k, b('v'), null);
    const all = (prefix: Buffer, limit: number): string[] => {
      const out: string[] = [];
      let next: string | null = null;
      do {
        const page = ks.scanPrefix(prefix, next, limit, 0);
        out.push(...page.entries.map((e) => e.key.toString('hex')));
        next = page.next;
      } while (next !== null);
      return out;
    };
    expect(all(Buffer.from([0xff]), 1)).to.deep.equal(['ff', 'ff00', 'ffff']);
    expect(all(Buffer.from([0xff, 0xff]), 2)).to.deep.equal(['ffff']);
    expect(all(Buffer.alloc(0), 2)).to.deep.equal(['', '00', 'fe', 'ff', 'ff00', 'ffff']);
    // A token from before the prefix range starts at the prefix.
    expect(ks.scanPrefix(Buffer.from([0xff]), encodeScanToken(Buffer.from([0x00])), 10, 0).entries).to.have.length(3);
    expect(() => ks.scanPrefix(b('a'), 'not a token!', 10, 0)).to.throw(RangeError);
    engine.commits.flushNow();
  });

  it('prefixUpperBound bounds exactly the keys that start with the prefix', () => {
    const bytes = fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a.map((x) => (x % 3 === 0 ? 0xff : x % 3 === 1 ? 0 : x))));
    fc.assert(
      fc.property(bytes, bytes, (prefix, key) => {
        const upper = prefixUpperBound(prefix);
        const inRange = Buffer.compare(key, prefix) >= 0 && (upper === null || Buffer.compare(key, upper) < 0);
        const starts = key.length >= prefix.length && key.subarray(0, prefix.length).equals(prefix);
        expect(inRange).to.equal(starts);
      }),
      { numRuns: 2000 },
    );
  });

  it('scan tokens round-trip any key and reject anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (a) => {
        const key = Buffer.from(a);
        expect(decodeScanToken(encodeScanToken(key)).equals(key)).to.equal(true);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          const key = decodeScanToken(s);
          expect(encodeScanToken(key)).to.equal(s);
        } catch (err) {
          expect(err).to.be.instanceOf(RangeError);
        }
      }),
    );
  });
});
