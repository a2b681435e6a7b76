/**
 * WAL checkpoints on the worker thread: committed data reaches the database
 * file itself (not only the WAL) without the engine's thread checkpointing,
 * and 'inline' mode leaves checkpoints to SQLite's auto-checkpoint.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SqliteEngine } from '../../node/engine/open.js';
import { DB_FILE_NAME } from '../../node/engine/database.js';
import { engineFixture } from '../support/engine-fixture.js';

/** Keys found in a copy of the database file alone, without its WAL. */
function keysInMainFile(dir: string): number {
  const copyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-copy-'));
  try {
    fs.copyFileSync(path.join(dir, DB_FILE_NAME), path.join(copyDir, DB_FILE_NAME));
    const db = new Database(path.join(copyDir, DB_FILE_NAME), { readonly: true });
    try {
      const hasTable = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'kv'").get() !== undefined;
      return hasTable ? (db.prepare('SELECT COUNT(*) FROM kv').pluck().get() as number) : 0;
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(copyDir, { recursive: true, force: true });
  }
}

describe('engine: WAL checkpoints', () => {
  // Without the write journal (also under IRIS_WRITE_JOURNAL=yes): each turn commits to SQLite, so a
  // barrier puts the rows in the WAL; with the journal they reach SQLite only with its next batch.
  const fx = engineFixture({ fsync: 'always', journal: null });
  let engine: SqliteEngine | undefined;

  it('copies committed pages into the database file on the worker thread', async () => {
    engine = fx.open({ checkpoints: 'worker' });
    expect(engine.checkpointingInWorker).to.equal(true);
    // The engine's own connection only checkpoints as a far-off backstop.
    expect(engine.db.pragma('wal_autocheckpoint', { simple: true })).to.be.greaterThan(10_000);
    // The commit below asks the worker for a pass at once, which may copy the rows before the
    // file is read (a pause there fails the old check): a read transaction opened before the writes pins the WAL
    // at its start, so no checkpoint can copy them until it ends.
    const reader = new Database(path.join(fx.dir, DB_FILE_NAME));
    try {
      reader.prepare('BEGIN').run();
      reader.prepare('SELECT COUNT(*) FROM kv').get();
      for (let i = 0; i < 2000; i++) engine.keyspace.set(Buffer.from(`k${i}`), Buffer.alloc(100, 1), null);
      await engine.commits.barrier();
      expect(keysInMainFile(fx.dir)).to.equal(0); // committed, but only in the WAL
      reader.prepare('COMMIT').run();
    } finally {
      reader.close();
    }
    await engine.checkpoint();
    expect(keysInMainFile(fx.dir)).to.equal(2000);
    expect(engine.integrityCheck()).to.deep.equal(['ok']);
  });

  it('keeps checkpointing while writes continue across many turns', async () => {
    engine = fx.open({ checkpoints: 'worker' });
    for (let turn = 0; turn < 50; turn++) {
      for (let i = 0; i < 40; i++) engine.keyspace.set(Buffer.from(`t${turn}:${i}`), Buffer.alloc(100, 2), null);
      await engine.commits.barrier();
    }
    await engine.checkpoint();
    expect(keysInMainFile(fx.dir)).to.equal(2000);
    engine.close();
    engine = fx.open({ checkpoints: 'worker' });
    expect(engine.keyspace.size()).to.equal(2000);
  });

  it("'inline' mode uses SQLite's own auto-checkpoint", async () => {
    engine = fx.open({ checkpoints: 'inline' });
    expect(engine.checkpointingInWorker).to.equal(false);
    expect(engine.db.pragma('wal_autocheckpoint', { simple: true })).to.equal(1000);
    // ~1 page per 30 rows: 60k rows pass the 1000-page threshold.
    for (let i = 0; i < 60_000; i++) {
      engine.keyspace.set(Buffer.from(`k${i}`), Buffer.alloc(100, 1), null);
      if (i % 5000 === 4999) engine.commits.flushNow();
    }
    await engine.commits.barrier();
    await engine.checkpoint(); // a no-op without the worker
    expect(keysInMainFile(fx.dir)).to.be.greaterThan(0);
  });
});
