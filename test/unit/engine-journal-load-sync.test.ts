/**
 * A full resync's snapshot rows commit SQLite directly (the journal cannot
 * hold them) but without an fdatasync of the WAL each: a crash discards a
 * partial load anyway (the loading flag). Every other unjournaled turn is
 * still synced before it counts as done, and so is a load turn that starts
 * a new journal generation (the old segments are deleted right after).
 * Real SQLite and a real journal directory; the syncer counts the real
 * fdatasyncs it runs.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JournalTransaction } from '../../node/engine/journal-transaction.js';
import { JournalWriter } from '../../node/engine/journal-files.js';
import { TurnRecorder } from '../../node/engine/journal-turns.js';
import { WalSync, type WalSyncer } from '../../node/engine/wal-sync.js';

class CountingSync implements WalSyncer {
  syncNowCalls = 0;
  constructor(private readonly real: WalSync) {}
  sync(cb: (err: Error | null) => void): void { this.real.sync(cb); }
  syncNow(): void { this.syncNowCalls++; this.real.syncNow(); }
  close(): void { this.real.close(); }
}

describe('engine: write journal, snapshot-load turns commit without a WAL sync of their own', () => {
  let dir: string;
  let db: Database.Database;
  let writer: JournalWriter;
  let recorder: TurnRecorder;
  let syncer: CountingSync;
  let tx: JournalTransaction;
  let generations: number[];
  let seq: number;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-load-sync-'));
    const file = path.join(dir, 'db.sqlite');
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE t (x INTEGER)');
    writer = new JournalWriter(path.join(dir, 'journal'), 1, 1024 * 1024);
    writer.startGeneration(1);
    recorder = new TurnRecorder(null);
    syncer = new CountingSync(new WalSync(`${file}-wal`));
    generations = [];
    seq = 0;
    tx = new JournalTransaction({
      db, writer, recorder, walSync: syncer,
      settings: { commitMs: 60_000, maxTurns: 1_000_000, maxBytes: 64 * 1024 * 1024 },
      headSeq: () => seq,
      setGeneration: (g) => generations.push(g),
      // A failed turn's batch replay: every turn here commits directly, so a batch holds no journaled turn.
      replayBatch: () => {},
      onError: (err) => { throw err; },
    });
  });
  afterEach(() => {
    tx.close();
    writer.close();
    syncer.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rows = (): number => (db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n;

  /** One turn: an insert, marked as the apply path marks it. */
  function turn(mark: (r: TurnRecorder) => void): void {
    tx.begin();
    db.prepare('INSERT INTO t VALUES (1)').run();
    mark(recorder);
    tx.commit();
  }

  /** A journaled write: its record goes to the current generation. */
  function journaledTurn(): void {
    tx.begin();
    db.prepare('INSERT INTO t VALUES (2)').run();
    seq++;
    recorder.record({ op: 'del', key: Buffer.from('k') }, seq);
    tx.commit();
  }

  it('commits each load turn with no fdatasync, and syncs the turn that ends the load', () => {
    for (let i = 0; i < 5; i++) turn((r) => r.markUnjournaled(false));
    expect(rows()).to.equal(5);
    expect(db.inTransaction, 'each load turn commits at once').to.equal(false);
    expect(syncer.syncNowCalls).to.equal(0);
    turn((r) => r.markUnjournaled()); // finishLoad and the loading flag: synced
    expect(syncer.syncNowCalls).to.equal(1);
    expect(generations, 'an empty generation continues').to.deep.equal([]);
  });

  it('syncs a load turn that also changes something that must be durable at once', () => {
    turn((r) => { r.markUnjournaled(false); r.markUnjournaled(); });
    turn((r) => { r.markUnjournaled(); r.markUnjournaled(false); });
    expect(syncer.syncNowCalls).to.equal(2);
  });

  it('syncs a load turn that starts a new generation (the old segments are deleted after it)', () => {
    journaledTurn();
    expect(writer.holdsNothing).to.equal(false);
    turn((r) => r.markUnjournaled(false));
    expect(generations).to.deep.equal([2]);
    expect(syncer.syncNowCalls).to.equal(1);
    // The next load turn finds an empty generation: no sync.
    turn((r) => r.markUnjournaled(false));
    expect(syncer.syncNowCalls).to.equal(1);
  });

  it('forgets the no-sync mark with the turn: a later unjournaled turn is synced', () => {
    turn((r) => r.markUnjournaled(false));
    tx.begin();
    recorder.markUnjournaled(false);
    tx.rollback();
    turn((r) => r.markUnjournaled());
    expect(syncer.syncNowCalls).to.equal(1);
    expect(rows()).to.equal(2);
  });
});
