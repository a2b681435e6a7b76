/**
 * The read cache (positive and negative entries) never changes what a read
 * returns: random sequences of every write path the engine has (local
 * writes, expiry, FLUSHALL, rolled-back atomic blocks, replicated
 * mutations, a full resync's load, slot repair) against a plain model, on
 * a real engine whose cache is small enough to evict all the time. After
 * each sequence, every cached entry must match its SQLite row.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { SqliteEngine } from '../../node/engine/open.js';
import type { StoredRow } from '../../node/engine/types.js';
import { keySlot } from '../../common/slot.js';
import { engineFixture } from '../support/engine-fixture.js';

const KEYS = ['{s}a', '{s}b', '{s}c', 'x', 'y'] as const;
const SLOT = keySlot('s');
const b = (s: string): Buffer => Buffer.from(s);

type Op =
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; value: string; ttl: number | null }
  | { op: 'del'; key: string }
  | { op: 'expire'; key: string; ttl: number | null }
  | { op: 'tick'; ms: number }
  | { op: 'clear' }
  | { op: 'rolledBack'; set: string; del: string }
  | { op: 'replicatedSet'; key: string; value: string }
  | { op: 'replicatedDel'; key: string }
  | { op: 'load'; keys: string[]; value: string }
  | { op: 'replaceSlot'; keys: string[]; value: string };

const key = fc.constantFrom(...KEYS);
const value = fc.string({ maxLength: 8 });
const ttl = fc.option(fc.integer({ min: 1, max: 50 }), { nil: null });
const slotKeys = fc.subarray(['{s}a', '{s}b', '{s}c']);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: key.map((k) => ({ op: 'get' as const, key: k })) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), key, value, ttl }) },
  { weight: 2, arbitrary: key.map((k) => ({ op: 'del' as const, key: k })) },
  fc.record({ op: fc.constant('expire' as const), key, ttl }),
  fc.integer({ min: 1, max: 30 }).map((ms) => ({ op: 'tick' as const, ms })),
  fc.constant({ op: 'clear' as const }),
  fc.record({ op: fc.constant('rolledBack' as const), set: key, del: key }),
  fc.record({ op: fc.constant('replicatedSet' as const), key, value }),
  key.map((k) => ({ op: 'replicatedDel' as const, key: k })),
  fc.record({ op: fc.constant('load' as const), keys: fc.subarray([...KEYS]), value }),
  fc.record({ op: fc.constant('replaceSlot' as const), keys: slotKeys, value }),
);

interface ModelEntry { value: string; expiresAt: number | null }

describe('engine: read cache against a model (fast-check)', () => {
  const fx = engineFixture({ readCache: { maxEntries: 3, maxBytes: 1 << 20, absentKeys: true } });
  let engine: SqliteEngine;

  beforeEach(() => {
    engine = fx.open();
  });

  it('every read returns what the model holds, and every cached entry matches SQLite', () => {
    const ks = engine.keyspace;
    const rowCount = engine.db.prepare('SELECT COUNT(*) FROM kv WHERE key = ?').pluck();
    let negativeHits = 0;
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
      ks.clear();
      const model = new Map<string, ModelEntry>();
      let now = 1000;
      const live = (k: string): ModelEntry | null => {
        const e = model.get(k);
        if (e === undefined) return null;
        if (e.expiresAt !== null && e.expiresAt <= now) {
          model.delete(k); // the engine deletes it lazily on this access
          return null;
        }
        return e;
      };
      const rows = (keys: readonly string[], v: string): StoredRow[] =>
        keys.map((k) => ({ key: b(k), flags: 0, expiresAt: null, version: 1, value: b(v) }));
      for (const o of ops) {
        switch (o.op) {
          case 'get': {
            const cachedAbsent = ks.readCache!.peek(o.key) === null;
            const got = ks.get(b(o.key), now);
            const want = live(o.key);
            expect(got === null ? null : { value: got.value.toString(), expiresAt: got.expiresAt }, `GET ${o.key} after ${JSON.stringify(ops)}`).to.deep.equal(want);
            if (cachedAbsent) negativeHits++;
            break;
          }
          case 'set':
            ks.set(b(o.key), b(o.value), o.ttl === null ? null : now + o.ttl);
            model.set(o.key, { value: o.value, expiresAt: o.ttl === null ? null : now + o.ttl });
            break;
          case 'del':
            ks.delete(b(o.key), now);
            model.delete(o.key);
            break;
          case 'expire': {
            const e = live(o.key);
            ks.setExpiry(b(o.key), o.ttl === null ? null : now + o.ttl, now);
            if (e !== null) e.expiresAt = o.ttl === null ? null : now + o.ttl;
            break;
          }
          case 'tick':
            now += o.ms;
            break;
          case 'clear':
            ks.clear();
            model.clear();
            break;
          case 'rolledBack':
            // Reads inside the block cache what the block wrote; none of it may survive.
            expect(() => ks.atomically(() => {
              ks.set(b(o.set), b('inside'), null);
              ks.delete(b(o.del), now);
              ks.get(b(o.set), now);
              ks.get(b(o.del), now);
              throw new Error('rollback');
            })).to.throw('rollback');
            break;
          case 'replicatedSet':
            ks.applyReplicated({ op: 'set', key: b(o.key), value: b(o.value), expiresAt: null }, ks.headSeq + 1);
            model.set(o.key, { value: o.value, expiresAt: null });
            break;
          case 'replicatedDel':
            ks.applyReplicated({ op: 'del', key: b(o.key) }, ks.headSeq + 1);
            model.delete(o.key);
            break;
          case 'load':
            ks.loadRows(rows(o.keys, o.value));
            for (const k of o.keys) model.set(k, { value: o.value, expiresAt: null });
            break;
          case 'replaceSlot':
            ks.replaceSlot(SLOT, rows(o.keys, o.value));
            for (const k of KEYS) if (keySlot(k) === SLOT) model.delete(k);
            for (const k of o.keys) model.set(k, { value: o.value, expiresAt: null });
            break;
        }
      }
      for (const k of KEYS) {
        const c = ks.readCache!.peek(k);
        if (c === undefined) continue;
        expect(rowCount.get(b(k)), `cached ${k} as ${c === null ? 'absent' : 'present'}`).to.equal(c === null ? 0 : 1);
      }
    }), { numRuns: 300 });
    // The property would hold vacuously if no read were ever served by a negative entry.
    expect(negativeHits).to.be.greaterThan(0);
  });
});
