/**
 * Automatic failover in the local cluster (3 shards × 1 replica,
 * minSyncReplicas 1) under a continuous ioredis Cluster load:
 * - kill -9 each shard's primary in turn: its replica is promoted, the
 *   clients resume, the killed node comes back (restarted by the platform)
 *   as a replica and catches up;
 * - irisctl restart of a primary: it hands over (switchover) and only then
 *   restarts;
 * - SIGSTOP a primary (dataDurability preferred, so writes go on without
 *   the replica the paused node would have become): failover happens; after
 *   SIGCONT it is fenced and rejoins as a replica, having acknowledged
 *   nothing after it was replaced.
 * With the default dataDurability (required), writes after a failover wait
 * until the killed node is back as a replica: the shard never acknowledges
 * a write with fewer than minSyncReplicas replicas.
 * A checker over every client's history then finds every acknowledged write
 * readable and no read of a value that was later lost, and every replica
 * equal to its primary.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { AdminClient } from '../../common/admin-client.js';
import type { ShardView } from '../../operator/core/observation.js';
import { LocalCluster } from '../support/local-cluster.js';
import { waitReplicasEqual } from '../support/replica-digests.js';
import { waitFor } from '../support/wait.js';
import { ClusterLoad, expectAckedReadable } from './migration-support.js';

/** Waits until `shardId` has a primary other than `old`, and `old` is back as its streaming replica. */
async function waitForFailover(cluster: LocalCluster, shardId: string, old: string): Promise<ShardView> {
  await waitFor(`${shardId} to promote a replica in place of ${old}`, async () => {
    const s = await cluster.shard(shardId);
    return s.primary !== old && s.failover === null && s.nodes.find((n) => n.name === s.primary)?.role === 'primary';
  }, { timeoutMs: 30_000, intervalMs: 50 });
  return waitFor(`${old} to rejoin ${shardId} as a replica and catch up`, async () => {
    const s = await cluster.shard(shardId);
    const n = s.nodes.find((x) => x.name === old);
    return n !== undefined && n.up && n.role === 'replica' && n.link === 'streaming' && n.lagOps === 0 ? s : null;
  }, { timeoutMs: 60_000, intervalMs: 100 });
}

async function token(cluster: LocalCluster): Promise<string> {
  return (await fs.promises.readFile(path.join(cluster.dir, 'token'), 'utf8')).trim();
}

/**
 * Polls a node until stopped; collects effectiveMinSyncReplicas from every
 * answer where it is a primary above `epoch` (promoted).
 */
function watchCountedReplicas(admin: AdminClient, epoch: number): { stop(): void; samples: Promise<number[]> } {
  let stopped = false;
  const samples = (async () => {
    const out: number[] = [];
    while (!stopped) {
      const st = await admin.replication().catch(() => null);
      if (st !== null && st.role === 'primary' && st.epoch > epoch) out.push(st.effectiveMinSyncReplicas);
      await new Promise((r) => setTimeout(r, 20));
    }
    return out;
  })();
  return { stop: () => { stopped = true; }, samples };
}

describe('local cluster: automatic failover under a cluster client load (dataDurability required)', function () {
  this.timeout(600_000);
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 1 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('promotes the replica when a primary is killed (each shard in turn), and loses no acknowledged write', async () => {
    const seed = await cluster.seedPort();
    const load = new ClusterLoad(seed, { clients: 3, workers: 3, keysPerWorker: 200, maxOps: 200_000, deadlineMs: 300_000, commandTimeoutMs: 1000 });
    try {
      await waitFor('the load to get going', () => load.ops >= 300, { timeoutMs: 30_000 });
      for (const shardId of ['shard-0', 'shard-1', 'shard-2']) {
        const before = await cluster.shard(shardId);
        const old = before.primary;
        const heir = before.nodes.find((n) => n.name !== old)!;
        const watch = watchCountedReplicas(new AdminClient(heir.httpUrl!, await token(cluster)), before.epoch);
        process.kill(await cluster.pidOf(old), 'SIGKILL');
        const after = await waitForFailover(cluster, shardId, old).finally(() => watch.stop());
        // dataDurability required: from its promotion on, the new primary never acknowledges a write alone
        // (it counts the replica it had, down or not, until that one is back).
        const samples = await watch.samples;
        expect(samples.length, 'samples of the new primary').to.be.greaterThan(0);
        expect(samples.filter((x) => x < 1), 'samples where the new primary counted no replica').to.deep.equal([]);
        expect(after.epoch).to.be.greaterThan(before.epoch);
        const node = after.nodes.find((n) => n.name === old)!;
        expect(node.restarts).to.be.at.least(1);
        // The clients resume: writes keep being acknowledged after the failover.
        const opsNow = load.ops;
        await waitFor(`writes to resume after the failover of ${shardId}`, () => load.ops >= opsNow + 300, { timeoutMs: 30_000 });
      }
    } finally {
      load.stop();
      await load.done();
    }
    expect(load.staleReads.slice(0, 5)).to.deep.equal([]);
    await expectAckedReadable(seed, load.log);
    expect(load.log.ackedWrites).to.be.greaterThan(1000);
    await waitReplicasEqual(cluster);
    const events = cluster.output();
    expect(events.match(/FailoverFinished/g) ?? []).to.have.length(3);
  });

  it('restarts a primary gracefully (irisctl restart): switchover first, then the restart, no acknowledged write lost', async () => {
    const seed = (await cluster.shard('shard-0')).nodes[0]!.port!;
    const load = new ClusterLoad(seed, { keyPrefix: 'restart-', clients: 2, workers: 3, keysPerWorker: 200, maxOps: 100_000, deadlineMs: 240_000, commandTimeoutMs: 1000 });
    const before = await cluster.shard('shard-2');
    const old = before.primary;
    const pid = await cluster.pidOf(old);
    try {
      await waitFor('the load to get going', () => load.ops >= 300, { timeoutMs: 30_000 });
      const accepted = await cluster.client.restartNode(old);
      expect(accepted.id).to.match(/^switchover-/);
      const after = await waitForFailover(cluster, 'shard-2', old);
      expect(after.epoch).to.equal(before.epoch + 1); // a switchover needs one epoch, not a fence and a promotion
      await waitFor(`${old} to be a new process`, async () => (await cluster.pidOf(old).catch(() => pid)) !== pid, { timeoutMs: 30_000 });
      const opsNow = load.ops;
      await waitFor('writes to go on', () => load.ops >= opsNow + 300, { timeoutMs: 30_000 });
    } finally {
      load.stop();
      await load.done();
    }
    const events = cluster.output();
    expect(events).to.match(/SwitchoverFinished: shard-2/);
    expect(events).to.match(/NodeRestarted: .*restarted/);
    expect(load.staleReads.slice(0, 5)).to.deep.equal([]);
    await expectAckedReadable(seed, load.log);
    await waitReplicasEqual(cluster);
  });
});

describe('local cluster: failover of a paused primary (dataDurability preferred)', function () {
  this.timeout(600_000);
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 1, dataDurability: 'preferred' });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('fences a SIGSTOPped primary: failover happens; after SIGCONT it rejoins as a replica', async () => {
    const seed = (await cluster.shard('shard-0')).nodes[0]!.port!;
    const load = new ClusterLoad(seed, { keyPrefix: 'stop-', clients: 2, workers: 3, keysPerWorker: 200, maxOps: 100_000, deadlineMs: 240_000, commandTimeoutMs: 1000 });
    const before = await cluster.shard('shard-1');
    const old = before.primary;
    const pid = await cluster.pidOf(old);
    try {
      await waitFor('the load to get going', () => load.ops >= 300, { timeoutMs: 30_000 });
      process.kill(pid, 'SIGSTOP');
      try {
        await waitFor(`shard-1 to promote a replica in place of the paused ${old}`, async () => {
          const s = await cluster.shard('shard-1');
          return s.primary !== old && s.failover === null;
        }, { timeoutMs: 30_000, intervalMs: 50 });
        const opsNow = load.ops;
        await waitFor('writes to resume while the old primary is paused', () => load.ops >= opsNow + 300, { timeoutMs: 30_000 });
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const after = await waitForFailover(cluster, 'shard-1', old);
      // The same process, never restarted: it was fenced, not killed.
      expect(await cluster.pidOf(old)).to.equal(pid);
      expect(after.nodes.find((n) => n.name === old)!.epoch).to.equal(after.epoch);
    } finally {
      load.stop();
      await load.done();
    }
    expect(load.staleReads.slice(0, 5)).to.deep.equal([]);
    await expectAckedReadable(seed, load.log);
    await waitReplicasEqual(cluster);
  });
});
