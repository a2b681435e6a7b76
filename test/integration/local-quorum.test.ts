/**
 * The failover quorum rule (docs/architecture.md §5) in the local cluster: one shard of a
 * primary and two replicas, minSyncReplicas 1, so every acknowledged write
 * is on at least one replica and a promotion needs n − k + 1 = 2 replicas to
 * answer. The primary and one replica are lost (SIGSTOP stands for a killed
 * process the platform cannot bring back: it never answers) and the other
 * replica does not answer either: no promotion, and status says why. With
 * one replica back there is still no promotion (1 of 2 is not enough: the
 * missing one may hold the only copy of a write). With both back the shard
 * recovers, with no acknowledged write lost.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { AdminClient } from '../../common/admin-client.js';
import { LocalCluster } from '../support/local-cluster.js';
import { waitFor } from '../support/wait.js';
import { ClusterLoad, expectAckedReadable } from './migration-support.js';

describe('local cluster: no promotion without a quorum of replicas (minSyncReplicas 1 of 2)', function () {
  this.timeout(300_000);
  let cluster: LocalCluster;
  const paused: number[] = [];

  before(async () => {
    cluster = await LocalCluster.start({ shards: 1, replicas: 2, minSyncReplicas: 1 });
  });

  after(async () => {
    for (const pid of paused) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch { /* gone */ }
    }
    await cluster?.destroy();
  });

  it('refuses to promote while too few replicas answer, says why, and recovers with nothing lost', async () => {
    const shard = await cluster.shard('shard-0');
    const primary = shard.primary;
    const [a, b] = shard.nodes.filter((n) => n.name !== primary).map((n) => n.name) as [string, string];
    const seed = shard.nodes.find((n) => n.name === primary)!.port!;
    const load = new ClusterLoad(seed, { clients: 2, workers: 3, keysPerWorker: 100, maxOps: 50_000, deadlineMs: 200_000, commandTimeoutMs: 1000 });
    try {
      await waitFor('the load to get going', () => load.ops >= 300, { timeoutMs: 30_000 });
      // Lose all three at once: the writes in flight can be acknowledged by nobody from here.
      // The primary first: from then on nothing can change which replicas it counts.
      for (const name of [primary, b, a]) {
        const pid = await cluster.pidOf(name);
        process.kill(pid, 'SIGSTOP');
        paused.push(pid);
      }
      const blocked = await waitFor('the failover to stop and say why', async () => {
        const s = await cluster.shard('shard-0');
        return s.failover?.blocked ?? null;
      }, { timeoutMs: 30_000, intervalMs: 100 });
      expect(blocked).to.match(/^no promotion: 0 of 2 replicas answered .*needs 2 with minSyncReplicas=1/);
      const st = await cluster.status();
      expect(st.phase).to.equal('Unavailable');
      expect(st.messages.join('\n')).to.contain('no promotion');

      // One replica back: still one short of the quorum.
      process.kill(await cluster.pidOf(a), 'SIGCONT');
      await waitFor('the refusal to count the replica that answers again', async () => {
        const s = await cluster.shard('shard-0');
        return s.failover?.blocked?.startsWith('no promotion: 1 of 2 replicas answered') ?? false;
      }, { timeoutMs: 30_000, intervalMs: 100 });
      expect((await cluster.shard('shard-0')).primary).to.equal(primary);

      // The second replica back: the most caught-up of the two is promoted.
      process.kill(await cluster.pidOf(b), 'SIGCONT');
      await waitFor('a replica to be promoted', async () => {
        const s = await cluster.shard('shard-0');
        return s.failover === null && s.primary !== primary;
      }, { timeoutMs: 30_000, intervalMs: 100 });
      const opsNow = load.ops;
      await waitFor('writes to resume', () => load.ops >= opsNow + 200, { timeoutMs: 60_000 });

      // The old primary, back at last, is fenced and rejoins as a replica.
      process.kill(await cluster.pidOf(primary), 'SIGCONT');
      await waitFor(`${primary} to rejoin as a streaming replica`, async () => {
        const s = await cluster.shard('shard-0');
        const n = s.nodes.find((x) => x.name === primary)!;
        return n.up && n.role === 'replica' && n.link === 'streaming';
      }, { timeoutMs: 60_000, intervalMs: 100 });
    } finally {
      load.stop();
      await load.done();
    }
    expect(load.staleReads.slice(0, 5)).to.deep.equal([]);
    await expectAckedReadable(seed, load.log);
    const events = cluster.output();
    expect(events).to.contain('PromotionRefused');
    const s = await cluster.shard('shard-0');
    const token = (await fs.promises.readFile(path.join(cluster.dir, 'token'), 'utf8')).trim();
    const admin = new AdminClient(s.nodes.find((n) => n.name === s.primary)!.httpUrl!, token);
    await waitFor('replicas equal to the new primary', async () => {
      const diff = await admin.digestDiff();
      return diff.replicas.length === 2 && diff.replicas.every((r) => r.error === null && r.differing.length === 0);
    }, { timeoutMs: 60_000, intervalMs: 200 });
  });
});
