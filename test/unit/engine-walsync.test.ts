/**
 * fsync=always: replies wait for the off-thread WAL sync that covers their
 * turn, in turn order, and a failed sync fails them and every later write.
 * The syncer is injected so the test decides when (and whether) the disk
 * "finishes"; the database is real SQLite.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GroupCommit } from '../../node/engine/group-commit.js';
import type { WalSyncer } from '../../node/engine/wal-sync.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class ControlledSync implements WalSyncer {
  pending: Array<(err: Error | null) => void> = [];
  syncNowCalls = 0;
  sync(cb: (err: Error | null) => void): void { this.pending.push(cb); }
  syncNow(): void { this.syncNowCalls++; }
  close(): void {}
  finish(err: Error | null = null): void { this.pending.shift()!(err); }
}

describe('engine: WAL sync off the event loop (fsync=always)', () => {
  let dir: string;
  let db: Database.Database;
  let syncer: ControlledSync;
  let commits: GroupCommit;
  const errors: Error[] = [];
  const insert = (x: number) => { commits.markWrite(); db.prepare('INSERT INTO t VALUES (?)').run(x); };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-walsync-'));
    db = new Database(path.join(dir, 'db.sqlite'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x INTEGER)');
    syncer = new ControlledSync();
    errors.length = 0;
    commits = new GroupCommit(db, {
      onBegin() {}, beforeCommit() {}, onCommitted() {}, onRolledBack() {}, committedSeq: () => 0,
      onCommitError: (err) => errors.push(err),
    }, syncer);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('releases a write turn only after the sync, and later read-only turns after it, in order', async () => {
    const order: string[] = [];
    insert(1);
    commits.afterCommit((err) => order.push(`write:${err}`));
    await nextTurn();
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).to.deep.equal({ n: 1 }); // committed...
    expect(order).to.deep.equal([]); // ...but not acknowledged before the disk says so
    expect(syncer.pending).to.have.length(1);
    // A read in the next turn could see the unsynced row: it must wait as well.
    commits.afterCommit((err) => order.push(`read:${err}`));
    await nextTurn();
    expect(order).to.deep.equal([]);
    syncer.finish();
    expect(order).to.deep.equal(['write:null', 'read:null']);
  });

  it('covers every commit made before a sync started with that one sync, and starts another for later ones', async () => {
    const order: string[] = [];
    insert(1);
    commits.afterCommit(() => order.push('t1'));
    await nextTurn();
    insert(2);
    commits.afterCommit(() => order.push('t2'));
    await nextTurn();
    expect(syncer.pending).to.have.length(1); // one sync in flight at a time
    syncer.finish();
    expect(order).to.deep.equal(['t1']); // t2 committed after that sync started
    expect(syncer.pending).to.have.length(1);
    syncer.finish();
    expect(order).to.deep.equal(['t1', 't2']);
  });

  it('runs callbacks at once when everything committed is already synced', async () => {
    insert(1);
    commits.afterCommit(() => {});
    await nextTurn();
    syncer.finish();
    let ran = false;
    commits.afterCommit(() => { ran = true; });
    await nextTurn();
    expect(ran).to.equal(true);
  });

  it('fails every waiting turn when the sync fails, and refuses all later writes', async () => {
    const results: Array<Error | null> = [];
    insert(1);
    commits.afterCommit((err) => results.push(err));
    await nextTurn();
    commits.afterCommit((err) => results.push(err));
    await nextTurn();
    syncer.finish(new Error('EIO: i/o error, fdatasync'));
    expect(results).to.have.length(2);
    expect(results[0]!.message).to.match(/fsync of the write-ahead log failed \(EIO.*restart the node/);
    expect(results[1]).to.equal(results[0]);
    expect(errors).to.deep.equal([results[0]]);
    expect(() => insert(2)).to.throw(/fsync of the write-ahead log failed/);
    let later: Error | null | undefined;
    commits.afterCommit((err) => { later = err; });
    await nextTurn();
    expect(later).to.equal(results[0]);
  });

  it('flushNow syncs on the spot and releases everything (shutdown)', async () => {
    const order: string[] = [];
    insert(1);
    commits.afterCommit(() => order.push('a'));
    commits.flushNow();
    expect(syncer.syncNowCalls).to.equal(1);
    expect(order).to.deep.equal(['a']);
  });
});
