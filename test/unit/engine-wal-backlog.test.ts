/**
 * engine.walBacklog (node/engine/open.ts): what a full resync's load waits
 * for between slices once the WAL has grown (--wal-wait-bytes). A
 * wait while the checkpoint worker last found at least that much WAL, none
 * below it, none once a pass copied every frame with nothing committed since
 * (the next write transaction starts the log over), and none without the
 * worker. Real SQLite and the real worker thread.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import path from 'node:path';
import type { SqliteEngine } from '../../node/engine/open.js';
import { DB_FILE_NAME } from '../../node/engine/database.js';
import { engineFixture } from '../support/engine-fixture.js';

describe('engine: the WAL backlog a bulk load waits for', () => {
  // Without the write journal: each turn commits, so a barrier puts the rows in the WAL.
  const fx = engineFixture({ fsync: 'always', journal: null });
  let engine: SqliteEngine | undefined;

  async function writeRows(e: SqliteEngine, n: number, tag: string): Promise<void> {
    for (let i = 0; i < n; i++) e.keyspace.set(Buffer.from(`${tag}${i}`), Buffer.alloc(200, 3), null);
    await e.commits.barrier();
  }

  it('waits while the worker last found the WAL at least that large, and not once it copied every frame', async () => {
    engine = fx.open({ checkpoints: 'worker' });
    expect(engine.walBacklog(1), 'nothing written yet').to.equal(null);
    // A reader opened before the writes pins the WAL: the pass below cannot copy them.
    const reader = new Database(path.join(fx.dir, DB_FILE_NAME));
    let released = false;
    try {
      reader.prepare('BEGIN').run();
      reader.prepare('SELECT COUNT(*) FROM kv').get();
      await writeRows(engine, 3000, 'a');
      await engine.checkpoint();
      const backlog = engine.walBacklog(64 * 1024);
      expect(backlog, 'a pinned WAL of ~1 MB against 64 KiB').to.be.instanceOf(Promise);
      expect(engine.walBacklog(1024 * 1024 * 1024), 'under 1 GiB: no wait').to.equal(null);
      expect(engine.walBacklog(0), '0: never waits').to.equal(null);
      reader.prepare('COMMIT').run();
      reader.close();
      released = true;
      await backlog; // resolves after a pass that began after the call
    } finally {
      if (!released) reader.close();
    }
    // A pass with nothing committed during it copies every frame: the next transaction starts the log over.
    await engine.checkpoint();
    expect(engine.walBacklog(1)).to.equal(null);
    await writeRows(engine, 3000, 'b');
    await engine.checkpoint();
    // Nothing pins the WAL now, so the pass copied it all: no wait although it holds ~1 MB of frames.
    expect(engine.walBacklog(1)).to.equal(null);
    expect(engine.keyspace.size()).to.equal(6000);
  });

  it('a wait in progress still ends when the engine closes during it (a closing replica is not left paused)', async () => {
    const e = fx.open({ checkpoints: 'worker' });
    const reader = new Database(path.join(fx.dir, DB_FILE_NAME));
    try {
      reader.prepare('BEGIN').run();
      reader.prepare('SELECT COUNT(*) FROM kv').get();
      await writeRows(e, 3000, 'f');
      await e.checkpoint(); // pinned: nothing copied, the backlog stays
      const backlog = e.walBacklog(64 * 1024);
      expect(backlog).to.be.instanceOf(Promise);
      e.close();
      await backlog;
      expect(e.walBacklog(64 * 1024), 'a closed engine never makes anyone wait').to.equal(null);
      await e.whenClosed();
    } finally {
      reader.close();
    }
  });

  it("never waits with 'inline' checkpoints (SQLite's own auto-checkpoint bounds the WAL)", async () => {
    engine = fx.open({ checkpoints: 'inline' });
    await writeRows(engine, 3000, 'c');
    expect(engine.walBacklog(1)).to.equal(null);
  });

  describe('with the write journal', () => {
    const jfx = engineFixture({ fsync: 'always', journal: { commitMs: 60_000 } });

    it("keeps waiting while a transaction is open across the pass (the journal's batch): it could not start the log over", async () => {
      const e = jfx.open({ checkpoints: 'worker' });
      await writeRows(e, 3000, 'd');
      e.commitNow(); // the batch's rows are in the WAL now
      await writeRows(e, 10, 'e'); // and the next batch is open
      expect(e.db.inTransaction).to.equal(true);
      await e.checkpoint(); // copies every committed frame, but the open batch's snapshot began before that
      expect(e.walBacklog(64 * 1024)).to.be.instanceOf(Promise);
      e.commitNow();
      await e.checkpoint();
      expect(e.walBacklog(64 * 1024), 'no transaction open now: the next one starts the log over').to.equal(null);
    });
  });
});
