/**
 * Live slot migration with real processes: two shards, each a primary and a
 * replica. A third of all slots move from shard-0 to shard-1 while four
 * ioredis Cluster clients keep writing and reading. Afterwards: the map is
 * pushed to every node; every acknowledged write reads back from its new
 * owner; the source holds no key of the moved slots; replicas of both
 * shards equal their primaries; and the clients saw no error at all (ioredis
 * follows the MOVED redirects itself).
 */
import { expect } from 'chai';
import { AdminApiError } from '../../common/admin-client.js';
import type { SlotRange } from '../../common/cluster-map.js';
import type { MigrationStage } from '../../common/migration.js';
import { TestCluster } from '../support/cluster-harness.js';
import { metric } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';
import {
  ClusterLoad, expectAckedReadable, expectNoKeysIn, expectOneOwnerPerSlot, expectPreloadOnOwners, expectReplicasEqual, migrationAdmin,
  preload, pushMapFrom, waitForStage,
} from './migration-support.js';

/** A third of all 16384 slots, from shard-0's range [0, 8191]. */
const MOVING: SlotRange[] = [[0, 5460]];

describe('live slot migration under a cluster client load', function () {
  this.timeout(300_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ shards: 2, replicas: 1 });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('moves a third of the slots from shard-0 to shard-1 with no acknowledged write lost and no client error', async () => {
    const source = cluster.shards[0]!.primary;
    const target = cluster.shards[1]!.primary;
    const admin = migrationAdmin(source);
    const seed = source.node.port;
    const preloaded = await preload(seed, MOVING, 100_000);

    const load = new ClusterLoad(seed, { clients: 4, workers: 4, keysPerWorker: 300, maxOps: 100_000, deadlineMs: 120_000 });
    try {
      await waitFor('the load to get going', () => load.ops >= 500, { timeoutMs: 30_000 });

      // Refusals: an unknown target shard, slots the source does not own, a request that is not one.
      await expectStatus(admin.start('bad', [[0, 10]], 'shard-9'), 409);
      await expectStatus(admin.start('bad', [[9000, 9001]], 'shard-1'), 409);
      await expectStatus(admin.start('bad id', [[0, 10]], 'shard-1'), 400);
      await expectStatus(admin.get('nope'), 404);

      const started = await admin.start('live-1', MOVING, 'shard-1');
      expect(started).to.include({ id: 'live-1', source: source.name, target: target.name, targetShard: 'shard-1' });
      // Idempotent by id.
      expect((await admin.start('live-1', MOVING, 'shard-1')).id).to.equal('live-1');
      await expectStatus(admin.start('live-2', [[6000, 6001]], 'shard-1'), 409);

      const opsAtStart = load.ops;
      const stages = new Set<MigrationStage>();
      const done = await waitForStage(admin, 'live-1', 'done', 180_000, stages);
      // The clients kept writing while the slots were copied and flipped.
      expect(load.ops - opsAtStart, 'client operations during the migration').to.be.greaterThan(200);
      expect([...stages]).to.include('copying');
      expect(done.error).to.equal(null);
      expect(done.keysCopied).to.be.at.least(preloaded.length);
      expect(done.keysDeleted).to.be.at.least(preloaded.length);
      // The flip happened while the clients kept going; let them run into the new owner for a while.
      const opsAtFlip = load.ops;
      await waitFor('the load to continue after the flip', () => load.ops >= opsAtFlip + 1000, { timeoutMs: 60_000 });
      await expectStatus(admin.abort('live-1'), 409);
    } finally {
      load.stop();
      await load.done();
    }

    expect(load.errors.slice(0, 5), `${load.errors.length} client errors`).to.deep.equal([]);
    expect(load.staleReads.slice(0, 5), 'a writer read an older value than it had written').to.deep.equal([]);

    // The control plane's part: push the flipped map everywhere.
    const map = await pushMapFrom(cluster, source);
    expect(map.epoch).to.equal(2);
    expect(map.shards.find((s) => s.id === 'shard-1')!.slots).to.deep.equal([[0, 5460], [8192, 16383]]);
    expect(await expectOneOwnerPerSlot(cluster)).to.deep.equal(map);

    await expectAckedReadable(seed, load.log);
    await expectPreloadOnOwners(cluster, map, preloaded);
    await expectNoKeysIn(source, MOVING);
    await expectNoKeysIn(cluster.shards[0]!.replicas[0]!, MOVING);
    await expectReplicasEqual(cluster);

    // Progress is visible in metrics on both sides.
    expect(await metric(source.node, 'irisdb_migration_keys_total', { side: 'source' })).to.be.at.least(preloaded.length);
    expect(await metric(target.node, 'irisdb_migration_keys_total', { side: 'target' })).to.be.at.least(preloaded.length);
    expect(await metric(source.node, 'irisdb_migration_stage', { id: 'live-1', stage: 'done' })).to.equal(1);
    expect(await metric(source.node, 'irisdb_migration_fence_seconds_count', { result: 'flipped' })).to.equal(1);
    const imports = (await migrationAdmin(target).list()).imports;
    expect(imports.map((i) => [i.id, i.state])).to.deep.equal([['live-1', 'flipped']]);
  });
});

async function expectStatus(p: Promise<unknown>, status: number): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AdminApiError);
    expect((err as AdminApiError).status, (err as Error).message).to.equal(status);
    return;
  }
  throw new Error(`expected HTTP ${status}, the request succeeded`);
}
