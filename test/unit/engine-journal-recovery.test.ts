/**
 * Write journal recovery at open, on real files: records past the
 * database's sequence are replayed (and put back into repl_log); a torn
 * tail is cut off; damage before the last segment and a gap in the
 * sequences refuse to start with the file and the sequence in the message;
 * with encryption at rest the journal holds no value in clear.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KeyringStore } from '../../node/crypto/keyring-store.js';
import { encodeRecord } from '../../node/engine/journal-codec.js';
import { JOURNAL_DIR, segmentFile } from '../../node/engine/journal-files.js';
import { JournalCorruptError, JournalGapError } from '../../node/engine/journal-recovery.js';
import { encodeBatch } from '../../node/replication/batch-codec.js';
import { engineFixture } from '../support/engine-fixture.js';
import { markersInFiles, newKey, writeKeyring } from '../support/keyring-files.js';
import { waitFor } from '../support/wait.js';

const b = (s: string): Buffer => Buffer.from(s);
const JOURNAL = { commitMs: 60_000 };

/** A journal record of `keys` set to `key=value` from sequence `first` on. */
function record(first: number, keys: string[]): Buffer {
  const entries = keys.map((k, i) => ({ seq: first + i, m: { op: 'set' as const, key: b(k), value: b(`${k}=v`), expiresAt: null } }));
  return encodeRecord({ firstSeq: first, lastSeq: first + keys.length - 1, payload: encodeBatch(entries) });
}

describe('engine: write journal recovery', () => {
  const fx = engineFixture({ journal: JOURNAL });
  const jdir = (): string => path.join(fx.dir, JOURNAL_DIR);
  const seg = (index: number): string => segmentFile(jdir(), 0, index);

  beforeEach(() => {
    // A database at sequence 0 that names generation 0 (never opened with the journal).
    fx.open({ journal: null }).close();
    fs.mkdirSync(jdir(), { recursive: true });
  });

  it('replays the records past the database through the replica path and cuts off a torn tail', () => {
    const whole = Buffer.concat([record(1, ['a', 'b']), record(3, ['c'])]);
    const torn = record(4, ['d']).subarray(0, 20);
    fs.writeFileSync(seg(0), Buffer.concat([whole, torn]));
    const events: string[] = [];
    const db = fx.open({}, { onJournalEvent: (what) => events.push(what) });
    expect(events).to.deep.equal(['truncated', 'recovered']);
    expect(db.keyspace.lastSeq).to.equal(3);
    for (const k of ['a', 'b', 'c']) expect(db.keyspace.get(b(k), Date.now())?.value.toString()).to.equal(`${k}=v`);
    expect(db.keyspace.get(b('d'), Date.now())).to.equal(null);
    db.close();
    // Replayed and committed: the old generation is gone, and a second open replays nothing.
    expect(fs.existsSync(seg(0))).to.equal(false);
    const again = fx.open();
    expect(again.keyspace.lastSeq).to.equal(3);
    expect(again.keyspace.get(b('c'), Date.now())?.value.toString()).to.equal('c=v');
  });

  it('puts replayed batches back into repl_log when the node has one', () => {
    const e = fx.open({ journal: null });
    e.db.exec('CREATE TABLE IF NOT EXISTS repl_log (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, body BLOB NOT NULL, committed_at REAL)');
    e.close();
    fs.writeFileSync(seg(0), Buffer.concat([record(1, ['a', 'b']), record(3, ['c'])]));
    const db = fx.open();
    expect(db.db.prepare('SELECT first_seq, last_seq FROM repl_log ORDER BY first_seq').raw().all()).to.deep.equal([[1, 2], [3, 3]]);
  });

  it('refuses to start on a gap in the sequences, naming the file and the sequence', () => {
    fs.writeFileSync(seg(0), Buffer.concat([record(1, ['a']), record(3, ['c'])]));
    expect(() => fx.open()).to.throw(JournalGapError, /00000000-00000000\.log: expected sequence 2 next, found 3/);
    // Nothing was applied or deleted: the operator can still inspect it. Opening without the journal refuses too
    // (it would replay the journal first); with the journal moved away the database opens as SQLite holds it.
    expect(fs.existsSync(seg(0))).to.equal(true);
    expect(() => fx.open({ journal: null })).to.throw(JournalGapError);
    fs.renameSync(path.dirname(seg(0)), `${path.dirname(seg(0))}.moved`);
    expect(fx.open({ journal: null }).keyspace.lastSeq).to.equal(0);
  });

  it('refuses to start on damage before the last segment', () => {
    const first = record(1, ['a', 'b']);
    first[first.length - 1] ^= 0xff;
    fs.writeFileSync(seg(0), first);
    fs.writeFileSync(seg(1), record(3, ['c']));
    expect(() => fx.open()).to.throw(JournalCorruptError, /00000000-00000000\.log is damaged at byte 0 \(CRC mismatch\)/);
  });

  it('holds no value in clear with encryption at rest, and replays it', async () => {
    const ringFile = path.join(fx.dir, 'keyring');
    writeKeyring(ringFile, [newKey('k1')]);
    const keys = new KeyringStore(ringFile);
    let e = fx.open({ encryption: keys });
    e.keyspace.set(b('secret'), b('MARKER-VALUE-1234'), null);
    await e.commits.barrier();
    // Not committed to SQLite yet (60 s batch): only the journal has it.
    expect(markersInFiles(jdir(), ['MARKER-VALUE-1234', 'secret']).get('MARKER-VALUE-1234')).to.equal(undefined);
    expect(fs.readdirSync(jdir()).length).to.equal(1);
    // A crash: copy the files as they are now, while the engine still holds the open batch.
    await fx.afterCrash(e, async (copy) => {
      e = fx.open({ dataDir: copy, encryption: new KeyringStore(path.join(copy, 'keyring')) });
      expect(e.keyspace.get(b('secret'), Date.now())?.value.toString()).to.equal('MARKER-VALUE-1234');
      e.close();
    });
  });

  it('trims closed segments only behind a durable batch commit, and a crash after trimming loses nothing', async () => {
    let e = fx.open({ journal: { commitMs: 60_000, segmentBytes: 512 } });
    for (let i = 0; i < 60; i++) {
      e.keyspace.set(b(`k${i}`), b(`v${i}`), null);
      await e.commits.barrier();
    }
    const before = fs.readdirSync(jdir()).length;
    expect(before).to.be.greaterThan(3);
    // Nothing committed to SQLite yet: every segment is still needed.
    await new Promise((r) => setImmediate(r));
    expect(fs.readdirSync(jdir()).length).to.equal(before);
    e.commitNow();
    await waitFor('closed segments trimmed', () => fs.readdirSync(jdir()).length === 1, { timeoutMs: 10_000 });
    for (let i = 60; i < 70; i++) {
      e.keyspace.set(b(`k${i}`), b(`v${i}`), null);
      await e.commits.barrier();
    }
    await fx.afterCrash(e, async (copy) => {
      e = fx.open({ dataDir: copy });
      for (let i = 0; i < 70; i++) expect(e.keyspace.get(b(`k${i}`), Date.now())?.value.toString()).to.equal(`v${i}`);
      e.close();
    });
  });

  it('a resync load that lowers the sequence starts a new generation: stale records are never replayed', async () => {
    let e = fx.open();
    for (let i = 1; i <= 5; i++) {
      e.keyspace.set(b(`old${i}`), b('x'), null);
      await e.commits.barrier();
    }
    expect(e.keyspace.lastSeq).to.equal(5);
    // A full resync from a primary at sequence 2: reset, rows, position (each committed directly).
    e.keyspace.resetForLoad();
    e.keyspace.loadRows([{ key: b('p'), flags: 0, expiresAt: null, version: 2, value: b('from-primary') }]);
    e.keyspace.finishLoad(2);
    await e.commits.barrier();
    e.meta.set('epoch', 7);
    await e.commits.barrier();
    e.keyspace.set(b('after'), b('y'), null);
    await e.commits.barrier();
    expect(e.keyspace.lastSeq).to.equal(3);
    await fx.afterCrash(e, async (copy) => {
      e = fx.open({ dataDir: copy });
      expect(e.keyspace.lastSeq).to.equal(3);
      expect(e.keyspace.get(b('old4'), Date.now())).to.equal(null);
      expect(e.keyspace.get(b('p'), Date.now())?.value.toString()).to.equal('from-primary');
      expect(e.keyspace.get(b('after'), Date.now())?.value.toString()).to.equal('y');
      expect(e.meta.get('epoch')).to.equal(7);
      e.close();
    });
  });

  it('a full disk that makes SQLite drop the batch: every later reply fails, and a restart replays the acknowledged writes', async () => {
    let e = fx.open();
    const ks = e.keyspace;
    ks.set(b('a'), b('1'), null);
    await e.commits.barrier();
    ks.set(b('b'), b('2'), null);
    await e.commits.barrier();
    // SQLite rolls the whole transaction back on SQLITE_FULL: the batch holding a and b is gone from it.
    e.db.pragma(`max_page_count = ${e.stats().pageCount}`);
    expect(() => ks.set(b('huge'), randomBytes(200_000), null)).to.throw(/full/i);
    await e.commits.barrier().then(() => expect.fail('the failed turn was acknowledged'), () => undefined);
    e.db.pragma('max_page_count = 1073741823');
    // No reply may show the older data SQLite kept: reads' turns fail too, and writes are refused.
    const read = new Promise<Error | null>((resolve) => e.commits.afterCommit(resolve));
    expect(await read).to.match(/batch transaction was lost/);
    expect(() => ks.set(b('c'), b('3'), null)).to.throw(/batch transaction was lost/);
    expect(() => e.commitNow()).to.throw(/batch transaction was lost/);
    e.close();
    e = fx.open();
    expect(e.keyspace.get(b('a'), Date.now())?.value.toString()).to.equal('1');
    expect(e.keyspace.get(b('b'), Date.now())?.value.toString()).to.equal('2');
    expect(e.keyspace.get(b('c'), Date.now())).to.equal(null);
    expect(e.keyspace.lastSeq).to.equal(2);
  });
});
