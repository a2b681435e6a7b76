/**
 * Group commit and atomicity on real SQLite: replies wait for the commit,
 * one commit per event-loop turn, real failures (a full "disk" via
 * max_page_count, a COMMIT-time constraint failure) roll the whole turn back
 * and every callback of the turn gets the error, atomically() undoes a block.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { SqliteEngine } from '../../node/engine/open.js';
import type { EngineHooks } from '../../node/engine/types.js';
import { engineFixture } from '../support/engine-fixture.js';
import { waitFor } from '../support/wait.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('engine: group commit', () => {
  const fx = engineFixture({ fsync: 'always', readCache: { maxEntries: 1000, maxBytes: 1 << 20 } });
  let engine: SqliteEngine;
  let commitLog: number[];
  let commitErrors: Error[];

  function open(hooks: EngineHooks = {}): SqliteEngine {
    return fx.open({}, {
      onCommit: (_s, writes) => commitLog.push(writes),
      onCommitError: (err) => commitErrors.push(err),
      ...hooks,
    });
  }

  beforeEach(() => {
    commitLog = [];
    commitErrors = [];
    engine = open();
  });

  function committedValue(key: string): string | null {
    // A second connection sees only committed data.
    const reader = new Database(engine.file, { readonly: true });
    try {
      const v = reader.prepare('SELECT value FROM kv WHERE key = ?').pluck().get(b(key)) as Buffer | undefined;
      return v === undefined ? null : v.toString();
    } finally {
      reader.close();
    }
  }

  it('runs afterCommit callbacks only once the turn is committed', async () => {
    const seen: Array<string | null> = [];
    engine.keyspace.set(b('k'), b('v'), null);
    expect(engine.commits.pending).to.equal(true);
    expect(committedValue('k')).to.equal(null);
    const done = new Promise<Error | null>((resolve) => engine.commits.afterCommit((err) => {
      seen.push(committedValue('k'));
      resolve(err);
    }));
    expect(seen).to.deep.equal([]);
    expect(await done).to.equal(null);
    expect(seen).to.deep.equal(['v']);
    expect(engine.commits.pending).to.equal(false);
  });

  it('commits all writes of one turn in one transaction', async () => {
    for (let i = 0; i < 50; i++) engine.keyspace.set(b(`k${i}`), b('v'), null);
    engine.keyspace.delete(b('k0'), 0);
    engine.keyspace.delete(b('absent'), 0); // a no-op is not a write
    await engine.commits.barrier();
    expect(commitLog).to.deep.equal([51]);
    expect(engine.stats().commits).to.equal(1);
    for (let i = 0; i < 5; i++) {
      engine.keyspace.set(b(`again${i}`), b('v'), null);
      await engine.commits.barrier();
    }
    expect(commitLog).to.deep.equal([51, 1, 1, 1, 1, 1]);
  });

  it('runs callbacks in order, then barrier promises, and handles an idle turn', async () => {
    const order: string[] = [];
    engine.commits.afterCommit((err) => order.push(`idle:${String(err)}`));
    await engine.commits.barrier().then(() => order.push('barrier'));
    expect(order).to.deep.equal(['idle:null', 'barrier']);
    expect(commitLog).to.deep.equal([]);

    order.length = 0;
    engine.keyspace.set(b('a'), b('1'), null);
    const p = engine.commits.barrier().then(() => order.push('barrier'));
    engine.commits.afterCommit(() => order.push('cb1'));
    engine.commits.afterCommit(() => order.push('cb2'));
    await p;
    expect(order).to.deep.equal(['cb1', 'cb2', 'barrier']);
  });

  it('flushNow commits at once and callbacks registered by callbacks go to the next turn', async () => {
    engine.keyspace.set(b('a'), b('1'), null);
    let inner: Error | null | undefined;
    engine.commits.afterCommit(() => {
      engine.keyspace.set(b('b'), b('2'), null);
      engine.commits.afterCommit((err) => { inner = err; });
    });
    engine.commits.flushNow();
    expect(committedValue('a')).to.equal('1');
    expect(engine.commits.pending).to.equal(true);
    expect(inner).to.equal(undefined);
    // Next turn: committed, then (fsync=always) released once the WAL sync is done.
    await waitFor('the next turn to commit', () => inner !== undefined);
    expect(inner).to.equal(null);
    expect(committedValue('b')).to.equal('2');
  });

  it('runs every callback even if one of them or a hook throws, then surfaces the error', () => {
    engine.close();
    engine = open({ onCommit: () => { throw new Error('hook bug'); } });
    const ran: string[] = [];
    engine.keyspace.set(b('a'), b('1'), null);
    engine.commits.afterCommit(() => { ran.push('first'); throw new Error('callback bug'); });
    engine.commits.afterCommit((err) => ran.push(`second:${String(err)}`));
    expect(() => engine.commits.flushNow()).to.throw('hook bug');
    expect(ran).to.deep.equal(['first', 'second:null']);
    expect(committedValue('a')).to.equal('1');
  });

  it('a full disk (max_page_count) rolls the whole turn back and fails every callback of it', async () => {
    const ks = engine.keyspace;
    ks.set(b('a'), b('old'), null);
    await engine.commits.barrier();
    expect(ks.get(b('a'), 0)!.value.toString()).to.equal('old'); // now cached
    const pages = engine.stats().pageCount;
    const lastSeq = engine.stats().lastSeq;
    engine.db.pragma(`max_page_count = ${pages}`);

    const results: Array<Error | null> = [];
    ks.set(b('a'), b('new'), null);
    ks.set(b('fresh'), b('x'), 99);
    expect(ks.get(b('a'), 0)!.value.toString()).to.equal('new'); // read-your-writes, cached
    engine.commits.afterCommit((err) => results.push(err));
    const barrier = engine.commits.barrier();
    expect(() => ks.set(b('huge'), randomBytes(200_000), null)).to.throw(/full/i);
    // The turn is poisoned: a later write in it fails the same way.
    expect(() => ks.set(b('later'), b('x'), null)).to.throw(/full/i);
    engine.commits.afterCommit((err) => results.push(err));
    let barrierError: unknown;
    await barrier.catch((err: unknown) => { barrierError = err; });

    expect(results).to.have.length(2);
    expect(results[0]).to.be.instanceOf(Error);
    expect(results[1]).to.equal(results[0]);
    expect(barrierError).to.equal(results[0]);
    expect(commitErrors).to.deep.equal([results[0]]);
    // No trace of the turn: not in SQLite, not in the cache, not in the counters.
    expect(ks.get(b('a'), 0)!.value.toString()).to.equal('old');
    expect(ks.get(b('fresh'), 0)).to.equal(null);
    expect(ks.get(b('later'), 0)).to.equal(null);
    expect(ks.size()).to.equal(1);
    expect(engine.stats().keysWithExpiry).to.equal(0);
    expect(engine.stats().lastSeq).to.equal(lastSeq);
    expect(committedValue('a')).to.equal('old');

    // The next turn works again once there is room.
    engine.db.pragma('max_page_count = 1073741823');
    ks.set(b('after'), b('ok'), null);
    await engine.commits.barrier();
    expect(committedValue('after')).to.equal('ok');
    expect(engine.integrityCheck()).to.deep.equal(['ok']);
  });

  it('a failing COMMIT rolls the turn back and hands the error to its callbacks', async () => {
    // A deferred foreign key is checked at COMMIT time: a real SQLite commit failure.
    engine.db.pragma('foreign_keys = ON');
    engine.db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
    const ks = engine.keyspace;
    ks.set(b('kept'), b('1'), null);
    await engine.commits.barrier();
    ks.get(b('kept'), 0); // cached

    ks.set(b('kept'), b('2'), null);
    ks.set(b('gone'), b('x'), null);
    ks.get(b('kept'), 0); // caches the uncommitted value
    engine.db.prepare('INSERT INTO child VALUES (42)').run();
    const err = await new Promise<Error | null>((resolve) => engine.commits.afterCommit(resolve));
    expect(err).to.be.instanceOf(Error);
    expect(err!.message).to.match(/FOREIGN KEY/i);
    expect(commitErrors).to.have.length(1);
    expect(engine.db.inTransaction).to.equal(false);
    expect(ks.get(b('kept'), 0)!.value.toString()).to.equal('1');
    expect(ks.get(b('gone'), 0)).to.equal(null);
    expect(ks.size()).to.equal(1);
    expect(engine.db.prepare('SELECT COUNT(*) FROM child').pluck().get()).to.equal(0);
  });

  it('atomically() undoes every write of a block that throws, including in the cache', async () => {
    const ks = engine.keyspace;
    const changed: string[] = [];
    ks.set(b('a'), b('1'), null);
    ks.set(b('b'), b('1'), 50);
    await engine.commits.barrier();
    ks.onChange((k) => changed.push(k.toString()));
    const before = { ...engine.stats() };

    expect(() => ks.atomically(() => {
      ks.set(b('a'), b('2'), null);
      ks.delete(b('b'), 0);
      ks.set(b('c'), b('3'), 10);
      expect(ks.get(b('a'), 0)!.value.toString()).to.equal('2'); // cached inside the block
      throw new Error('abort batch');
    })).to.throw('abort batch');

    expect(ks.get(b('a'), 0)!.value.toString()).to.equal('1');
    expect(ks.get(b('b'), 0)!.expiresAt).to.equal(50);
    expect(ks.get(b('c'), 0)).to.equal(null);
    expect(ks.size()).to.equal(before.keys);
    expect(engine.stats().keysWithExpiry).to.equal(before.keysWithExpiry);
    // Other writes of the same turn still commit.
    ks.set(b('d'), b('4'), null);
    await engine.commits.barrier();
    expect(committedValue('d')).to.equal('4');
    expect(committedValue('a')).to.equal('1');
    expect(changed).to.include('a');
  });

  it('atomically() commits a block that returns, and nests', async () => {
    const ks = engine.keyspace;
    const out = ks.atomically(() => {
      ks.set(b('x'), b('1'), null);
      expect(() => ks.atomically(() => {
        ks.set(b('y'), b('1'), null);
        throw new Error('inner');
      })).to.throw('inner');
      ks.set(b('z'), b('1'), null);
      return 'done';
    });
    expect(out).to.equal('done');
    await engine.commits.barrier();
    expect(committedValue('x')).to.equal('1');
    expect(committedValue('y')).to.equal(null);
    expect(committedValue('z')).to.equal('1');
    expect(ks.size()).to.equal(2);
  });

  it('atomically() fails if a write inside it failed the turn even when the block swallowed it', async () => {
    const ks = engine.keyspace;
    engine.db.pragma(`max_page_count = ${engine.stats().pageCount}`);
    expect(() => ks.atomically(() => {
      ks.set(b('small'), b('1'), null);
      try {
        ks.set(b('huge'), randomBytes(200_000), null);
      } catch {
        /* swallowed on purpose */
      }
      return 1;
    })).to.throw(/full/i);
    const err = await engine.commits.barrier().then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    engine.db.pragma('max_page_count = 1073741823');
    expect(ks.get(b('small'), 0)).to.equal(null);
  });
});
