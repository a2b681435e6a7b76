/**
 * A turn is encoded once (issue #16): with a replication log attached, the
 * write journal appends the rows repl_log stored for the turn, byte for
 * byte (sealed once with encryption at rest: sealing draws a fresh nonce,
 * so two encodings would differ). A turn the log cut into several batches
 * is still one journal record (encoded again), so a crash that tears its
 * append cannot leave half of it to replay. Without a log the journal
 * encodes the turn itself; rows that do not cover the turn are not used.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { KeyringStore } from '../../node/crypto/keyring-store.js';
import { decodeRecords, type JournalRecord } from '../../node/engine/journal-codec.js';
import { JOURNAL_DIR, listSegments } from '../../node/engine/journal-files.js';
import { TurnRecorder } from '../../node/engine/journal-turns.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import { decodeBatch } from '../../node/replication/batch-codec.js';
import { ReplicationLog } from '../../node/replication/log.js';
import { engineFixture } from '../support/engine-fixture.js';
import { newKey, writeKeyring } from '../support/keyring-files.js';

const b = (s: string): Buffer => Buffer.from(s);

function journalRecords(dataDir: string): JournalRecord[] {
  return listSegments(path.join(dataDir, JOURNAL_DIR)).flatMap((s) => decodeRecords(fs.readFileSync(s.file)).records);
}

function logRows(engine: SqliteEngine): Array<{ firstSeq: number; lastSeq: number; body: Buffer }> {
  return (engine.db.prepare('SELECT first_seq, last_seq, body FROM repl_log ORDER BY first_seq').raw().all() as Array<[number, number, Buffer]>)
    .map(([firstSeq, lastSeq, body]) => ({ firstSeq, lastSeq, body }));
}

describe('write journal: a turn is encoded once', () => {
  const fx = engineFixture({ journal: { commitMs: 60_000 } });

  it('appends the sealed repl_log row of a turn as it is stored; a turn the log split is one record of its own', async () => {
    const ringFile = path.join(fx.dir, 'keyring');
    writeKeyring(ringFile, [newKey('k1')]);
    const keys = new KeyringStore(ringFile);
    const engine = fx.open({ encryption: keys });
    engine.setMutationLog(new ReplicationLog(engine.db, () => {}, keys));
    const ks = engine.keyspace;
    ks.set(b('a'), b('1'), null);
    ks.set(b('b'), b('2'), null);
    await engine.commits.barrier();
    // One turn of about 3 MiB: the log cuts it into batches of about 1 MiB.
    for (let i = 0; i < 3; i++) ks.set(b(`big${i}`), randomBytes(1024 * 1024), null);
    ks.delete(b('a'), Date.now());
    await engine.commits.barrier();

    const records = journalRecords(fx.dir);
    const rows = logRows(engine);
    expect(rows.length).to.be.greaterThan(2);
    // First turn: seqs 1..2, one log row, adopted byte for byte.
    expect(rows[0]!.firstSeq).to.equal(1);
    expect(rows[0]!.lastSeq).to.equal(2);
    expect(records.map((r) => [r.firstSeq, r.lastSeq])).to.deep.equal([[1, 2], [3, 6]]);
    expect(records[0]!.payload.equals(rows[0]!.body)).to.equal(true);
    // Second turn: the log cut it into several rows; the journal holds it whole.
    expect(rows.slice(1).every((r) => r.firstSeq >= 3 && r.lastSeq <= 6)).to.equal(true);
    expect(rows.length - 1).to.be.greaterThan(1);
  });

  it('a torn append of a turn the log split leaves none of the turn to replay (all or nothing)', async () => {
    const engine = fx.open();
    engine.setMutationLog(new ReplicationLog(engine.db, () => {}, null));
    const ks = engine.keyspace;
    ks.set(b('small'), b('1'), null);
    await engine.commits.barrier();
    for (let i = 0; i < 3; i++) ks.set(b(`big${i}`), randomBytes(1024 * 1024), null);
    await engine.commits.barrier();
    const segs = listSegments(path.join(fx.dir, JOURNAL_DIR));
    const last = segs[segs.length - 1]!.file;
    const whole = fs.readFileSync(last);
    const decoded = decodeRecords(whole);
    expect(decoded.records.map((r) => [r.firstSeq, r.lastSeq])).to.deep.equal([[1, 1], [2, 4]]);
    // Tear the big turn's record 100 bytes before its end: the crash hit its append.
    fs.writeFileSync(last, whole.subarray(0, whole.length - 100));
    const torn = decodeRecords(fs.readFileSync(last));
    expect(torn.records.map((r) => [r.firstSeq, r.lastSeq])).to.deep.equal([[1, 1]]);
    expect(torn.torn).to.not.equal(null);
  });

  it('without a replication log the journal encodes the turn itself', async () => {
    const engine = fx.open();
    engine.keyspace.set(b('a'), b('1'), null);
    engine.keyspace.set(b('b'), b('2'), null);
    await engine.commits.barrier();
    const records = journalRecords(fx.dir);
    expect(records.map((r) => [r.firstSeq, r.lastSeq])).to.deep.equal([[1, 2]]);
    expect(decodeBatch(records[0]!.payload).map((e) => e.seq)).to.deep.equal([1, 2]);
  });

  it('uses the adopted rows only when they cover exactly the recorded sequences', () => {
    const rec = new TurnRecorder(null);
    const row = (firstSeq: number, lastSeq: number): JournalRecord => ({ firstSeq, lastSeq, payload: b(`row${firstSeq}`) });
    const record = (from: number, to: number): void => {
      for (let s = from; s <= to; s++) rec.record({ op: 'del', key: b(`k${s}`) }, s);
    };

    record(1, 4);
    const rows = [row(1, 4)];
    rec.adopt(rows);
    expect(rec.take()).to.equal(rows);

    // Several rows covering the turn are not adopted either: the turn stays one record.
    for (const adopted of [[row(1, 3)], [row(2, 4)], [row(1, 1), row(3, 4)], [row(1, 2), row(3, 4)], []]) {
      record(1, 4);
      rec.adopt(adopted);
      const own = rec.take();
      expect(own.map((r) => [r.firstSeq, r.lastSeq])).to.deep.equal([[1, 4]]);
      expect(decodeBatch(own[0]!.payload).map((e) => e.seq)).to.deep.equal([1, 2, 3, 4]);
    }

    // A discarded turn forgets what it adopted.
    rec.adopt(rows);
    rec.discard();
    record(1, 4);
    expect(rec.take()[0]!.payload.equals(rows[0]!.payload)).to.equal(false);
    expect(rec.take()).to.deep.equal([]);
  });
});
