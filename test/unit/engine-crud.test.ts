/**
 * Storage engine basics on real SQLite in a temp dir: CRUD, versions,
 * binary-safe keys/values, persistence of data, node id and sequence across
 * reopen, slot queries, clear, onChange, schema checks.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { keySlot } from '../../common/slot.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import { DB_FILE_NAME } from '../../node/engine/database.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('engine: CRUD and persistence', () => {
  const fx = engineFixture();
  let engine: SqliteEngine | undefined;

  it('creates the data directory and one WAL-mode SQLite file', () => {
    const sub = path.join(fx.dir, 'a', 'b');
    engine = fx.open({ dataDir: sub });
    expect(fs.existsSync(path.join(sub, DB_FILE_NAME))).to.equal(true);
    expect(engine.db.pragma('journal_mode', { simple: true })).to.equal('wal');
    expect(engine.db.pragma('synchronous', { simple: true })).to.equal(1); // NORMAL for fsync=batch
    expect(engine.db.pragma('auto_vacuum', { simple: true })).to.equal(2); // INCREMENTAL
    engine.close();
    engine = fx.open({ dataDir: sub, fsync: 'always' });
    // Still NORMAL: with fsync=always the group commit fdatasyncs the WAL itself, off the event loop.
    expect(engine.db.pragma('synchronous', { simple: true })).to.equal(1);
  });

  it('sets, gets, overwrites and deletes with increasing versions', () => {
    engine = fx.open();
    const ks = engine.keyspace;
    expect(ks.get(b('k'), 0)).to.equal(null);
    const v1 = ks.set(b('k'), b('one'), null);
    const v2 = ks.set(b('other'), b('x'), 5000);
    const v3 = ks.set(b('k'), b('two'), null);
    expect(v2).to.be.greaterThan(v1);
    expect(v3).to.be.greaterThan(v2);
    expect(ks.get(b('k'), 0)).to.deep.equal({ value: b('two'), expiresAt: null, version: v3 });
    expect(ks.get(b('other'), 0)).to.deep.equal({ value: b('x'), expiresAt: 5000, version: v2 });
    expect(ks.size()).to.equal(2);
    expect(ks.delete(b('k'), 0)).to.equal(true);
    expect(ks.delete(b('k'), 0)).to.equal(false);
    expect(ks.get(b('k'), 0)).to.equal(null);
    expect(ks.size()).to.equal(1);
    expect(ks.setExpiry(b('other'), null, 0)).to.equal(true);
    const e = ks.get(b('other'), 0)!;
    expect(e.expiresAt).to.equal(null);
    expect(e.version).to.be.greaterThan(v3);
    expect(ks.setExpiry(b('missing'), 10, 0)).to.equal(false);
  });

  it('is binary-safe, including the empty key and the empty value', () => {
    engine = fx.open();
    const ks = engine.keyspace;
    const bin = Buffer.from([0, 255, 13, 10, 0, 128]);
    ks.set(Buffer.alloc(0), Buffer.alloc(0), null);
    ks.set(bin, bin, null);
    ks.set(b('\u00e9'), Buffer.from([0xc3]), null);
    expect(ks.get(Buffer.alloc(0), 0)!.value.length).to.equal(0);
    expect(ks.get(bin, 0)!.value.equals(bin)).to.equal(true);
    expect(ks.get(b('\u00e9'), 0)!.value.equals(Buffer.from([0xc3]))).to.equal(true);
    expect(ks.get(Buffer.from([0, 255, 13, 10, 0]), 0)).to.equal(null);
    expect(ks.size()).to.equal(3);
    engine.commits.flushNow();
    const types = engine.db.prepare('SELECT DISTINCT typeof(key) || typeof(value) FROM kv').pluck().all();
    expect(types).to.deep.equal(['blobblob']);
  });

  it('keeps data, node id and the write sequence across close and reopen', () => {
    engine = fx.open();
    const id = engine.nodeId;
    expect(id).to.match(/^[0-9a-f]{40}$/);
    engine.keyspace.set(b('a'), b('1'), null);
    const last = engine.keyspace.set(b('b'), b('2'), 123456);
    engine.close();
    engine = fx.open();
    expect(engine.nodeId).to.equal(id);
    expect(engine.stats().lastSeq).to.equal(last);
    expect(engine.keyspace.get(b('b'), 0)).to.deep.equal({ value: b('2'), expiresAt: 123456, version: last });
    expect(engine.keyspace.size()).to.equal(2);
    expect(engine.stats().keysWithExpiry).to.equal(1);
    expect(engine.keyspace.set(b('c'), b('3'), null)).to.equal(last + 1);
    expect(engine.integrityCheck()).to.deep.equal(['ok']);
  });

  it('gives another data directory another node id', () => {
    engine = fx.open();
    const other = fx.open({ dataDir: path.join(fx.dir, 'second') });
    try {
      expect(other.nodeId).to.not.equal(engine.nodeId);
    } finally {
      other.close();
    }
  });

  it('persists the last sequence in the same transaction as the writes', () => {
    engine = fx.open();
    const v = engine.keyspace.set(b('a'), b('1'), null);
    engine.commits.flushNow();
    const reader = new Database(path.join(fx.dir, DB_FILE_NAME), { readonly: true });
    try {
      expect(reader.prepare("SELECT value FROM meta WHERE name = 'last_seq'").pluck().get()).to.equal(v);
      expect(reader.prepare('SELECT version FROM kv').pluck().get()).to.equal(v);
    } finally {
      reader.close();
    }
  });

  it('refuses a database written by a newer schema version', () => {
    engine = fx.open();
    engine.db.prepare("UPDATE meta SET value = 99 WHERE name = 'schema_version'").run();
    engine.close();
    engine = undefined;
    expect(() => fx.open()).to.throw(/schema version 99 is newer/);
  });

  it('counts and lists the live keys of a slot by index', () => {
    engine = fx.open();
    const ks = engine.keyspace;
    const slot = keySlot('{tag}');
    for (let i = 0; i < 20; i++) ks.set(b(`{tag}:${i}`), b('v'), i < 5 ? 1000 : null);
    ks.set(b('elsewhere'), b('v'), null);
    expect(ks.countInSlot(slot, 0)).to.equal(20);
    expect(ks.countInSlot(slot, 1000)).to.equal(15); // five have expired at 1000
    const keys = ks.keysInSlot(slot, 100, 1000).map((k) => k.toString()).sort();
    expect(keys).to.have.length(15);
    expect(keys.every((k) => k.startsWith('{tag}:'))).to.equal(true);
    expect(ks.keysInSlot(slot, 3, 0)).to.have.length(3);
    expect(ks.keysInSlot(slot, 0, 0)).to.deep.equal([]);
    const plan = engine.db.prepare('EXPLAIN QUERY PLAN SELECT COUNT(*) FROM kv WHERE slot = ?').all(1) as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join()).to.match(/USING (COVERING )?INDEX kv_slot/);
  });

  it('clear() removes everything and tells listeners about every key', () => {
    engine = fx.open();
    const ks = engine.keyspace;
    const changed: string[] = [];
    ks.onChange((k) => changed.push(k.toString()));
    ks.set(b('a'), b('1'), null);
    ks.set(b('b'), b('2'), 5);
    changed.length = 0;
    ks.clear();
    expect(changed.sort()).to.deep.equal(['a', 'b']);
    expect(ks.size()).to.equal(0);
    expect(engine.stats().keysWithExpiry).to.equal(0);
    expect(ks.get(b('a'), 0)).to.equal(null);
    engine.close();
    engine = fx.open();
    expect(engine.keyspace.size()).to.equal(0);
  });

  it('fires onChange for every changed key and never for no-ops', () => {
    engine = fx.open();
    const ks = engine.keyspace;
    const changed: string[] = [];
    ks.onChange((k) => changed.push(k.toString()));
    ks.set(b('a'), b('1'), null);
    ks.setExpiry(b('a'), 10_000, 0);
    ks.delete(b('a'), 0);
    ks.delete(b('a'), 0);
    ks.setExpiry(b('a'), 5, 0);
    expect(changed).to.deep.equal(['a', 'a', 'a']);
  });

  it('sends every mutation, with its sequence, through the one apply path to the mutation log', () => {
    engine = fx.open();
    const ks = engine.keyspace;
    const log: string[] = [];
    engine.setMutationLog({
      record: (m, seq) => log.push(m.op === 'clear' ? `${seq}:clear` : `${seq}:${m.op}:${m.key.toString()}${m.op === 'del' ? '' : `:${String(m.expiresAt)}`}`),
      beforeCommit() {},
      committed() {},
      rolledBack() {},
    });
    const v1 = ks.set(b('a'), b('1'), 100);
    ks.set(b('b'), b('2'), null);
    ks.setExpiry(b('b'), 500, 0);
    ks.get(b('a'), 100); // lazy expiry: an explicit delete
    ks.delete(b('b'), 0);
    ks.set(b('c'), b('3'), null);
    ks.clear();
    expect(v1).to.equal(1);
    expect(log).to.deep.equal(['1:set:a:100', '2:set:b:null', '3:expire:b:500', '4:del:a', '5:del:b', '6:set:c:null', '7:clear']);
    engine.commits.flushNow();
    expect(engine.stats().lastSeq).to.equal(7);
  });

  it('reports cheap stats that track writes', () => {
    engine = fx.open();
    const ks = engine.keyspace;
    ks.set(b('a'), b('1'), 10);
    ks.set(b('b'), b('1'), null);
    ks.set(b('a'), b('2'), null); // overwrite drops the TTL
    ks.setExpiry(b('b'), 20, 0);
    engine.commits.flushNow();
    const s = engine.stats();
    expect(s.keys).to.equal(2);
    expect(s.keysWithExpiry).to.equal(1);
    expect(s.commits).to.equal(1);
    expect(s.dbFileBytes).to.be.greaterThan(0);
    expect(s.walFileBytes).to.be.greaterThan(0);
    expect(s.pageCount).to.be.greaterThan(0);
    expect(s.lastSeq).to.equal(4);
  });

  it('rejects use after close and closes twice without error', () => {
    engine = fx.open();
    engine.keyspace.set(b('a'), b('1'), null);
    engine.close(); // flushes the pending turn
    engine.close();
    expect(() => engine!.keyspace.get(b('a'), 0)).to.throw();
    engine = fx.open();
    expect(engine.keyspace.get(b('a'), 0)!.value.toString()).to.equal('1');
  });
});
