/**
 * The kv upsert (node/engine/row-upsert.ts) on a real SQLite database: what
 * it reports about the row it replaced drives the key and expiry counters,
 * and a caller's knowledge of the row (the read cache) may skip the lookup
 * but must never lose a write when it is wrong. Then through the engine:
 * counters after rewrites of cached keys agree with a recount at open.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type OpenedDatabase } from '../../node/engine/database.js';
import { RowUpsert } from '../../node/engine/row-upsert.js';
import { Statements } from '../../node/engine/statements.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('engine: the kv upsert', () => {
  let tmp: string;
  let opened: OpenedDatabase;
  let st: Statements;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-upsert-'));
    opened = openDatabase(tmp, 'batch');
    st = new Statements(opened.db);
  });

  afterEach(() => {
    opened.db.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const row = (key: string): unknown[] | undefined => opened.db.prepare('SELECT flags, expires_at, version, value FROM kv WHERE key = ?').raw().get(b(key)) as unknown[] | undefined;

  it('reports what the row was: absent, persistent or expiring', () => {
    const u = new RowUpsert(st);
    expect(u.run(b('k'), null, 0, null, 1, b('v1'))).to.equal('absent');
    expect(u.run(b('k'), null, 0, 5000, 2, b('v2'))).to.equal('persistent');
    expect(u.run(b('k'), null, 0, null, 3, b('v3'))).to.equal('expiring');
    expect(row('k')).to.deep.equal([0, null, 3, b('v3')]);
  });

  it('with the row known, writes it in place and reports what the caller knew', () => {
    const u = new RowUpsert(st);
    u.run(b('k'), null, 0, 7000, 1, b('v1'));
    expect(u.run(b('k'), null, 1, null, 2, b('v2'), 'expiring')).to.equal('expiring');
    expect(row('k')).to.deep.equal([1, null, 2, b('v2')]);
    expect(opened.db.prepare('SELECT COUNT(*) FROM kv').pluck().get()).to.equal(1);
  });

  it('a wrong "the row exists" loses nothing: the row is inserted and reported absent', () => {
    const u = new RowUpsert(st);
    expect(u.run(b('gone'), null, 0, null, 1, b('v'), 'persistent')).to.equal('absent');
    expect(row('gone')).to.deep.equal([0, null, 1, b('v')]);
    expect(u.run(b('gone2'), null, 0, 9000, 2, b('w'), 'expiring')).to.equal('absent');
    expect(row('gone2')).to.deep.equal([0, 9000, 2, b('w')]);
  });

  describe('through the engine, with the read cache', () => {
    const fx = engineFixture({ readCache: { maxEntries: 1000, maxBytes: 1 << 20, absentKeys: true } });

    it('keeps the key and expiry counters right over rewrites of cached keys, as a recount at open finds', () => {
      let engine = fx.open();
      const ks = engine.keyspace;
      const now = Date.now();
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 50; i++) {
          // Alternate persistent and expiring values so every prior/next combination occurs.
          const expiring = (i + round) % 3 === 0;
          ks.set(b(`k${i}`), b(`v${round}-${i}`), expiring ? now + 3_600_000 : null);
        }
      }
      for (let i = 0; i < 10; i++) ks.delete(b(`k${i}`), now);
      ks.set(b('k0'), b('back'), null);
      engine.commitNow();
      const live = { keys: engine.keyspace.size(), expiring: engine.stats().keysWithExpiry };
      expect(live.keys).to.equal(41);
      engine.close();
      engine = fx.open();
      expect({ keys: engine.keyspace.size(), expiring: engine.stats().keysWithExpiry }).to.deep.equal(live);
    });
  });
});
