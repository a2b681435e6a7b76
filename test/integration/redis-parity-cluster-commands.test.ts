/**
 * Issue #17's key commands through stock Redis Cluster clients on a real
 * 2-shard IrisDB cluster: ioredis Cluster and redis-cli -c reach the shard
 * owning the key for DUMP, RESTORE, BITFIELD, BITFIELD_RO, OBJECT and
 * MEMORY USAGE (following MOVED where they do not compute the slot), and a
 * node that does not own the key answers MOVED.
 */
import { expect } from 'chai';
import { Cluster, Redis } from 'ioredis';
import { keySlot } from '../../common/slot.js';
import { TestCluster } from '../support/cluster-harness.js';
import { run } from '../support/run.js';

const KEYS = 40;

describe('DUMP, RESTORE, BITFIELD, OBJECT, MEMORY USAGE through cluster clients (2-shard IrisDB cluster)', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async function () {
    this.timeout(120_000);
    cluster = await TestCluster.start({ shards: 2, replicas: 0 });
    client = new Cluster([{ host: '127.0.0.1', port: cluster.primaries[0]!.node.port }], { maxRedirections: 16 });
    client.on('error', () => {});
  });

  after(async function () {
    this.timeout(60_000);
    client?.disconnect();
    await cluster?.stop();
  });

  it('ioredis Cluster: DUMP a key on one shard, RESTORE it under a key of the other, then BITFIELD, OBJECT, MEMORY on it', async () => {
    let crossed = 0;
    for (let i = 0; i < KEYS; i++) {
      const src = `src:${i}`;
      const dst = `dst:${i}`;
      if (cluster.shardOf(src) !== cluster.shardOf(dst)) crossed++;
      const value = i % 2 === 0 ? String(i * 1000) : `value ${i} `.repeat(i);
      expect(await client.set(src, value, 'PX', 100_000)).to.equal('OK');
      const payload = await client.dumpBuffer(src);
      expect(await client.restore(dst, 50_000, payload)).to.equal('OK');
      expect(await client.get(dst)).to.equal(value);
      expect(await client.pttl(dst)).to.be.within(1, 50_000);
      expect(await client.object('ENCODING', dst)).to.equal(i % 2 === 0 ? 'int' : value.length <= 44 ? 'embstr' : 'raw');
      expect(await client.memory('USAGE', dst)).to.be.greaterThan(value.length);
      expect(await client.call('BITFIELD', dst, 'SET', 'u8', '0', '65', 'GET', 'u8', '0')).to.deep.equal([value.charCodeAt(0), 65]);
      expect(await client.call('BITFIELD_RO', dst, 'GET', 'u8', '0')).to.deep.equal([65]);
      // The key lives on the primary owning its slot, and only there.
      for (const shard of cluster.shards) {
        const direct = new Redis({ port: shard.primary.node.port, lazyConnect: true });
        await direct.connect();
        const reply = await direct.exists(dst).catch((e: Error) => e.message);
        direct.disconnect();
        expect(reply).to.equal(shard === cluster.shardOf(dst) ? 1 : `MOVED ${keySlot(dst)} 127.0.0.1:${cluster.shardOf(dst).primary.node.port}`);
      }
    }
    expect(crossed, 'some DUMP/RESTORE pairs crossed shards').to.be.greaterThan(0);
  });

  it('redis-cli -c follows MOVED for BITFIELD, OBJECT ENCODING, MEMORY USAGE; without -c the redirect is shown', async () => {
    const k = 'cli:{bits}';
    const via = String(cluster.primaryNotOwning(k).node.port);
    const owner = cluster.shardOf(k).primary.node.port;
    expect((await run('redis-cli', ['-c', '-p', via, 'BITFIELD', k, 'SET', 'u8', '0', '66'])).stdout.trim()).to.equal('0');
    expect((await run('redis-cli', ['-c', '-p', via, 'OBJECT', 'ENCODING', k])).stdout.trim()).to.equal('embstr');
    expect(Number((await run('redis-cli', ['-c', '-p', via, 'MEMORY', 'USAGE', k])).stdout.trim())).to.be.greaterThan(k.length);
    expect((await run('redis-cli', ['-c', '-p', via, 'GET', k])).stdout.trim()).to.equal('B');
    for (const cmd of [['OBJECT', 'ENCODING', k], ['MEMORY', 'USAGE', k], ['DUMP', k], ['BITFIELD_RO', k, 'GET', 'u8', '0']]) {
      expect((await run('redis-cli', ['-p', via, ...cmd])).stdout.trim(), cmd.join(' ')).to.equal(`MOVED ${keySlot(k)} 127.0.0.1:${owner}`);
    }
  });
});
