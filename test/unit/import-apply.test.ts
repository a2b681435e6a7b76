/**
 * The bulk import's apply (issue #19): the insert-first choice of the apply
 * path (node/engine/insert-first.ts) against a reference model, the key and
 * expiry counters it keeps equal to the table's whatever mix of new keys,
 * overwrites and deletes reaches a real engine, and the time-sliced apply
 * (node/http/import-apply.ts) committing one request over several turns.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { InsertFirstEstimate } from '../../node/engine/insert-first.js';
import type { StoredRow } from '../../node/engine/types.js';
import { ImportTurnBudget, applyImportSliced } from '../../node/http/import-apply.js';
import { engineFixture } from '../support/engine-fixture.js';

describe('bulk import apply: insert-first upserts and time slices (issue #19)', () => {
  const fx = engineFixture({ readCache: { maxEntries: 0, maxBytes: 0 } });

  it('InsertFirstEstimate follows a saturating count of new keys minus overwrites', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.boolean(), { maxLength: 200 }), (limit, created) => {
      const est = new InsertFirstEstimate(limit);
      let score = -limit;
      for (const c of created) {
        est.record(c);
        score = Math.max(-limit, Math.min(limit, score + (c ? 1 : -1)));
        if (est.insertFirst !== score > 0) return false;
      }
      return true;
    }));
    const est = new InsertFirstEstimate(4);
    expect(est.insertFirst, 'lookup first at start').to.equal(false);
    for (let i = 0; i < 5; i++) est.record(true);
    expect(est.insertFirst).to.equal(true);
  });

  it('keeps key and expiry counts and values equal to the table through runs of new keys, overwrites and deletes', () => {
    const engine = fx.open();
    const ks = engine.keyspace;
    const count = engine.db.prepare('SELECT COUNT(*) FROM kv').pluck();
    const expiring = engine.db.prepare('SELECT COUNT(*) FROM kv WHERE expires_at IS NOT NULL').pluck();
    const model = new Map<string, { value: string; expiresAt: number | null }>();
    const far = Date.now() + 3_600_000;
    // Runs of one kind long enough to flip the estimate both ways.
    const op = fc.record({
      kind: fc.constantFrom('set', 'set', 'del'),
      key: fc.integer({ min: 0, max: 60 }),
      run: fc.integer({ min: 1, max: 40 }),
      ttl: fc.boolean(),
    });
    fc.assert(fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      for (const o of ops) {
        for (let j = 0; j < o.run; j++) {
          const key = `k${(o.key + j) % 100}`;
          if (o.kind === 'del') {
            ks.delete(Buffer.from(key), Date.now());
            model.delete(key);
          } else {
            const value = `${key}:${model.size}:${j}`;
            const expiresAt = o.ttl ? far + j : null;
            ks.set(Buffer.from(key), Buffer.from(value), expiresAt);
            model.set(key, { value, expiresAt });
          }
        }
      }
      expect(ks.size()).to.equal(count.get()).and.to.equal(model.size);
      expect(ks.keysWithExpiry).to.equal(expiring.get()).and.to.equal([...model.values()].filter((v) => v.expiresAt !== null).length);
      for (const [key, v] of model) {
        const e = ks.get(Buffer.from(key), Date.now());
        expect(e?.value.toString(), key).to.equal(v.value);
        expect(e?.expiresAt, key).to.equal(v.expiresAt);
      }
      return true;
    }), { numRuns: 40 });
    engine.commits.flushNow();
  });

  it('applies a request over several turns, each committed, and resolves once all are durable', async () => {
    const engine = fx.open();
    const ks = engine.keyspace;
    let tick = 0;
    // A clock that advances 1 ms per look: a 10 ms slice ends after about ten looks (16 rows each).
    const budget = new ImportTurnBudget(10, () => tick++);
    const rows: StoredRow[] = [];
    for (let i = 0; i < 1000; i++) rows.push({ key: Buffer.from(`imp:${i}`), value: Buffer.from(`v${i}`), flags: 0, version: 0, expiresAt: i % 3 === 0 ? 60_000 : null });
    const commitsBefore = (engine.commits as unknown as { commits: number }).commits;
    const at = Date.now();
    // Each slice reads the wall clock once: 1 s later each time, so a TTL counts from its own slice.
    let clockReads = 0;
    let checks = 0;
    const target = {
      set: ks.set.bind(ks), barrier: () => engine.commits.barrier(),
      now: () => at + 1000 * clockReads++,
      checkServed: () => { checks++; },
    };
    const { slices } = await applyImportSliced(rows, target, budget);
    expect(slices).to.be.greaterThan(3);
    expect(clockReads, 'one clock read per slice').to.equal(slices);
    expect(checks, 'the slots checked again in every slice after the first').to.equal(slices - 1);
    expect((engine.commits as unknown as { commits: number }).commits - commitsBefore, 'one commit per slice').to.equal(slices);
    expect(engine.commits.pending, 'nothing left uncommitted').to.equal(false);
    expect(ks.size()).to.equal(1000);
    for (const i of [0, 1, 500, 999]) {
      const e = ks.get(Buffer.from(`imp:${i}`), at);
      expect(e?.value.toString()).to.equal(`v${i}`);
    }
    expect(ks.get(Buffer.from('imp:0'), at)?.expiresAt).to.equal(at + 60_000);
    expect(ks.get(Buffer.from('imp:999'), at)?.expiresAt).to.equal(at + 1000 * (slices - 1) + 60_000);
  });

  it('stops before a slice whose slots are no longer served here, leaving the rest unapplied', async () => {
    const engine = fx.open();
    const ks = engine.keyspace;
    let tick = 0;
    const budget = new ImportTurnBudget(10, () => tick++);
    const rows: StoredRow[] = [];
    for (let i = 0; i < 1000; i++) rows.push({ key: Buffer.from(`mv:${i}`), value: Buffer.from('v'), flags: 0, version: 0, expiresAt: null });
    let checks = 0;
    const target = {
      set: ks.set.bind(ks), barrier: () => engine.commits.barrier(), now: () => Date.now(),
      // The third slice finds the slot moved (a migration flipped it while the request waited for its turn).
      checkServed: () => {
        if (++checks === 2) throw new Error('slot moved');
      },
    };
    let err: unknown = null;
    await applyImportSliced(rows, target, budget).catch((e: unknown) => { err = e; });
    expect(String(err)).to.match(/slot moved/);
    const applied = ks.size();
    expect(applied).to.be.greaterThan(0);
    expect(applied, 'no row of the refused slice or after it').to.be.lessThan(1000);
    await engine.commits.barrier();
    expect(ks.size()).to.equal(applied);
  });
});
