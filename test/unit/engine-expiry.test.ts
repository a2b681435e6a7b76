/**
 * TTL in the engine: lazy expiry on access (with an injected `now`), and the
 * active cycle that reclaims expired keys by index in bounded steps, freeing
 * pages (used pages drop, and the file gives pages back).
 */
import { expect } from 'chai';
import path from 'node:path';
import type { SqliteEngine } from '../../node/engine/open.js';
import type { EngineHooks } from '../../node/engine/types.js';
import { engineFixture } from '../support/engine-fixture.js';
import { waitFor } from '../support/wait.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const b = (s: string): Buffer => Buffer.from(s);

describe('engine: expiry', () => {
  const fx = engineFixture({
    readCache: { maxEntries: 100, maxBytes: 1 << 20 },
    activeExpiry: { intervalMs: 10, maxKeysPerCycle: 500, maxCycleMs: 50 },
  });
  let engine: SqliteEngine | undefined;
  let lazy: number;
  let cycles: Array<{ count: number; seconds: number }>;
  const hooks: EngineHooks = {
    onLazyExpired: (n) => { lazy += n; },
    onExpired: (count, seconds) => { cycles.push({ count, seconds }); },
  };

  beforeEach(() => {
    lazy = 0;
    cycles = [];
  });

  it('get() hides and deletes a key once now reaches its expiry', async () => {
    engine = fx.open({}, hooks);
    const ks = engine.keyspace;
    const changed: string[] = [];
    ks.onChange((k) => changed.push(k.toString()));
    ks.set(b('k'), b('v'), 1000);
    await engine.commits.barrier();
    expect(ks.get(b('k'), 999)!.value.toString()).to.equal('v'); // also caches it
    expect(ks.size()).to.equal(1);
    changed.length = 0;
    expect(ks.get(b('k'), 1000)).to.equal(null);
    // Deleted as an explicit write, not just hidden.
    expect(ks.size()).to.equal(0);
    expect(engine.stats().keysWithExpiry).to.equal(0);
    expect(engine.stats().expiredKeys).to.equal(1);
    expect(lazy).to.equal(1);
    expect(changed).to.deep.equal(['k']);
    await engine.commits.barrier();
    expect(engine.db.prepare('SELECT COUNT(*) FROM kv').pluck().get()).to.equal(0);
    // Even an earlier `now` cannot bring it back.
    expect(ks.get(b('k'), 0)).to.equal(null);
  });

  it('delete() and setExpiry() treat an expired key as absent and reclaim it', () => {
    engine = fx.open({}, hooks);
    const ks = engine.keyspace;
    ks.set(b('a'), b('v'), 100);
    ks.set(b('b'), b('v'), 100);
    expect(ks.delete(b('a'), 100)).to.equal(false);
    expect(ks.setExpiry(b('b'), 5000, 150)).to.equal(false);
    expect(ks.size()).to.equal(0);
    expect(engine.stats().expiredKeys).to.equal(2);
    expect(lazy).to.equal(2);
    expect(ks.get(b('b'), 0)).to.equal(null);
  });

  it('without onLazyExpired, lazy expiries are reported through onExpired', () => {
    engine = fx.open({}, { onExpired: (count, seconds) => cycles.push({ count, seconds }) });
    engine.keyspace.set(b('a'), b('v'), 10);
    engine.keyspace.get(b('a'), 10);
    expect(cycles).to.deep.equal([{ count: 1, seconds: 0 }]);
  });

  it('SCAN and scanPrefix skip expired keys without deleting them', () => {
    engine = fx.open({}, hooks);
    const ks = engine.keyspace;
    ks.set(b('p:live'), b('v'), null);
    ks.set(b('p:dead'), b('v'), 10);
    expect(ks.scan(0n, 100, 10).keys.map(String)).to.deep.equal(['p:live']);
    expect(ks.scanPrefix(b('p:'), null, 100, 10).entries.map((e) => e.key.toString())).to.deep.equal(['p:live']);
    expect(ks.size()).to.equal(2); // as Redis DBSIZE: includes keys not yet reclaimed
  });

  it('one active cycle deletes at most maxKeysPerCycle expired keys, oldest first, and leaves live ones', () => {
    engine = fx.open({ activeExpiry: { intervalMs: 1000, maxKeysPerCycle: 100, maxCycleMs: 1000 } }, hooks);
    const ks = engine.keyspace;
    const now = Date.now();
    for (let i = 0; i < 250; i++) ks.set(b(`dead${i}`), b('v'), now - 1000 + i);
    for (let i = 0; i < 50; i++) ks.set(b(`live${i}`), b('v'), i % 2 ? null : now + 3_600_000);
    engine.commits.flushNow();
    const changed: string[] = [];
    ks.onChange((k) => changed.push(k.toString()));

    expect(engine.runExpiryCycle()).to.equal(100);
    expect(changed.slice(0, 3)).to.deep.equal(['dead0', 'dead1', 'dead2']);
    expect(ks.size()).to.equal(200);
    expect(engine.runExpiryCycle()).to.equal(100);
    expect(engine.runExpiryCycle()).to.equal(50);
    expect(engine.runExpiryCycle()).to.equal(0);
    engine.commits.flushNow();
    expect(ks.size()).to.equal(50);
    expect(engine.stats().keysWithExpiry).to.equal(25);
    expect(engine.stats().expiredKeys).to.equal(250);
    expect(cycles.map((c) => c.count)).to.deep.equal([100, 100, 50, 0]);
    expect(lazy).to.equal(0);
  });

  it('a cycle whose delete fails midway leaves keys and counters as they were, and the next cycle retries', () => {
    const commitErrors: Error[] = [];
    engine = fx.open(
      { activeExpiry: { intervalMs: 1000, maxKeysPerCycle: 100, maxCycleMs: 1000 } },
      { ...hooks, onCommitError: (err) => { commitErrors.push(err); } },
    );
    const ks = engine.keyspace;
    for (let i = 0; i < 40; i++) ks.set(b(`dead${i}`), b('v'), 1 + i);
    ks.set(b('live'), b('v'), null);
    engine.commits.flushNow();
    // A real statement failure on the 21st delete, after 20 deletes of the same turn succeeded.
    engine.db.exec(`CREATE TEMP TRIGGER refuse_delete BEFORE DELETE ON kv WHEN old.key = X'${b('dead20').toString('hex')}'
      BEGIN SELECT RAISE(ABORT, 'injected delete failure'); END`);

    expect(engine.runExpiryCycle()).to.equal(0);
    engine.commits.flushNow();
    expect(commitErrors.map((e) => e.message)).to.deep.equal(['injected delete failure']);
    expect(ks.size()).to.equal(41);
    expect(engine.stats().keysWithExpiry).to.equal(40);
    expect(engine.stats().expiredKeys).to.equal(0);
    expect(engine.db.prepare('SELECT COUNT(*) FROM kv').pluck().get()).to.equal(41);

    engine.db.exec('DROP TRIGGER refuse_delete');
    expect(engine.runExpiryCycle()).to.equal(40);
    engine.commits.flushNow();
    expect(ks.size()).to.equal(1);
    expect(engine.stats().keysWithExpiry).to.equal(0);
    expect(engine.stats().expiredKeys).to.equal(40);
    expect(cycles.map((c) => c.count)).to.deep.equal([0, 40]);
    expect(engine.integrityCheck()).to.deep.equal(['ok']);
  });

  it('an atomically() block that throws undoes its lazy expiries, counters included', () => {
    engine = fx.open({}, hooks);
    const ks = engine.keyspace;
    ks.set(b('k'), b('v'), 10);
    engine.commits.flushNow();
    expect(() => ks.atomically(() => {
      expect(ks.get(b('k'), 20)).to.equal(null); // deleted lazily inside the block
      throw new Error('block fails');
    })).to.throw('block fails');
    engine.commits.flushNow();
    expect(ks.size()).to.equal(1);
    expect(engine.stats().keysWithExpiry).to.equal(1);
    expect(engine.stats().expiredKeys).to.equal(0);
  });

  it('the cycle stops at maxCycleMs, checking the clock between small batches', () => {
    // maxCycleMs = 1 ms with 20k expired keys: a cycle must stop well before the key limit.
    engine = fx.open({ activeExpiry: { intervalMs: 1000, maxKeysPerCycle: 1_000_000, maxCycleMs: 1 } }, hooks);
    const ks = engine.keyspace;
    for (let i = 0; i < 20_000; i++) ks.set(b(`k${i}`), b('v'), 1);
    engine.commits.flushNow();
    const deleted = engine.runExpiryCycle();
    expect(deleted).to.be.greaterThan(0);
    expect(deleted).to.be.lessThan(20_000);
  });

  it('the timer reclaims expired keys without any access, and used pages drop', async () => {
    engine = fx.open({ activeExpiry: { intervalMs: 5, maxKeysPerCycle: 200, maxCycleMs: 20 } }, hooks);
    const ks = engine.keyspace;
    const value = Buffer.alloc(300, 7);
    for (let i = 0; i < 3000; i++) ks.set(b(`session:${i}`), value, Date.now() + 200);
    for (let i = 0; i < 100; i++) ks.set(b(`keep:${i}`), value, null);
    await engine.commits.barrier();
    const before = engine.stats();
    const usedBefore = before.pageCount - before.freelistCount;
    expect(before.keys).to.equal(3100);

    engine.startActiveExpiry();
    await waitFor('the active cycle to reclaim the expired keys', () => engine!.stats().keys === 100);
    await waitFor('the reclaiming commits to land', () => !engine!.commits.pending);
    const after = engine.stats();
    expect(after.keysWithExpiry).to.equal(0);
    expect(after.pageCount - after.freelistCount).to.be.lessThan(usedBefore / 5);
    // Free pages are handed back in bounded steps (auto_vacuum=INCREMENTAL): the file shrinks.
    await waitFor('free pages to be returned', () => engine!.stats().pageCount < before.pageCount / 2);
    expect(lazy).to.equal(0);
    expect(cycles.reduce((n, c) => n + c.count, 0)).to.equal(3000);
    expect(cycles.every((c) => c.count <= 200)).to.equal(true);
    expect(engine.integrityCheck()).to.deep.equal(['ok']);
    engine.stopActiveExpiry();
  });

  it('the expiry cycle finds expired keys through the partial expiry index', () => {
    engine = fx.open();
    const plan = engine.db
      .prepare('EXPLAIN QUERY PLAN SELECT id, key FROM kv WHERE expires_at <= ? ORDER BY expires_at LIMIT ?')
      .all(1, 1) as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join()).to.match(/INDEX kv_expiry/);
  });

  it('the expiry timer does not keep the process alive and stops on close', () => {
    // A process that opens an engine, starts the cycle and never closes it must still exit.
    const openJs = pathToFileURL(path.resolve(here, '../../node/engine/open.js')).href;
    const script = `
      import { openEngine } from ${JSON.stringify(openJs)};
      const e = openEngine(${JSON.stringify(fx.options())});
      e.startActiveExpiry();
      e.keyspace.set(Buffer.from('k'), Buffer.from('v'), Date.now() + 60000);
    `;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000, encoding: 'utf8' });
    expect(res.error).to.equal(undefined);
    expect(res.status, res.stderr).to.equal(0);

    engine = fx.open();
    expect(engine.keyspace.size()).to.equal(1); // its end-of-turn commit ran before the process exited
    engine.startActiveExpiry();
    engine.startActiveExpiry(); // idempotent
    engine.close();
    expect(() => engine!.startActiveExpiry()).to.throw(/closed/);
    engine = undefined;
  });
});
