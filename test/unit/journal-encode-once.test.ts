/**
 * A turn is encoded once (issue #16): with a replication log attached, the
 * write journal appends the rows repl_log stored for the turn, byte for
 * byte (sealed once with encryption at rest: sealing draws a fresh nonce,
 * so two encodings would differ), and a turn the log cut into several
 * batches becomes as many journal records. Without a log the journal
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

  it('appends the sealed repl_log rows of each turn as they are stored, one record per row', async () => {
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
    expect(records.map((r) => [r.firstSeq, r.lastSeq])).to.deep.equal(rows.map((r) => [r.firstSeq, r.lastSeq]));
    records.forEach((r, i) => expect(r.payload.equals(rows[i]!.body), `record ${r.firstSeq}..${r.lastSeq}`).to.equal(true));
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
    const rows = [row(1, 2), row(3, 4)];
    rec.adopt(rows);
    expect(rec.take()).to.equal(rows);

    for (const adopted of [[row(1, 3)], [row(2, 4)], [row(1, 1), row(3, 4)], []]) {
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
