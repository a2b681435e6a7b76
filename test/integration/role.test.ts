/**
 * ROLE on real nodes (Redis 7's reply shape), as ioredis reads it: the
 * primary lists its online replica with the replica's RESP port and acked
 * offset, the replica names its primary's RESP address and "connected".
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Shard } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

describe('ROLE on a primary and a replica', function () {
  this.timeout(60_000);
  let shard: Shard | undefined;

  after(async () => {
    await shard?.stop();
  });

  it('primary: ["master", offset, [[ip, port, offset]]]; replica: ["slave", ip, port, "connected", offset]', async () => {
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, namePrefix: 'role-' });
    const s = shard;
    const primary = new Redis({ port: s.primary.node.port, maxRetriesPerRequest: 1 });
    const replica = new Redis({ port: s.replicas[0]!.node.port, maxRetriesPerRequest: 1 });
    try {
      for (let i = 0; i < 10; i++) expect(await primary.set(`role:${i}`, 'v')).to.equal('OK');
      const seq = await s.waitForConvergence();
      const p = await waitFor('the primary to list its replica at its last offset', async () => {
        const r = (await primary.call('ROLE')) as [string, number, string[][]];
        return r[2].length === 1 && r[2][0]![2] === String(seq) ? r : null;
      });
      expect(p).to.deep.equal(['master', seq, [['127.0.0.1', String(s.replicas[0]!.node.port), String(seq)]]]);
      const r = await waitFor('the replica to report its link connected at the last offset', async () => {
        const v = (await replica.call('ROLE')) as [string, string, number, string, number];
        return v[3] === 'connected' && v[4] === seq ? v : null;
      });
      expect(r).to.deep.equal(['slave', '127.0.0.1', s.primary.node.port, 'connected', seq]);
    } finally {
      primary.disconnect();
      replica.disconnect();
    }
  });
});
