/**
 * Stock Redis Cluster clients against a real IrisDB cluster: 3 shards, each a
 * primary and a replica (separate irisdb-node processes), slots split evenly,
 * the map pushed through the admin API. ioredis Cluster (writes and reads
 * over every shard, hash tags, CROSSSLOT, replica reads), redis-cli -c,
 * redis-cli --cluster check, go-redis ClusterClient (built from
 * tools/go-cluster-check), and map epochs (an older map is refused; the
 * installed one survives a kill -9).
 */
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { AdminApiError } from '../../common/admin-client.js';
import { slotOwners } from '../../common/cluster-map.js';
import { keySlot } from '../../common/slot.js';
import { TestCluster, goClusterCheckBinary } from '../support/cluster-harness.js';
import { metric } from '../support/repl-shard.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';

const KEYS = 1000;
const key = (i: number) => `key:${i}`;
const val = (i: number) => `value-${i}-${'v'.repeat(i % 23)}`;

function ioredisCluster(c: TestCluster, opts: { scaleReads?: 'master' | 'slave' } = {}): Cluster {
  const p = c.primaries[0]!.node;
  const client = new Cluster([{ host: '127.0.0.1', port: p.port }], { scaleReads: opts.scaleReads ?? 'master', maxRedirections: 16 });
  client.on('error', () => {});
  return client;
}

describe('stock Redis Cluster clients against a 3-shard IrisDB cluster', function () {
  let cluster: TestCluster;

  before(async function () {
    this.timeout(120_000);
    cluster = await TestCluster.start({ shards: 3, replicas: 1 });
  });

  after(async function () {
    this.timeout(60_000);
    await cluster?.stop();
  });

  describe('ioredis Cluster', () => {
    let client: Cluster;
    before(() => { client = ioredisCluster(cluster); });
    after(() => client?.disconnect());

    it(`writes and reads ${KEYS} keys spread over the slots of every shard`, async () => {
      for (let i = 0; i < KEYS; i += 100) {
        const chunk = Array.from({ length: Math.min(100, KEYS - i) }, (_, j) => i + j);
        const replies = await Promise.all(chunk.map((n) => client.set(key(n), val(n))));
        expect(replies.every((r) => r === 'OK')).to.equal(true);
      }
      for (let i = 0; i < KEYS; i += 100) {
        const chunk = Array.from({ length: Math.min(100, KEYS - i) }, (_, j) => i + j);
        const got = await Promise.all(chunk.map((n) => client.get(key(n))));
        got.forEach((v, j) => expect(v).to.equal(val(chunk[j]!)));
      }
      // Each key landed on the primary owning its slot, and only there.
      const owners = slotOwners(cluster.map);
      const expected = [0, 0, 0];
      const slots = new Set<number>();
      for (let i = 0; i < KEYS; i++) {
        slots.add(keySlot(key(i)));
        expected[owners[keySlot(key(i))]!]!++;
      }
      expect(slots.size).to.be.greaterThan(900);
      for (let s = 0; s < 3; s++) {
        const count = await countKeys(cluster, s, 'key:*');
        expect(count, `shard ${s}`).to.equal(expected[s]);
        expect(count).to.be.greaterThan(0);
      }
    });

    it('MSET/MGET within one hash tag work; across tags CROSSSLOT', async () => {
      expect(await client.mset('{user:1}:name', 'ada', '{user:1}:lang', 'ml')).to.equal('OK');
      expect(await client.mget('{user:1}:name', '{user:1}:lang', '{user:1}:none')).to.deep.equal(['ada', 'ml', null]);
      const err = await client.mget('{user:1}:name', '{user:2}:name').then(() => null, (e: Error) => e);
      expect(err?.message).to.match(/^CROSSSLOT/);
      const tx = await client.multi().set('{user:1}:n', '1').incr('{user:1}:n').exec();
      expect(tx).to.deep.equal([[null, 'OK'], [null, 2]]);
    });

    it('reads from replicas with scaleReads: slave (READONLY)', async () => {
      const reader = ioredisCluster(cluster, { scaleReads: 'slave' });
      try {
        const before = await Promise.all(cluster.shards.map((s) => metric(s.replicas[0]!.node, 'redis_commands_total', { cmd: 'get' })));
        for (let i = 0; i < KEYS; i += 100) {
          const chunk = Array.from({ length: Math.min(100, KEYS - i) }, (_, j) => i + j);
          const got = await Promise.all(chunk.map((n) => reader.get(key(n))));
          got.forEach((v, j) => expect(v).to.equal(val(chunk[j]!)));
        }
        const after = await Promise.all(cluster.shards.map((s) => metric(s.replicas[0]!.node, 'redis_commands_total', { cmd: 'get' })));
        // Every replica served reads (a write is acknowledged once its replica applied it, so none was missing).
        after.forEach((n, s) => expect(n - before[s]!, `replica of shard ${s}`).to.be.greaterThan(100));
      } finally {
        reader.disconnect();
      }
    });
  });

  describe('redis-cli', () => {
    it('-c follows MOVED: set through a node that does not own the key, get through another', async () => {
      const k = 'cli:{moved}';
      const setVia = cluster.primaryNotOwning(k).node.port;
      const owner = cluster.shardOf(k);
      const getVia = owner.replicas[0]!.node.port;
      expect(getVia).to.not.equal(setVia);
      const set = await run('redis-cli', ['-c', '-p', String(setVia), 'SET', k, 'followed']);
      expect(set.stdout.trim()).to.equal('OK');
      const get = await run('redis-cli', ['-c', '-p', String(getVia), 'GET', k]);
      expect(get.stdout.trim()).to.equal('followed');
      // Without -c the redirect is shown, not followed.
      const raw = await run('redis-cli', ['-p', String(setVia), 'GET', k]);
      expect(raw.stdout.trim()).to.equal(`MOVED ${keySlot(k)} 127.0.0.1:${owner.primary.node.port}`);
    });

    it('--cluster check: all slots covered and all nodes agree', async () => {
      for (const n of [cluster.primaries[0]!, cluster.shards[2]!.replicas[0]!]) {
        const r = await run('redis-cli', ['--cluster', 'check', `127.0.0.1:${n.node.port}`], { timeoutMs: 60_000 });
        const out = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
        expect(r.code, out + r.stderr).to.equal(0);
        expect(out).to.contain('[OK] All nodes agree about slots configuration.');
        expect(out).to.contain('[OK] All 16384 slots covered.');
        expect(out).to.not.match(/\[ERR\]|\[WARNING\]/);
      }
    });
  });

  describe('go-redis ClusterClient', () => {
    it('sets and gets keys across slots, hash tags, CROSSSLOT and replica reads (tools/go-cluster-check)', async function () {
      this.timeout(900_000); // a cold build downloads go-redis through the module proxy
      const bin = await goClusterCheckBinary();
      const seed = `127.0.0.1:${cluster.shards[1]!.primary.node.port}`;
      const r = await run(bin, ['-seed', seed, '-keys', String(KEYS), '-replica-reads'], { timeoutMs: 120_000 });
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^ok: 1000 keys over 3 primaries/);
    });
  });

  describe('map epochs', () => {
    it('refuses an older map (409) and keeps answering with the installed one, across a kill -9', async function () {
      this.timeout(120_000);
      const newer = { ...cluster.map, epoch: cluster.map.epoch + 1 };
      await cluster.pushMap(newer);
      await cluster.waitForEpoch(newer.epoch);
      const node = cluster.shards[0]!.replicas[0]!;
      const older = { ...newer, epoch: newer.epoch - 1, shards: newer.shards.map((s) => ({ ...s, slots: [] })) };
      const err = await node.admin.setClusterMap(older).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(AdminApiError);
      expect((err as AdminApiError).status).to.equal(409);
      expect((await node.admin.clusterMap())?.epoch).to.equal(newer.epoch);
      // The same content at a new epoch is fine; another content at the installed epoch is not.
      const sameEpoch = { ...newer, shards: [...newer.shards].reverse().map((s, i) => ({ ...s, id: `renamed-${i}` })) };
      const conflict = await node.admin.setClusterMap(sameEpoch).then(() => null, (e: unknown) => e);
      expect((conflict as AdminApiError).status).to.equal(409);

      const info = await run('redis-cli', ['-p', String(node.node.port), 'CLUSTER', 'INFO']);
      expect(info.stdout).to.contain(`cluster_current_epoch:${newer.epoch}`);
      expect(info.stdout).to.contain('cluster_state:ok');

      // The map is durable: after kill -9 and a restart the node routes with it before any push.
      await node.node.kill9();
      node.node = await node.node.restart();
      expect((await node.admin.clusterMap())?.epoch).to.equal(newer.epoch);
      const k = 'epoch:{after-restart}';
      const moved = await run('redis-cli', ['-p', String(node.node.port), 'SET', k, 'x']);
      const owner = cluster.shardOf(k);
      expect(moved.stdout.trim()).to.equal(`MOVED ${keySlot(k)} 127.0.0.1:${owner.primary.node.port}`);
      await cluster.shards[0]!.waitForReplicasOnline();
      await waitFor('the restarted replica to be back in the cluster check', async () => {
        const r = await run('redis-cli', ['--cluster', 'check', `127.0.0.1:${node.node.port}`], { timeoutMs: 30_000 });
        return r.code === 0;
      }, { timeoutMs: 30_000, intervalMs: 200 });
    });
  });
});

/** Keys matching `pattern` on shard `s`'s primary (SCAN is node-local, as in Redis Cluster). */
async function countKeys(c: TestCluster, s: number, pattern: string): Promise<number> {
  const r = await run('redis-cli', ['-p', String(c.shards[s]!.primary.node.port), '--scan', '--pattern', pattern], { timeoutMs: 60_000 });
  return r.stdout.split('\n').filter((l) => l !== '').length;
}
