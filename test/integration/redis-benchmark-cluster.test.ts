/**
 * `redis-benchmark --cluster` (the tool bench/cluster.ts drives, issue #16)
 * works unmodified against a local IrisDB cluster: it reads the slot map
 * from CLUSTER NODES/SLOTS, finds every master, and sends each key to the
 * shard owning its slot — no error replies, and every key it wrote lives on
 * the primary that owns its slot.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { keySlot } from '../../common/slot.js';
import { LocalCluster } from '../support/local-cluster.js';
import { run } from '../support/run.js';

describe('redis-benchmark --cluster against a local cluster', function () {
  this.timeout(180_000);
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 0 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('finds the 3 masters, gets no error reply, and every key lands on the primary owning its slot', async () => {
    const port = await cluster.seedPort();
    // -e prints server error replies (MOVED, CROSSSLOT, ...) instead of ignoring them.
    const res = await run('redis-benchmark', ['--cluster', '-h', '127.0.0.1', '-p', String(port), '-e', '-t', 'set,get',
      '-n', '3000', '-c', '10', '-d', '100', '-r', '1000', '-P', '4', '--csv'], { timeoutMs: 120_000 });
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.match(/Cluster has 3 master nodes/);
    const output = `${res.stdout}\n${res.stderr}`;
    expect(output, output).to.not.match(/Error from server|\b(ERR|MOVED|ASK|CROSSSLOT|TRYAGAIN|CLUSTERDOWN)\b/);
    for (const test of ['SET', 'GET']) expect(res.stdout).to.match(new RegExp(`^"${test}","[1-9]`, 'm'));

    const st = await cluster.status();
    let total = 0;
    for (const shard of st.shards) {
      const primary = shard.nodes.find((n) => n.name === shard.primary)!;
      const c = new Redis({ host: '127.0.0.1', port: primary.port! });
      try {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, page] = await c.scan(cursor, 'COUNT', 1000);
          cursor = next;
          keys.push(...page);
        } while (cursor !== '0');
        expect(keys.length, `${shard.id} holds no key: redis-benchmark did not reach it`).to.be.greaterThan(0);
        const owned = (s: number): boolean => shard.slots.some(([a, b]) => s >= a && s <= b);
        const strays = keys.filter((k) => !owned(keySlot(k)));
        expect(strays, `${shard.id} holds keys of other shards' slots`).to.deep.equal([]);
        total += keys.length;
      } finally {
        c.disconnect();
      }
    }
    expect(total).to.be.within(3, 3000);
  });
});
