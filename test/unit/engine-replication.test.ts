/**
 * The engine's side of replication, on real SQLite: the mutation log sees
 * contiguous sequences (rolled-back turns and atomically() blocks give theirs
 * back), applyReplicated() on a second engine reproduces the first exactly,
 * passive expiry, bulk loading and slot repair, the release gate that holds
 * replies back until replicas acknowledge, and meta rows.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { keySlot } from '../../common/slot.js';
import { FLAG_DEFLATE, FLAG_RAW } from '../../node/engine/codec.js';
import { SequenceGapError } from '../../node/engine/keyspace.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import type { Mutation, MutationLog, ReleaseGate, StoredRow } from '../../node/engine/types.js';
import { engineFixture } from '../support/engine-fixture.js';
import { waitFor } from '../support/wait.js';

const b = (s: string): Buffer => Buffer.from(s);

/** A log that behaves like the real one: rolled-back entries are dropped. */
class RecordingLog implements MutationLog {
  entries: Array<{ seq: number; m: Mutation }> = [];
  events: string[] = [];
  /** Throw from record() for this key, or from the next beforeCommit(). */
  failKey: string | null = null;
  failBeforeCommit = false;

  record(m: Mutation, seq: number): void {
    if (m.op !== 'clear' && m.key.toString() === this.failKey) throw new Error('log write failed');
    this.entries.push({ seq, m });
  }
  beforeCommit(): void {
    this.events.push('before');
    if (this.failBeforeCommit) {
      this.failBeforeCommit = false;
      throw new Error('log flush failed');
    }
  }
  committed(lastSeq: number): void {
    this.events.push(`committed:${lastSeq}`);
  }
  rolledBack(toSeq: number): void {
    this.events.push(`rolledBack:${toSeq}`);
    this.entries = this.entries.filter((e) => e.seq <= toSeq);
  }
  get seqs(): number[] {
    return this.entries.map((e) => e.seq);
  }
}

/** Every row as stored, in key order: what "equal data" means between two engines. */
function dump(engine: SqliteEngine): unknown[] {
  return engine.db.prepare('SELECT key, slot, flags, expires_at, version, value FROM kv ORDER BY key').raw().all();
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const settle = (p: Promise<void>): Promise<Error | null> => p.then(() => null, (e: unknown) => e as Error);

describe('engine: replication support', () => {
  describe('the mutation log', () => {
    const fx = engineFixture();
    let engine: SqliteEngine;
    let log: RecordingLog;

    beforeEach(() => {
      engine = fx.open();
      log = new RecordingLog();
      engine.setMutationLog(log);
    });

    it('sees contiguous sequences across commits, failed turns and rolled-back atomically() blocks', async () => {
      const ks = engine.keyspace;
      ks.set(b('a'), b('1'), null);
      ks.set(b('b'), b('2'), null);
      expect(ks.headSeq).to.equal(2);
      expect(ks.lastSeq).to.equal(0);
      await engine.commits.barrier();
      expect(ks.lastSeq).to.equal(2);
      expect(log.events).to.deep.equal(['before', 'committed:2']);

      // A turn that fails (full "disk") gives its sequences back.
      engine.db.pragma(`max_page_count = ${engine.stats().pageCount}`);
      ks.set(b('c'), b('3'), null);
      expect(ks.headSeq).to.equal(3);
      const failed = settle(engine.commits.barrier());
      expect(() => ks.set(b('huge'), randomBytes(200_000), null)).to.throw(/full/i);
      expect(ks.headSeq).to.equal(2);
      expect(await failed).to.be.instanceOf(Error);
      expect(log.events.slice(2)).to.deep.equal(['rolledBack:2']);
      engine.db.pragma('max_page_count = 1073741823');

      // A rolled-back block gives its sequences back; the rest of the turn keeps going from there.
      ks.set(b('d'), b('4'), null);
      expect(() => ks.atomically(() => {
        ks.set(b('e'), b('5'), null);
        ks.delete(b('a'), 0);
        throw new Error('abort');
      })).to.throw('abort');
      expect(ks.headSeq).to.equal(3);
      ks.atomically(() => {
        ks.set(b('f'), b('6'), null);
        expect(() => ks.atomically(() => {
          ks.set(b('g'), b('7'), null);
          throw new Error('inner');
        })).to.throw('inner');
        ks.setExpiry(b('f'), 99_999, 0);
      });
      await engine.commits.barrier();
      expect(log.events.slice(3)).to.deep.equal(['rolledBack:3', 'rolledBack:4', 'before', 'committed:5']);
      expect(log.seqs).to.deep.equal([1, 2, 3, 4, 5]);
      expect(log.entries.map((e) => e.m.op)).to.deep.equal(['set', 'set', 'set', 'set', 'expire']);
      expect(ks.lastSeq).to.equal(5);
      engine.close();
      expect(fx.open().stats().lastSeq).to.equal(5);
    });

    it('a throwing record() or beforeCommit() fails the whole turn', async () => {
      const ks = engine.keyspace;
      ks.set(b('a'), b('1'), null);
      await engine.commits.barrier();

      ks.set(b('b'), b('1'), null);
      const failed = settle(engine.commits.barrier());
      log.failKey = 'bad';
      expect(() => ks.set(b('bad'), b('x'), null)).to.throw('log write failed');
      expect((await failed)?.message).to.equal('log write failed');
      expect(ks.get(b('b'), 0)).to.equal(null);
      expect(ks.headSeq).to.equal(1);

      ks.set(b('c'), b('1'), null);
      log.failBeforeCommit = true;
      expect((await settle(engine.commits.barrier()))?.message).to.equal('log flush failed');
      expect(ks.get(b('c'), 0)).to.equal(null);
      expect(ks.headSeq).to.equal(1);
      expect(ks.lastSeq).to.equal(1);
      expect(log.seqs).to.deep.equal([1]);
      expect(log.events.slice(-2)).to.deep.equal(['before', 'rolledBack:1']);

      ks.set(b('d'), b('1'), null);
      await engine.commits.barrier();
      expect(log.seqs).to.deep.equal([1, 2]);
      expect(engine.db.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck().get()).to.equal(2);
    });

    it('clear() is one mutation with one sequence, and listeners still hear every key', async () => {
      const ks = engine.keyspace;
      const heard: string[] = [];
      ks.set(b('a'), b('1'), null);
      ks.set(b('b'), b('2'), 5000);
      ks.onChange((k) => heard.push(k.toString()));
      ks.clear();
      expect(log.entries).to.deep.equal([
        { seq: 1, m: { op: 'set', key: b('a'), value: b('1'), expiresAt: null } },
        { seq: 2, m: { op: 'set', key: b('b'), value: b('2'), expiresAt: 5000 } },
        { seq: 3, m: { op: 'clear' } },
      ]);
      expect(heard.sort()).to.deep.equal(['a', 'b']);
      // An empty keyspace still takes a sequence: FLUSHALL is replicated whatever it found.
      ks.clear();
      await engine.commits.barrier();
      expect(log.seqs).to.deep.equal([1, 2, 3, 4]);
      expect(ks.size()).to.equal(0);
      expect(engine.stats().keysWithExpiry).to.equal(0);
    });
  });

  describe('applyReplicated', () => {
    const fx = engineFixture({ checkpoints: 'inline', compression: { algorithm: 'zlib', thresholdBytes: 16 } });

    type SimpleOp =
      | { t: 'set'; k: number; v: Buffer; ttl: number | null }
      | { t: 'del'; k: number }
      | { t: 'expire'; k: number; ttl: number | null }
      | { t: 'get'; k: number }
      | { t: 'tick'; ms: number }
      | { t: 'cycle' }
      | { t: 'clear' }
      | { t: 'commit' };
    type Op = SimpleOp | { t: 'atomic'; ops: SimpleOp[]; abort: boolean };

    const keys = [b('a'), b('b'), b('{t}c'), b('{t}d'), Buffer.from([0, 255, 7]), b('long-key-name')];
    const ttl = fc.option(fc.integer({ min: 1, max: 60 }), { nil: null });
    const value = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
      fc.tuple(fc.constantFrom('x', 'ab', 'hello '), fc.nat(30)).map(([s, n]) => b(s.repeat(n))), // compressible
    );
    const k = fc.nat(keys.length - 1);
    const simple: fc.Arbitrary<SimpleOp> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ t: fc.constant('set' as const), k, v: value, ttl }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), k }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('expire' as const), k, ttl }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('get' as const), k }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 40 }) }) },
      { weight: 1, arbitrary: fc.constant({ t: 'cycle' as const }) },
      { weight: 1, arbitrary: fc.constant({ t: 'commit' as const }) },
      { weight: 1, arbitrary: fc.constant({ t: 'clear' as const }) },
    );
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 8, arbitrary: simple },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('atomic' as const), ops: fc.array(simple.filter((o) => o.t !== 'commit'), { maxLength: 5 }), abort: fc.boolean() }) },
    );

    let run = 0;
    function pair(): { a: SqliteEngine; b: SqliteEngine } {
      run++;
      const a = fx.open({ dataDir: path.join(fx.dir, `a${run}`), readCache: { maxEntries: 100, maxBytes: 1 << 20 } });
      const r = fx.open({ dataDir: path.join(fx.dir, `b${run}`), readCache: { maxEntries: 100, maxBytes: 1 << 20 } });
      r.setExpiryMode('passive');
      return { a, b: r };
    }

    it('replaying one engine\'s log on another reproduces its rows, versions and expiries exactly', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
          const { a, b: replica } = pair();
          try {
            const logA = new RecordingLog();
            a.setMutationLog(logA);
            const ks = a.keyspace;
            let now = 1000;
            const apply = (o: SimpleOp): void => {
              switch (o.t) {
                case 'set': ks.set(keys[o.k]!, o.v, o.ttl === null ? null : now + o.ttl); break;
                case 'del': ks.delete(keys[o.k]!, now); break;
                case 'expire': ks.setExpiry(keys[o.k]!, o.ttl === null ? null : now + o.ttl, now); break;
                case 'get': ks.get(keys[o.k]!, now); break;
                case 'tick': now += o.ms; break;
                case 'cycle': ks.expireBatch(now, 2); break;
                case 'clear': ks.clear(); break;
                case 'commit': a.commits.flushNow(); break;
              }
            };
            for (const o of ops) {
              if (o.t !== 'atomic') {
                apply(o);
                continue;
              }
              try {
                ks.atomically(() => {
                  o.ops.forEach(apply);
                  if (o.abort) throw new Error('abort');
                });
              } catch (e) {
                if ((e as Error).message !== 'abort') throw e;
              }
            }
            a.commits.flushNow();
            expect(logA.seqs).to.deep.equal(range(1, ks.lastSeq));

            const logB = new RecordingLog();
            replica.setMutationLog(logB);
            // In two turns, as batches arrive.
            const half = Math.floor(logA.entries.length / 2);
            logA.entries.forEach((e, i) => {
              replica.keyspace.applyReplicated(e.m, e.seq);
              if (i === half) replica.commits.flushNow();
            });
            replica.commits.flushNow();

            expect(dump(replica)).to.deep.equal(dump(a));
            expect(replica.keyspace.lastSeq).to.equal(ks.lastSeq);
            expect(replica.keyspace.size()).to.equal(ks.size());
            expect(replica.stats().keysWithExpiry).to.equal(a.stats().keysWithExpiry);
            // The replica logs what it applies, so it can serve other replicas.
            expect(logB.entries).to.deep.equal(logA.entries);
          } finally {
            a.close();
            replica.close();
          }
        }),
        { numRuns: 60 },
      );
    });

    it('refuses a gap or a repeat with SequenceGapError and changes nothing', async () => {
      const { b: replica } = pair();
      const ks = replica.keyspace;
      const set: Mutation = { op: 'set', key: b('k'), value: b('v'), expiresAt: null };
      let err: unknown;
      try {
        ks.applyReplicated(set, 2);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(SequenceGapError);
      expect((err as SequenceGapError).message).to.match(/expected sequence 1, got 2/);
      expect((err as SequenceGapError).expected).to.equal(1);
      expect((err as SequenceGapError).got).to.equal(2);
      expect(ks.get(b('k'), 0)).to.equal(null);
      expect(ks.headSeq).to.equal(0);
      ks.applyReplicated(set, 1);
      expect(() => ks.applyReplicated(set, 1)).to.throw(SequenceGapError, /expected sequence 2, got 1/);
      await replica.commits.barrier();
      expect(ks.lastSeq).to.equal(1);
    });

    it('applies regardless of expiry, and del/expire of an absent key still take their sequence', async () => {
      const { b: replica } = pair();
      const ks = replica.keyspace;
      const heard: string[] = [];
      ks.onChange((key) => heard.push(key.toString()));
      ks.applyReplicated({ op: 'set', key: b('gone'), value: b('old'), expiresAt: 10 }, 1);
      // Already expired by this node's clock: still updated and versioned.
      ks.applyReplicated({ op: 'expire', key: b('gone'), expiresAt: 20 }, 2);
      ks.applyReplicated({ op: 'set', key: b('gone'), value: b('new'), expiresAt: 30 }, 3);
      expect(ks.get(b('gone'), 0)).to.deep.equal({ value: b('new'), expiresAt: 30, version: 3 });
      ks.applyReplicated({ op: 'del', key: b('absent') }, 4);
      ks.applyReplicated({ op: 'expire', key: b('absent'), expiresAt: null }, 5);
      ks.applyReplicated({ op: 'del', key: b('gone') }, 6);
      expect(ks.size()).to.equal(0);
      expect(replica.stats().keysWithExpiry).to.equal(0);
      expect(heard).to.deep.equal(['gone', 'gone', 'gone', 'gone']);
      await replica.commits.barrier();
      expect(ks.lastSeq).to.equal(6);
    });
  });

  describe('passive expiry', () => {
    const fx = engineFixture({ readCache: { maxEntries: 100, maxBytes: 1 << 20 } });

    it('hides expired keys from every read but never deletes them', async () => {
      const engine = fx.open();
      const ks = engine.keyspace;
      const log = new RecordingLog();
      ks.set(b('{s}dead'), b('v'), 100);
      ks.set(b('{s}live'), b('v'), null);
      await engine.commits.barrier();
      engine.setExpiryMode('passive');
      engine.setMutationLog(log);
      const slot = keySlot('s');

      expect(ks.get(b('{s}dead'), 50)!.value.toString()).to.equal('v'); // cached now
      expect(ks.get(b('{s}dead'), 100)).to.equal(null); // from the cache
      ks.readCache!.clear();
      expect(ks.get(b('{s}dead'), 100)).to.equal(null); // from SQLite
      expect(ks.setExpiry(b('{s}dead'), 500, 100)).to.equal(false);
      expect(ks.scan(0n, 100, 100).keys.map(String)).to.deep.equal(['{s}live']);
      expect(ks.scanPrefix(b('{s}'), null, 100, 100).entries.map((e) => e.key.toString())).to.deep.equal(['{s}live']);
      expect(ks.countInSlot(slot, 100)).to.equal(1);
      expect(ks.keysInSlot(slot, 10, 100).map(String)).to.deep.equal(['{s}live']);

      expect(engine.commits.pending).to.equal(false);
      expect(log.entries).to.deep.equal([]);
      expect(ks.size()).to.equal(2);
      expect(engine.db.prepare('SELECT COUNT(*) FROM kv').pluck().get()).to.equal(2);

      // Back to active (promotion): the next access reclaims it, as a logged delete.
      engine.setExpiryMode('active');
      expect(ks.get(b('{s}dead'), 100)).to.equal(null);
      expect(log.entries).to.deep.equal([{ seq: 3, m: { op: 'del', key: b('{s}dead') } }]);
      expect(ks.size()).to.equal(1);
    });
  });

  describe('bulk loading and slot repair', () => {
    const fx = engineFixture({ readCache: { maxEntries: 100, maxBytes: 1 << 20 } });
    let engine: SqliteEngine;
    let log: RecordingLog;
    let heard: string[];
    const packed = zlib.deflateRawSync(b('z'.repeat(500)));

    beforeEach(async () => {
      engine = fx.open();
      const ks = engine.keyspace;
      ks.set(b('{s}a'), b('1'), null);
      ks.set(b('{s}b'), b('2'), 5000);
      ks.set(b('{s}c'), b('3'), null);
      ks.set(b('other'), b('4'), 6000);
      await engine.commits.barrier();
      for (const key of ['{s}a', '{s}b', 'other']) ks.get(b(key), 0); // cached
      log = new RecordingLog();
      engine.setMutationLog(log);
      heard = [];
      ks.onChange((key) => heard.push(key.toString()));
    });

    it('resetForLoad, loadRows and finishLoad replace the data and the sequence, unlogged', async () => {
      const ks = engine.keyspace;
      ks.resetForLoad();
      expect(ks.size()).to.equal(0);
      expect(ks.get(b('{s}a'), 0)).to.equal(null);
      const rows: StoredRow[] = [
        { key: b('x'), flags: FLAG_DEFLATE, expiresAt: null, version: 17, value: packed },
        { key: b('y'), flags: FLAG_RAW, expiresAt: 9000, version: 30, value: b('why') },
      ];
      ks.loadRows(rows);
      // A later batch may carry a key again (it changed while the snapshot was read): it replaces the row.
      ks.loadRows([{ key: b('y'), flags: FLAG_RAW, expiresAt: null, version: 35, value: b('why2') }]);
      ks.finishLoad(40);
      expect(ks.headSeq).to.equal(40);
      expect(ks.lastSeq).to.equal(4);
      await engine.commits.barrier();

      expect(log.entries).to.deep.equal([]);
      expect(log.events).to.deep.equal(['before', 'committed:40']);
      expect(ks.lastSeq).to.equal(40);
      expect(heard.sort()).to.deep.equal(['other', 'x', 'y', 'y', '{s}a', '{s}b', '{s}c']);
      expect(dump(engine)).to.deep.equal([
        [b('x'), keySlot('x'), FLAG_DEFLATE, null, 17, packed],
        [b('y'), keySlot('y'), FLAG_RAW, null, 35, b('why2')],
      ]);
      expect(ks.get(b('x'), 0)!.value.toString()).to.equal('z'.repeat(500));
      expect(ks.size()).to.equal(2);
      expect(engine.stats().keysWithExpiry).to.equal(0);
      // The next write continues from the loaded sequence.
      expect(ks.set(b('z'), b('1'), null)).to.equal(41);
      engine.close();
      const again = fx.open();
      expect(again.stats().lastSeq).to.equal(41);
      expect(again.keyspace.size()).to.equal(3);
    });

    it('a load whose turn fails leaves data, counters and sequence as they were', async () => {
      const ks = engine.keyspace;
      ks.resetForLoad();
      ks.loadRows([{ key: b('x'), flags: 0, expiresAt: null, version: 1, value: b('v') }]);
      ks.finishLoad(99);
      engine.db.pragma(`max_page_count = ${engine.stats().pageCount}`);
      const failed = settle(engine.commits.barrier());
      expect(() => ks.loadRows([{ key: b('huge'), flags: 0, expiresAt: null, version: 2, value: randomBytes(200_000) }])).to.throw(/full/i);
      expect(await failed).to.be.instanceOf(Error);
      engine.db.pragma('max_page_count = 1073741823');
      expect(ks.headSeq).to.equal(4);
      expect(ks.size()).to.equal(4);
      expect(engine.stats().keysWithExpiry).to.equal(2);
      expect(ks.get(b('{s}a'), 0)!.value.toString()).to.equal('1');
      expect(ks.get(b('x'), 0)).to.equal(null);
    });

    it('replaceSlot makes one slot exactly the given rows and leaves the rest alone', async () => {
      const ks = engine.keyspace;
      const slot = keySlot('s');
      ks.replaceSlot(slot, [
        { key: b('{s}b'), flags: FLAG_RAW, expiresAt: null, version: 3, value: b('repaired') },
        { key: b('{s}d'), flags: FLAG_DEFLATE, expiresAt: 7000, version: 2, value: packed },
      ]);
      expect(ks.get(b('{s}b'), 0)!.value.toString()).to.equal('repaired'); // not the cached '2'
      expect(ks.get(b('{s}a'), 0)).to.equal(null);
      expect(ks.headSeq).to.equal(4);
      await engine.commits.barrier();
      expect(log.entries).to.deep.equal([]);
      expect(ks.lastSeq).to.equal(4);
      expect(heard.sort()).to.deep.equal(['{s}a', '{s}b', '{s}b', '{s}c', '{s}d']);
      expect(ks.keysInSlot(slot, 10, 0).map(String).sort()).to.deep.equal(['{s}b', '{s}d']);
      expect(ks.get(b('{s}d'), 0)).to.deep.equal({ value: b('z'.repeat(500)), expiresAt: 7000, version: 2 });
      expect(ks.get(b('other'), 0)).to.deep.equal({ value: b('4'), expiresAt: 6000, version: 4 });
      expect(ks.size()).to.equal(3);
      expect(engine.stats().keysWithExpiry).to.equal(2);
      // An empty list empties the slot.
      ks.replaceSlot(slot, []);
      expect(ks.countInSlot(slot, 0)).to.equal(0);
      expect(ks.size()).to.equal(1);
      expect(engine.stats().keysWithExpiry).to.equal(1);
    });

    it('replaceSlot refuses a row of another slot, or a bad slot, before changing anything', () => {
      const ks = engine.keyspace;
      const before = dump(engine);
      const slot = keySlot('s');
      expect(() => ks.replaceSlot(slot, [
        { key: b('{s}b'), flags: 0, expiresAt: null, version: 9, value: b('x') },
        { key: b('other'), flags: 0, expiresAt: null, version: 9, value: b('x') },
      ])).to.throw(RangeError, /"other" hashes to slot \d+, not \d+/);
      expect(() => ks.replaceSlot(16384, [])).to.throw(RangeError, /out of range/);
      expect(() => ks.replaceSlot(-1, [])).to.throw(RangeError, /out of range/);
      expect(engine.commits.pending).to.equal(false);
      expect(dump(engine)).to.deep.equal(before);
      expect(heard).to.deep.equal([]);
      expect(ks.size()).to.equal(4);
    });
  });

  describe('the release gate', () => {
    interface Held { seq: number; err: Error | null; release: (err: Error | null) => void }
    class TestGate implements ReleaseGate {
      held: Held[] = [];
      hold(seq: number, err: Error | null, release: (err: Error | null) => void): void {
        this.held.push({ seq, err, release });
      }
    }

    function gated(engine: SqliteEngine): { gate: TestGate; got: string[]; cb: (name: string) => void } {
      const gate = new TestGate();
      engine.setReleaseGate(gate);
      const got: string[] = [];
      const cb = (name: string): void => engine.commits.afterCommit((err) => got.push(`${name}:${err === null ? 'ok' : err.message}`));
      return { gate, got, cb };
    }

    describe('fsync=batch', () => {
      const fx = engineFixture();

      it('holds each turn once, in order, with the committed sequence, and delivers only on release', async () => {
        const engine = fx.open();
        const ks = engine.keyspace;
        const { gate, got, cb } = gated(engine);

        ks.set(b('a'), b('1'), null);
        cb('t1a');
        cb('t1b');
        await waitFor('turn 1 to be held', () => gate.held.length === 1);
        ks.set(b('b'), b('1'), null);
        ks.set(b('c'), b('1'), null);
        cb('t2');
        const t2 = engine.commits.barrier();
        engine.commits.flushNow();
        ks.set(b('d'), b('1'), null); // no callback: nothing to hold
        engine.commits.flushNow();
        cb('t4'); // read-only turn
        engine.commits.flushNow();
        // Failed turn: its error passes through the gate.
        engine.db.pragma(`max_page_count = ${engine.stats().pageCount}`);
        cb('t5');
        expect(() => ks.set(b('huge'), randomBytes(200_000), null)).to.throw(/full/i);
        engine.commits.flushNow();
        engine.db.pragma('max_page_count = 1073741823');

        expect(gate.held.map((h) => [h.seq, h.err?.message ?? null])).to.deep.equal([
          [1, null], [3, null], [4, null], [4, gate.held[3]!.err!.message],
        ]);
        expect(gate.held[3]!.err!.message).to.match(/full/i);
        expect(got).to.deep.equal([]);

        gate.held[0]!.release(null);
        expect(got).to.deep.equal(['t1a:ok', 't1b:ok']);
        gate.held[0]!.release(null); // a second release is ignored
        expect(got).to.have.length(2);
        // The gate may fail a turn (acknowledgements timed out).
        gate.held[1]!.release(new Error('NOREPLICAS not enough replicas'));
        expect(await settle(t2)).to.have.property('message', 'NOREPLICAS not enough replicas');
        gate.held[2]!.release(null);
        gate.held[3]!.release(gate.held[3]!.err);
        expect(got.slice(2)).to.deep.equal(['t2:NOREPLICAS not enough replicas', 't4:ok', `t5:${gate.held[3]!.err!.message}`]);

        // Without a gate, replies run right after the commit again.
        engine.setReleaseGate(null);
        ks.set(b('e'), b('1'), null);
        cb('t6');
        engine.commits.flushNow();
        expect(got.at(-1)).to.equal('t6:ok');
        expect(gate.held).to.have.length(4);
      });

      it('a gate that throws from hold() fails the turn at once instead of losing it', () => {
        const engine = fx.open();
        const { got, cb } = gated(engine);
        engine.setReleaseGate({ hold: () => { throw new Error('gate bug'); } });
        engine.keyspace.set(b('a'), b('1'), null);
        cb('t1');
        expect(() => engine.commits.flushNow()).to.throw('gate bug');
        expect(got).to.deep.equal(['t1:gate bug']);
      });
    });

    describe('fsync=always', () => {
      const fx = engineFixture({ fsync: 'always' });

      it('holds turns after the WAL sync, in order, with their sequence; shutdown still hands them over', async () => {
        const engine = fx.open();
        const ks = engine.keyspace;
        const { gate, got, cb } = gated(engine);
        ks.set(b('a'), b('1'), null);
        cb('t1');
        await waitFor('turn 1 to be held', () => gate.held.length === 1);
        ks.set(b('b'), b('1'), null);
        ks.set(b('c'), b('1'), null);
        cb('t2');
        await waitFor('turn 2 to be held', () => gate.held.length === 2);
        cb('t3'); // read-only
        await waitFor('turn 3 to be held', () => gate.held.length === 3);
        expect(gate.held.map((h) => [h.seq, h.err])).to.deep.equal([[1, null], [3, null], [3, null]]);
        expect(got).to.deep.equal([]);
        for (const h of gate.held) h.release(null);
        expect(got).to.deep.equal(['t1:ok', 't2:ok', 't3:ok']);

        ks.set(b('d'), b('1'), null);
        cb('t4');
        engine.close(); // flushNow + drainSync
        expect(gate.held.map((h) => h.seq)).to.deep.equal([1, 3, 3, 4]);
        expect(got).to.have.length(3);
        gate.held[3]!.release(new Error('shutting down'));
        expect(got.at(-1)).to.equal('t4:shutting down');
      });
    });
  });

  describe('meta rows', () => {
    const fx = engineFixture();

    it('commit with the turn, roll back with it, and persist across reopen', async () => {
      let engine = fx.open();
      const meta = engine.meta;
      expect(meta.get('epoch')).to.equal(undefined);
      meta.set('epoch', 5);
      meta.set('term', 'abc');
      meta.set('cleared', null);
      expect(engine.commits.pending).to.equal(true);
      expect(meta.get('epoch')).to.equal(5);
      await engine.commits.barrier();
      meta.set('epoch', 6);
      await engine.commits.barrier();

      engine.db.pragma(`max_page_count = ${engine.stats().pageCount}`);
      meta.set('epoch', 7);
      const failed = settle(engine.commits.barrier());
      expect(() => engine.keyspace.set(b('huge'), randomBytes(200_000), null)).to.throw(/full/i);
      expect(await failed).to.be.instanceOf(Error);
      engine.db.pragma('max_page_count = 1073741823');
      expect(meta.get('epoch')).to.equal(6);

      expect(() => meta.set('last_seq', 1)).to.throw(RangeError, /maintained by the engine/);
      expect(() => meta.set('node_id', 'x')).to.throw(RangeError);
      engine.close();
      engine = fx.open();
      expect(engine.meta.get('epoch')).to.equal(6);
      expect(engine.meta.get('term')).to.equal('abc');
      expect(engine.meta.get('cleared')).to.equal(null);
    });
  });
});
