/**
 * INFO persistence journal_* fields (the write journal's aof_* equivalents)
 * from a real engine: enabled, size on disk, pending fsync, and
 * journal_last_write_status turning to err when SQLite loses the batch.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { journalInfoFields } from '../../node/engine/journal-info.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('engine: write journal INFO fields', () => {
  const fx = engineFixture({ journal: { commitMs: 60_000 } });

  it('reports journal_enabled:0 and nothing else without the journal', () => {
    const e = fx.open({ journal: null });
    expect(journalInfoFields(e.stats().journal ?? null)).to.deep.equal([['journal_enabled', 0]]);
  });

  it('reports the size, syncs and write status of a working journal', async () => {
    const e = fx.open({ fsync: 'always' });
    e.keyspace.set(b('a'), b('x'.repeat(1000)), null);
    await e.commits.barrier();
    const f = new Map(journalInfoFields(e.stats().journal ?? null));
    expect(f.get('journal_enabled')).to.equal(1);
    expect(f.get('journal_current_size')).to.be.greaterThan(1000);
    expect(f.get('journal_appended_bytes')).to.equal(f.get('journal_current_size'));
    expect(f.get('journal_fsyncs')).to.be.greaterThan(0);
    // fsync always: the acknowledged turn was synced, nothing is pending.
    expect(f.get('journal_pending_fsync')).to.equal(0);
    expect(f.get('journal_last_write_status')).to.equal('ok');
  });

  it('reports each batch COMMIT to onJournalBatchCommit with its duration and turn count (irisdb_journal_batch_commit_duration_seconds)', async () => {
    const seen: Array<[number, number]> = [];
    const e = fx.open({ fsync: 'always' }, { onJournalBatchCommit: (seconds, turns) => seen.push([seconds, turns]) });
    for (let i = 0; i < 3; i++) {
      e.keyspace.set(b(`k${i}`), b('v'), null);
      await e.commits.barrier();
    }
    expect(seen, 'no batch commits before the batch is due (commitMs 60 s)').to.deep.equal([]);
    e.commitNow();
    expect(seen.length).to.equal(1);
    expect(seen[0]![1]).to.equal(3);
    expect(seen[0]![0]).to.be.at.least(0);
    expect(e.stats().journal?.batchCommits).to.equal(1);
  });

  it('reports journal_last_write_status:err once SQLite has lost the batch', async () => {
    const e = fx.open();
    e.keyspace.set(b('a'), b('1'), null);
    await e.commits.barrier();
    // SQLITE_FULL rolls the whole batch transaction back: the node refuses writes until restarted.
    e.db.pragma(`max_page_count = ${e.stats().pageCount}`);
    expect(() => e.keyspace.set(b('huge'), randomBytes(200_000), null)).to.throw(/full/i);
    await e.commits.barrier().then(() => expect.fail('the failed turn was acknowledged'), () => undefined);
    e.db.pragma('max_page_count = 1073741823');
    expect(new Map(journalInfoFields(e.stats().journal ?? null)).get('journal_last_write_status')).to.equal('err');
  });
});
