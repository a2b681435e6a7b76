/**
 * Issue #3, "It must show" 2: a replica killed with SIGKILL in the middle of
 * a write load resumes from its position when restarted (partial resync,
 * counted in metrics); with its data directory deleted, or once the
 * primary's log no longer reaches back to its position, it takes a full
 * snapshot transfer instead. Digests are equal afterwards and every
 * acknowledged write is on every node.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import type { Redis } from 'ioredis';
import { Shard, WriteLoad, connectClient, connectReadonly, metric, readAll, type ShardNode } from '../support/repl-shard.js';
import type { AckLog } from '../support/ack-log.js';
import { waitFor } from '../support/wait.js';

const RESYNCS = 'irisdb_replication_resyncs_total';
const FULL_SYNC_KEYS = 'irisdb_replication_full_sync_keys_total';

function startLoad(shard: Shard, keyPrefix = 'c'): WriteLoad {
  // Bounded by count and time; stopped explicitly once the scenario is done.
  return new WriteLoad(shard.primary.node.port, { clients: 3, keysPerClient: 300, pipeline: 16, maxPipelines: 3000, deadlineMs: 60_000, keyPrefix });
}

async function acknowledgedMore(load: WriteLoad, n: number, what: string): Promise<void> {
  const target = load.log.ackedWrites + n;
  await waitFor(what, () => load.log.ackedWrites >= target, { timeoutMs: 30_000 });
}

/** The replica's link to its primary is streaming (its resync finished). */
async function streaming(r: ShardNode): Promise<void> {
  await waitFor(`${r.name} to stream from its primary`, async () => (await r.admin.replication()).primary?.state === 'streaming', { timeoutMs: 30_000 });
}

/** Every acknowledged write is on every node, and the digests are equal. */
async function expectConverged(shard: Shard, log: AckLog, conns: Redis[]): Promise<void> {
  await shard.waitForConvergence();
  await shard.waitForEqualDigests();
  for (const n of shard.nodes) {
    const reader = n === shard.primary ? await connectClient(n.node.port) : await connectReadonly(n.node.port);
    conns.push(reader);
    const stored = await readAll(reader, log);
    const problems = log.check((k) => stored.get(k) ?? null);
    expect(problems, `${n.name}: ${problems.slice(0, 10).join('\n')}`).to.deep.equal([]);
  }
}

describe('replication: resync after a replica restarts', function () {
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

  it('resumes from its position after kill -9 (partial resync) while the load keeps running', async () => {
    shard = await Shard.start({ replicas: 2, minSyncReplicas: 1, namePrefix: 'partial-' });
    const victim = shard.replicas[1]!;
    load = startLoad(shard);
    await acknowledgedMore(load, 1500, 'writes before the kill');
    await victim.node.kill9();
    await acknowledgedMore(load, 1500, 'writes while the replica is down');
    victim.node = await victim.node.restart();
    await streaming(victim);
    await acknowledgedMore(load, 1000, 'writes after the restart');
    load.stop();
    const result = await load.done();
    // minSyncReplicas=1 with the other replica up: nothing failed.
    expect(result.errors, [...result.errorTexts].join('\n')).to.equal(0);

    await expectConverged(shard, load.log, conns);
    expect(await metric(victim.node, RESYNCS, { type: 'partial', side: 'replica' })).to.be.at.least(1);
    expect(await metric(victim.node, RESYNCS, { type: 'full', side: 'replica' })).to.equal(0);
    const st = await victim.admin.replication();
    expect(st.primary?.partialSyncs).to.be.at.least(1);
    expect(st.primary?.fullSyncs).to.equal(0);
  });

  it('takes a full resync after kill -9 and losing its data directory', async () => {
    shard = await Shard.start({ replicas: 2, minSyncReplicas: 1, namePrefix: 'wiped-' });
    const victim = shard.replicas[0]!;
    load = startLoad(shard);
    await acknowledgedMore(load, 1500, 'writes before the kill');
    await victim.node.kill9();
    await fs.promises.rm(victim.node.dataDir, { recursive: true, force: true });
    await acknowledgedMore(load, 500, 'writes while the replica is down');
    victim.node = await victim.node.restart();
    // A blank node knows nothing of the shard: the control plane (here, the test) gives it its role again.
    await victim.admin.setRole({ role: 'replica', epoch: shard.epoch, primary: Shard.busAddress(shard.primary) });
    await streaming(victim);
    await acknowledgedMore(load, 500, 'writes after the restart');
    load.stop();
    const result = await load.done();
    expect(result.errors, [...result.errorTexts].join('\n')).to.equal(0);

    await expectConverged(shard, load.log, conns);
    expect(await metric(victim.node, RESYNCS, { type: 'full', side: 'replica' })).to.be.at.least(1);
    expect(await metric(victim.node, FULL_SYNC_KEYS, { side: 'replica' })).to.be.greaterThan(0);
    expect(await metric(shard.primary.node, RESYNCS, { type: 'full', side: 'primary' })).to.be.at.least(1);
  });

  it('takes a full resync when the primary\'s log was trimmed past its position', async () => {
    shard = await Shard.start({ replicas: 2, minSyncReplicas: 1, namePrefix: 'trimmed-', primaryArgs: ['--repl-backlog-ops', '100'] });
    const victim = shard.replicas[1]!;
    load = startLoad(shard);
    await acknowledgedMore(load, 500, 'writes before the stop');
    await victim.node.kill9();
    const before = await shard.primary.admin.replication();
    await acknowledgedMore(load, 1000, 'writes while the replica is down');
    load.stop();
    await load.done();
    const firstLog = load.log;
    // The primary keeps about 100 operations once the replica that pinned them is gone.
    await waitFor('the primary to trim its log past the stopped replica', async () => {
      const st = await shard!.primary.admin.replication();
      return st.backlog.firstSeq > before.lastSeq + 1;
    }, { timeoutMs: 20_000 });
    const primaryFullBefore = await metric(shard.primary.node, RESYNCS, { type: 'full', side: 'primary' });

    victim.node = await victim.node.restart();
    await streaming(victim);
    // Writes keep flowing to it after the snapshot.
    load = startLoad(shard, 'd');
    await acknowledgedMore(load, 500, 'writes after the restart');
    load.stop();
    const result = await load.done();
    expect(result.errors, [...result.errorTexts].join('\n')).to.equal(0);

    await expectConverged(shard, firstLog, conns);
    await expectConverged(shard, load.log, conns);
    expect(await metric(victim.node, RESYNCS, { type: 'full', side: 'replica' })).to.be.at.least(1);
    expect(await metric(victim.node, RESYNCS, { type: 'partial', side: 'replica' })).to.equal(0);
    // Progress counters on both sides, and the replica's own view.
    const keys = await metric(victim.node, FULL_SYNC_KEYS, { side: 'replica' });
    expect(keys).to.be.greaterThan(0);
    expect(await metric(shard.primary.node, FULL_SYNC_KEYS, { side: 'primary' })).to.be.at.least(keys);
    expect(await metric(shard.primary.node, RESYNCS, { type: 'full', side: 'primary' })).to.equal(primaryFullBefore + 1);
    const st = await victim.admin.replication();
    expect(st.primary?.fullSyncs).to.equal(1);
    expect(st.primary?.loading).to.equal(null);
  });

  it('still resumes with a partial resync after its primary was re-declared at a newer epoch', async () => {
    shard = await Shard.start({ replicas: 2, minSyncReplicas: 1, namePrefix: 'bump-' });
    const s = shard;
    const victim = s.replicas[0]!;
    load = startLoad(s);
    await acknowledgedMore(load, 500, 'writes at epoch 1');
    // The control plane raises the epoch without changing the primary (e.g. a new replica list).
    s.epoch = 2;
    await s.primary.admin.setRole({ role: 'primary', epoch: 2, replicas: s.replicas.map((r) => r.name) });
    await waitFor('replicas at epoch 2 with its new term', async () => {
      const want = (await s.primary.admin.replication()).history;
      const sts = await Promise.all(s.replicas.map((r) => r.admin.replication()));
      return sts.every((st) => st.epoch === 2 && JSON.stringify(st.history) === JSON.stringify(want));
    }, { timeoutMs: 20_000 });
    await acknowledgedMore(load, 500, 'writes at epoch 2');
    await victim.node.kill9();
    await acknowledgedMore(load, 300, 'writes while the replica is down');
    victim.node = await victim.node.restart();
    await streaming(victim);
    load.stop();
    const result = await load.done();
    expect(result.errors, [...result.errorTexts].join('\n')).to.equal(0);

    await expectConverged(s, load.log, conns);
    expect(await metric(victim.node, RESYNCS, { type: 'partial', side: 'replica' })).to.be.at.least(1);
    expect(await metric(victim.node, RESYNCS, { type: 'full', side: 'replica' })).to.equal(0);
  });
});
