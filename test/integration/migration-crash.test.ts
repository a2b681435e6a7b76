/**
 * Slot migration survives kill -9 (real processes: two shards, each a
 * primary and a replica, under an ioredis Cluster write load):
 *  1. the source primary dies while copying: restarted and resumed, the
 *     migration completes;
 *  2. the target primary dies while copying: restarted, resumed, completes;
 *  3. the source dies while its write fence is up (a test-only setting holds
 *     the fence): restarted, it fences the slots again before serving, learns
 *     from the target that the flip did not happen, and the operator's abort
 *     rolls the migration back.
 * Every time: no acknowledged write is lost, every slot is owned by exactly
 * one shard in every node's map, no moved key is left behind, and replicas
 * equal their primaries.
 */
import { expect } from 'chai';
import type { SlotRange } from '../../common/cluster-map.js';
import { TestCluster } from '../support/cluster-harness.js';
import type { ShardNode } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';
import {
  ClusterLoad, expectAckedReadable, expectNoKeysIn, expectOneOwnerPerSlot, expectPreloadOnOwners, expectReplicasEqual, migrationAdmin,
  preload, pushMapFrom, waitForStage,
} from './migration-support.js';

const MOVING: SlotRange[] = [[0, 5460]];
/**
 * Keys preloaded into MOVING before a copy is killed (at >= 10k copied): enough that the kill lands mid-copy with
 * most keys still to go, while preloading, copying, reading back and comparing them (all in proportion) stays a
 * few seconds (with 150k those steps were ~4/5 of each test's time, ~35 s in CI).
 */
const COPY_PRELOAD = 50_000;

async function crashAndRestart(n: ShardNode): Promise<void> {
  await n.node.kill9();
  n.node = await n.node.restart();
}

function newLoad(cluster: TestCluster): ClusterLoad {
  // Seeded on a node that is not killed: clients rediscover the cluster from it.
  return new ClusterLoad(cluster.shards[1]!.replicas[0]!.node.port, { clients: 3, workers: 3, keysPerWorker: 200, maxOps: 100_000, deadlineMs: 240_000 });
}

describe('slot migration across kill -9', function () {
  this.timeout(400_000);
  let cluster: TestCluster | null = null;

  afterEach(async () => {
    await cluster?.stop();
    cluster = null;
  });

  /** After the migration finished: the checks every run makes. */
  async function expectConsistent(c: TestCluster, load: ClusterLoad, preloaded: string[], flipped: boolean): Promise<void> {
    const source = c.shards[0]!.primary;
    const map = flipped ? await pushMapFrom(c, source) : c.map;
    expect(map.epoch).to.equal(flipped ? 2 : 1);
    expect(await expectOneOwnerPerSlot(c)).to.deep.equal(map);
    await expectAckedReadable(source.node.port, load.log);
    await expectPreloadOnOwners(c, map, preloaded);
    const losing = flipped ? c.shards[0]! : c.shards[1]!;
    for (const n of losing.nodes) await waitFor(`${n.name} to drop its keys of the moved slots`, async () => {
      await expectNoKeysIn(n, MOVING);
      return true;
    }, { timeoutMs: 30_000 });
    await expectReplicasEqual(c);
  }

  it('the source primary killed while copying: restarted and resumed, the migration completes', async () => {
    cluster = await TestCluster.start({ shards: 2, replicas: 1 });
    const source = cluster.shards[0]!.primary;
    const admin = migrationAdmin(source);
    const preloaded = await preload(source.node.port, MOVING, COPY_PRELOAD);
    const load = newLoad(cluster);
    try {
      await waitFor('the load to get going', () => load.ops >= 300, { timeoutMs: 30_000 });
      await admin.start('crash-src', MOVING, 'shard-1');
      await waitFor('the copy to be under way', async () => {
        const st = await admin.get('crash-src');
        return st.stage === 'copying' && st.keysCopied >= 10_000;
      }, { timeoutMs: 60_000, intervalMs: 5 });
      await crashAndRestart(source);

      const after = await admin.get('crash-src');
      expect(after.running).to.equal(false);
      expect(['prepare', 'copying']).to.include(after.stage);
      expect(after.error).to.match(/restart/);
      await admin.resume('crash-src');
      const done = await waitForStage(admin, 'crash-src', 'done');
      expect(done.attempt).to.equal(2);
      const opsAtDone = load.ops;
      await waitFor('the load to continue after the flip', () => load.ops >= opsAtDone + 300, { timeoutMs: 60_000 });
    } finally {
      load.stop();
      await load.done();
    }
    expect(load.staleReads.slice(0, 5)).to.deep.equal([]);
    await expectConsistent(cluster, load, preloaded, true);
  });

  it('the target primary killed while copying: restarted, resumed, the migration completes', async () => {
    cluster = await TestCluster.start({ shards: 2, replicas: 1 });
    const source = cluster.shards[0]!.primary;
    const target = cluster.shards[1]!.primary;
    const admin = migrationAdmin(source);
    const preloaded = await preload(source.node.port, MOVING, COPY_PRELOAD);
    const load = newLoad(cluster);
    try {
      await waitFor('the load to get going', () => load.ops >= 300, { timeoutMs: 30_000 });
      await admin.start('crash-tgt', MOVING, 'shard-1');
      await waitFor('the copy to be under way', async () => {
        const st = await admin.get('crash-tgt');
        return st.stage === 'copying' && st.keysCopied >= 10_000;
      }, { timeoutMs: 60_000, intervalMs: 5 });
      await crashAndRestart(target);

      // The source loses its connection and stops; the target kept its import (importing) across the restart.
      const stopped = await waitFor('the source to stop the attempt', async () => {
        const st = await admin.get('crash-tgt');
        return st.running ? null : st;
      }, { timeoutMs: 90_000 });
      expect(stopped.stage).to.equal('copying');
      expect(stopped.error).to.match(/connection|acknowledged nothing/);
      expect((await migrationAdmin(target).list()).imports.map((i) => [i.id, i.state])).to.deep.equal([['crash-tgt', 'importing']]);
      await cluster.shards[1]!.waitForReplicasOnline();
      await admin.resume('crash-tgt');
      const done = await waitForStage(admin, 'crash-tgt', 'done');
      expect(done.attempt).to.equal(2);
      const opsAtDone = load.ops;
      await waitFor('the load to continue after the flip', () => load.ops >= opsAtDone + 300, { timeoutMs: 60_000 });
    } finally {
      load.stop();
      await load.done();
    }
    expect(load.staleReads.slice(0, 5)).to.deep.equal([]);
    await expectConsistent(cluster, load, preloaded, true);
  });

  it('the source killed while fenced: restarted, it re-fences before serving, learns the flip did not happen, and abort rolls back', async () => {
    // TEST ONLY: the sources hold their fence 5 s before flipping, so the kill lands inside it.
    // The restarted source keeps the setting; harmless, as the aborted migration never flips again.
    cluster = await TestCluster.start({ shards: 2, replicas: 1, args: ['--test-migration-fence-hold-ms', '5000'] });
    const source = cluster.shards[0]!.primary;
    const target = cluster.shards[1]!.primary;
    const admin = migrationAdmin(source);
    const preloaded = await preload(source.node.port, MOVING, 20_000);
    const load = newLoad(cluster);
    try {
      await waitFor('the load to get going', () => load.ops >= 300, { timeoutMs: 30_000 });
      await admin.start('crash-fence', MOVING, 'shard-1');
      await waitForStage(admin, 'crash-fence', 'fence', 60_000);
      await crashAndRestart(source);

      expect(source.node.logs()).to.include('at its write fence when the node stopped');
      const resolved = await waitFor('the source to resolve the interrupted flip', async () => {
        const st = await admin.get('crash-fence');
        return st.running ? null : st;
      }, { timeoutMs: 60_000 });
      expect(resolved.stage).to.equal('prepare');
      expect(resolved.error).to.match(/did not flip.*resume/);
      expect((await migrationAdmin(target).list()).imports.map((i) => [i.id, i.state])).to.deep.equal([['crash-fence', 'aborted']]);

      const aborted = await admin.abort('crash-fence');
      expect(aborted.stage).to.equal('aborted');
      const opsAtAbort = load.ops;
      await waitFor('the load to continue after the rollback', () => load.ops >= opsAtAbort + 300, { timeoutMs: 60_000 });
    } finally {
      load.stop();
      await load.done();
    }
    expect(load.staleReads.slice(0, 5)).to.deep.equal([]);
    await expectConsistent(cluster, load, preloaded, false);
  });
});
