/**
 * meta.key_count (issue #16): the row count a snapshot reads instead of a
 * COUNT(*) on the event loop. It must equal COUNT(*) in every committed
 * state: after inserts, overwrites, deletes, expiries, clear, a rolled-back
 * atomic block, a full-resync load; and a database whose row is missing or
 * wrong (an older version, a restore writing kv with SQL) is recounted at open.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import path from 'node:path';
import { DB_FILE_NAME } from '../../node/engine/database.js';
import { KEY_COUNT } from '../../node/engine/kv-rows.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import { SnapshotReader } from '../../node/replication/snapshot.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);

function snapshotCount(engine: SqliteEngine): number {
  const reader = new SnapshotReader(engine.file);
  try {
    return reader.totalKeys;
  } finally {
    reader.close();
  }
}

function expectCounted(engine: SqliteEngine): void {
  engine.commits.flushNow();
  const rows = engine.db.prepare('SELECT COUNT(*) FROM kv').pluck().get() as number;
  expect(engine.keyspace.size()).to.equal(rows);
  expect(snapshotCount(engine)).to.equal(rows);
}

describe('engine: maintained key count (meta.key_count)', () => {
  const fx = engineFixture();

  it('equals COUNT(*) after every kind of write', () => {
    const engine = fx.open();
    const ks = engine.keyspace;
    expectCounted(engine);
    for (let i = 0; i < 300; i++) ks.set(b(`k${i}`), b('v'), i < 50 ? 1000 : null);
    expectCounted(engine);
    for (let i = 0; i < 100; i++) ks.set(b(`k${i}`), b('again'), null);
    for (let i = 100; i < 140; i++) ks.delete(b(`k${i}`), 0);
    expectCounted(engine);
    expect(() => ks.atomically(() => {
      for (let i = 0; i < 20; i++) ks.set(b(`tx${i}`), b('v'), null);
      ks.delete(b('k200'), 0);
      throw new Error('abort the block');
    })).to.throw('abort the block');
    expectCounted(engine);
    for (let i = 300; i < 320; i++) ks.set(b(`k${i}`), b('v'), 1000);
    ks.get(b('k300'), 2000); // lazily expired on access
    engine.commits.flushNow();
    expect(ks.expireBatch(2000, 1000)).to.equal(19);
    expectCounted(engine);
    ks.resetForLoad();
    ks.loadRows([{ key: b('a'), value: b('1'), flags: 0, expiresAt: null, version: 1 }, { key: b('b'), value: b('2'), flags: 0, expiresAt: null, version: 2 }]);
    ks.finishLoad(2);
    expectCounted(engine);
    expect(snapshotCount(engine)).to.equal(2);
    ks.clear();
    expectCounted(engine);
    expect(snapshotCount(engine)).to.equal(0);
  });

  it('is recounted at open when the row is missing or wrong', () => {
    let engine = fx.open();
    for (let i = 0; i < 40; i++) engine.keyspace.set(b(`k${i}`), b('v'), null);
    engine.close();
    const file = path.join(fx.dir, DB_FILE_NAME);
    for (const tamper of ["DELETE FROM meta WHERE name = 'key_count'", "UPDATE meta SET value = 7 WHERE name = 'key_count'"]) {
      const db = new Database(file);
      db.exec(tamper);
      // What a restore or an archive replay does: rows written with SQL, no count kept.
      db.prepare("INSERT INTO kv (key, slot, flags, expires_at, version, value) VALUES (?, 0, 0, NULL, 1, x'00')").run(b(`sql-${tamper.length}`));
      db.close();
      engine = fx.open();
      expectCounted(engine);
      engine.close();
    }
    engine = fx.open();
    expect(engine.keyspace.size()).to.equal(42);
    expect(() => engine.meta.set(KEY_COUNT, 1)).to.throw(RangeError, /maintained by the engine/);
  });

  it('serves a database without the row (older version) through COUNT(*) in the snapshot', () => {
    const engine = fx.open();
    for (let i = 0; i < 25; i++) engine.keyspace.set(b(`k${i}`), b('v'), null);
    engine.commits.flushNow();
    engine.db.exec("DELETE FROM meta WHERE name = 'key_count'");
    expect(snapshotCount(engine)).to.equal(25);
  });
});
