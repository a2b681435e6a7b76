/**
 * The read cache's byte-keyed table (node/engine/read-cache.ts): random
 * sequences of put/lookup/invalidate/clear against a model of the same CLOCK
 * policy kept in a plain Map keyed by latin1 strings (what the cache was
 * before it was keyed by bytes), over keys that include full 32-bit hash
 * collisions, the empty key, binary keys, keys either side of the longest
 * kept inline in a table cell (20 bytes) and keys long enough for the native
 * compare. Every step, the cache and the model must hold exactly the same
 * keys with the same entries, and count the same hits and misses.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ReadCache, hashKey, type CachedEntry } from '../../node/engine/read-cache.js';
import type { Entry } from '../../node/engine/types.js';

const OVERHEAD = 96;

/**
 * The CLOCK policy over a Map<string>: the reference the table must agree
 * with. Negative entries (null) get no second chance, and a full cache takes
 * one only for a key whose hash is still in the 256-slot doorkeeper.
 */
class ClockModel {
  readonly map = new Map<string, { entry: CachedEntry; used: boolean; dead: boolean; k: string }>();
  private queue: Array<{ entry: CachedEntry; used: boolean; dead: boolean; k: string }> = [];
  private readonly doorkeeper = new Int32Array(256);
  bytes = 0;
  hits = 0;
  misses = 0;
  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {}
  private cost(k: string, e: CachedEntry): number {
    return k.length + (e === null ? 0 : e.value.length) + OVERHEAD;
  }
  private remove(k: string): void {
    const s = this.map.get(k);
    if (s === undefined) return;
    this.bytes -= this.cost(k, s.entry);
    s.dead = true;
    this.map.delete(k);
  }
  lookup(k: string): CachedEntry | undefined {
    const s = this.map.get(k);
    if (s === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    s.used = true;
    return s.entry;
  }
  put(k: string, e: CachedEntry): void {
    this.remove(k);
    const c = this.cost(k, e);
    if (c > this.maxBytes) return;
    if (e === null && (this.map.size >= this.maxEntries || this.bytes + c > this.maxBytes)) {
      const h = hashKey(Buffer.from(k, 'latin1'));
      if (this.doorkeeper[h & 255] !== h) {
        this.doorkeeper[h & 255] = h;
        return;
      }
    }
    const s = { entry: e, used: false, dead: false, k };
    this.map.set(k, s);
    this.queue.push(s);
    this.bytes += c;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const eldest = this.queue.shift()!;
      if (eldest.dead) continue;
      if (eldest.used && eldest !== s && eldest.entry !== null) {
        eldest.used = false;
        this.queue.push(eldest);
        continue;
      }
      this.remove(eldest.k);
    }
  }
  invalidate(k: string): void {
    this.remove(k);
  }
  clear(): void {
    this.map.clear();
    this.queue = [];
    this.bytes = 0;
  }
}

/** Groups of distinct keys with the same 32-bit hash, found by brute force. */
function collidingKeys(groups: number): Buffer[] {
  const seen = new Map<number, Buffer>();
  const out: Buffer[] = [];
  for (let i = 0; out.length < 2 * groups; i++) {
    const k = Buffer.from(`key:${i}`);
    const h = hashKey(k);
    const other = seen.get(h);
    if (other !== undefined) out.push(other, k);
    else seen.set(h, k);
  }
  return out;
}

const entry = (size: number): Entry => ({ value: Buffer.alloc(size, size & 0xff), expiresAt: null, version: size });

describe('engine: read cache keyed by bytes (table against a CLOCK model)', () => {
  const colliding = collidingKeys(3);
  const keys: Buffer[] = [
    ...colliding,
    Buffer.alloc(0),
    Buffer.from([0, 255, 128]),
    Buffer.from([0, 255, 129]),
    Buffer.from('a'),
    Buffer.from('b'),
    Buffer.alloc(20, 3), // the longest key kept inline in its table cell
    Buffer.concat([Buffer.alloc(19, 3), Buffer.from([4])]),
    Buffer.alloc(21, 3), // the shortest kept as a copy beside it
    Buffer.concat([Buffer.alloc(20, 3), Buffer.from([4])]),
    Buffer.alloc(60, 7),
    Buffer.concat([Buffer.alloc(59, 7), Buffer.from([8])]),
    Buffer.from('x'.repeat(300)),
  ];

  it('the brute-forced keys really collide in the full hash', () => {
    for (let i = 0; i < colliding.length; i += 2) {
      expect(colliding[i]!.equals(colliding[i + 1]!)).to.equal(false);
      expect(hashKey(colliding[i]!)).to.equal(hashKey(colliding[i + 1]!));
    }
  });

  it('holds exactly what the model holds after every put, lookup, invalidate and clear', () => {
    const key = fc.integer({ min: 0, max: keys.length - 1 });
    const op = fc.oneof(
      { weight: 4, arbitrary: fc.record({ do: fc.constant('put' as const), k: key, size: fc.option(fc.integer({ min: 0, max: 400 }), { nil: null }) }) },
      { weight: 4, arbitrary: fc.record({ do: fc.constant('lookup' as const), k: key }) },
      { weight: 2, arbitrary: fc.record({ do: fc.constant('invalidate' as const), k: key }) },
      { weight: 1, arbitrary: fc.record({ do: fc.constant('clear' as const) }) },
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 150, max: 3000 }), fc.array(op, { maxLength: 300 }), (maxEntries, maxBytes, ops) => {
      const c = new ReadCache(maxEntries, maxBytes);
      const m = new ClockModel(maxEntries, maxBytes);
      for (const o of ops) {
        if (o.do === 'clear') {
          c.clear();
          m.clear();
        } else {
          // A fresh copy each time: the cache must compare bytes, never identities.
          const k = Buffer.from(keys[o.k]!);
          const s = k.toString('latin1');
          if (o.do === 'put') {
            const e = o.size === null ? null : entry(o.size);
            c.put(k, e);
            m.put(s, e);
          } else if (o.do === 'lookup') {
            expect(c.lookup(k)).to.equal(m.lookup(s));
          } else {
            c.invalidate(k);
            m.invalidate(s);
          }
        }
        expect(c.size).to.equal(m.map.size);
        expect(c.byteSize).to.equal(m.bytes);
        expect([c.hits, c.misses]).to.deep.equal([m.hits, m.misses]);
        for (const k of keys) expect(c.peek(k)).to.equal(m.map.get(k.toString('latin1'))?.entry);
        expect(c.capacity).to.be.at.most(Math.max(16, 4 * (maxEntries + 2)));
      }
    }), { numRuns: 400 });
  });

  it('stores a copy of the key: changing the caller\'s buffer afterwards changes nothing', () => {
    const c = new ReadCache(10, 1 << 20);
    const recv = Buffer.from('....mykey....');
    const view = recv.subarray(4, 9);
    const e = entry(3);
    c.put(view, e);
    recv.write('other', 4);
    expect(c.lookup(Buffer.from('mykey'))).to.equal(e);
    expect(c.lookup(view)).to.equal(undefined); // the view now reads 'other'
  });

  it('keeps its table proportional to its entries under heavy churn over many keys', () => {
    const c = new ReadCache(1000, 1 << 30);
    for (let i = 0; i < 200_000; i++) {
      const k = Buffer.from(`k${(i * 7919) % 50_000}`);
      if (c.lookup(k) === undefined) c.put(k, entry(8));
      if (i % 3 === 0) c.invalidate(Buffer.from(`k${(i * 31) % 50_000}`));
    }
    expect(c.size).to.be.at.most(1000);
    expect(c.capacity).to.be.at.most(4096);
    expect(c.queueLength).to.be.at.most(4 * 1000 + 2048);
    // Every key the cache claims to hold is found again through its own bytes.
    let found = 0;
    for (let i = 0; i < 50_000; i++) if (c.peek(Buffer.from(`k${i}`)) !== undefined) found++;
    expect(found).to.equal(c.size);
  });
});
