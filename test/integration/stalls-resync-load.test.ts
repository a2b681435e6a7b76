/**
 * A full resync loads the snapshot at most --replica-load-slice-rows rows per
 * event-loop turn, each turn its own commit (issue #16), and a new replica
 * killed with SIGKILL in the middle of that load, while clients keep writing
 * to the primary, comes back with every key of the snapshot and every
 * acknowledged write, and the same digests as its primary. With
 * --wal-wait-bytes at 1 MiB the load also waits for the checkpoint
 * worker between slices many times over, kills included.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import type { Redis } from 'ioredis';
import { Shard, WriteLoad, connectClient, connectReadonly, metric, readAll, type ShardNode } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

const KEYS = 20_000;
const SLICE_ROWS = 5;
// IRIS_TEST_LOAD_SLICE_ROWS starts the nodes with another value (e.g. 100000, the maximum: slicing in effect off) to see the slice check fail.
const NODE_SLICE_ROWS = process.env.IRIS_TEST_LOAD_SLICE_ROWS ?? String(SLICE_ROWS);
const FULL_SYNC_KEYS = 'irisdb_replication_full_sync_keys_total';
// The snapshot loader's own count: the write load's applied entries are commits too, so the node's commit count could not tell slicing from none.
const LOAD_SLICES = 'irisdb_replication_full_sync_load_slices_total';
const LOAD_WAL_WAITS = 'irisdb_replication_full_sync_load_wal_waits_total';

async function preload(client: Redis): Promise<void> {
  for (let i = 0; i < KEYS;) {
    const args: string[] = [];
    for (let k = 0; k < 1000 && i < KEYS; k++, i++) args.push(`pre:${i}`, `value ${i}`);
    await client.mset(...args);
  }
}

async function streaming(r: ShardNode): Promise<void> {
  await waitFor(`${r.name} to stream from its primary`, async () => (await r.admin.replication()).primary?.state === 'streaming', { timeoutMs: 90_000, intervalMs: 100 });
}

describe('stalls: a full resync loads in bounded slices (--replica-load-slice-rows)', function () {
  this.timeout(240_000);
  let shard: Shard | undefined;
  let load: WriteLoad | undefined;
  const conns: Redis[] = [];

  afterEach(async () => {
    load?.stop();
    await load?.done().catch(() => undefined);
    load = undefined;
    for (const c of conns.splice(0)) c.disconnect();
    await shard?.stop();
    shard = undefined;
  });

  it('commits every few rows, and a new replica killed mid-load comes back with every key and every acknowledged write', async () => {
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 0, namePrefix: 'load-', args: ['--replica-load-slice-rows', NODE_SLICE_ROWS, '--wal-wait-bytes', '1mb'] });
    const client = await connectClient(shard.primary.node.port);
    conns.push(client);
    await preload(client);
    await shard.waitForConvergence();

    // A blank replica: its data directory is gone, so it takes a full resync of every key.
    const victim = shard.replicas[0]!;
    await victim.node.kill9();
    await fs.promises.rm(victim.node.dataDir, { recursive: true, force: true });
    victim.node = await victim.node.restart();
    load = new WriteLoad(shard.primary.node.port, { clients: 2, keysPerClient: 200, pipeline: 8, maxPipelines: 4000, deadlineMs: 120_000, keyPrefix: 'w' });
    await victim.admin.setRole({ role: 'replica', epoch: shard.epoch, primary: Shard.busAddress(shard.primary) });

    // Mid-load: some rows in, the link still in its full resync.
    await waitFor('the new replica part-way through loading the snapshot', async () => {
      const loaded = await metric(victim.node, FULL_SYNC_KEYS, { side: 'replica' });
      return loaded >= 2000 && loaded < KEYS && (await victim.admin.replication()).primary?.state === 'full_sync';
    }, { timeoutMs: 90_000, intervalMs: 20 });
    await victim.node.kill9();

    victim.node = await victim.node.restart();
    await streaming(victim);
    // The restarted replica loaded the whole snapshot again, at most SLICE_ROWS rows per turn and commit
    // (one slice per snapshot frame without it: 12 for these keys with 100000).
    const loaded = await metric(victim.node, FULL_SYNC_KEYS, { side: 'replica' });
    expect(loaded).to.be.at.least(KEYS);
    expect(await metric(victim.node, LOAD_SLICES)).to.be.at.least(Math.ceil(loaded / SLICE_ROWS));
    expect(await metric(victim.node, LOAD_WAL_WAITS), 'waits for the checkpoint worker between slices').to.be.greaterThan(0);

    load.stop();
    const result = await load.done();
    expect(result.errors, [...result.errorTexts].join('\n')).to.equal(0);
    expect(load.log.ackedWrites).to.be.greaterThan(0);
    await shard.waitForConvergence(90_000);
    await shard.waitForEqualDigests(90_000);
    const reader = await connectReadonly(victim.node.port);
    conns.push(reader);
    const stored = await readAll(reader, load.log);
    const problems = load.log.check((k) => stored.get(k) ?? null);
    expect(problems, problems.slice(0, 10).join('\n')).to.deep.equal([]);
    const pre = await reader.mget(...Array.from({ length: KEYS }, (_, i) => `pre:${i}`));
    expect(pre.filter((v, i) => v !== `value ${i}`).length).to.equal(0);
  });
});
