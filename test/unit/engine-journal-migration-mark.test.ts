/**
 * A slot migration's writes are marked in the replication log
 * (ReplicationLog.asMigration) so that a point-in-time replay skips them
 * (node/backup/archive-replay.ts). With the write journal, a turn that was
 * only in the journal when the node crashed is put back into repl_log by
 * recovery: its entries must keep the mark, and client writes must not gain it.
 */
import { expect } from 'chai';
import { decodeBatch, type LoggedMutation } from '../../node/replication/batch-codec.js';
import { ReplicationLog } from '../../node/replication/log.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('engine: write journal keeps the migration mark', () => {
  const fx = engineFixture({ journal: { commitMs: 60_000 } });

  it('a migration turn recovered from the journal is still marked in repl_log, a client turn is not', async () => {
    const e = fx.open();
    const log = new ReplicationLog(e.db, () => {});
    e.keyspace.setMutationLog(log);
    e.keyspace.set(b('client'), b('c'), null);
    log.asMigration(() => {
      e.keyspace.set(b('imported'), b('i'), null);
      e.keyspace.delete(b('client'), Date.now());
    });
    await e.commits.barrier();
    // Acknowledged, but the 60 s batch has not reached SQLite: copy the files as a crash leaves them.
    await fx.afterCrash(e, async (copy) => {
      const r = fx.open({ dataDir: copy });
      expect(r.keyspace.lastSeq).to.equal(3);
      const entries: LoggedMutation[] = new ReplicationLog(r.db, () => {}).readFrom(1, 100).flatMap((batch) => decodeBatch(batch.body));
      expect(entries.map((x) => [x.seq, x.m.op, x.migration === true])).to.deep.equal([
        [1, 'set', false],
        [2, 'set', true],
        [3, 'del', true],
      ]);
      r.close();
    });
  });
});
