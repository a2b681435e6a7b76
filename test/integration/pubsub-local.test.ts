/**
 * Pub/Sub in the cluster a user starts with `irisctl local up` (3 shards ×
 * 1 replica, the control plane pushing the map): a PUBLISH on any of the six
 * nodes reaches a subscriber on every other, and ioredis Cluster's sharded
 * subscriber gets the SPUBLISHes of channels in every shard.
 */
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { keySlot } from '../../common/slot.js';
import { LocalCluster } from '../support/local-cluster.js';
import { RawRespClient, encodeCommand, parseReply } from '../support/resp-client.js';
import { waitFor } from '../support/wait.js';

describe('Pub/Sub in an irisctl local cluster (3 shards × 1 replica)', function () {
  this.timeout(180_000);
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 1 });
  });
  after(async () => {
    await cluster?.destroy();
  });

  it('a message published on any node reaches a subscriber on every node', async () => {
    const ports = await cluster.seedPorts();
    expect(ports).to.have.length(6);
    const subs = await Promise.all(ports.map((p) => RawRespClient.connect(p)));
    const got: string[][] = ports.map(() => []);
    try {
      await Promise.all(subs.map((s) => s.writeRaw(encodeCommand(['SUBSCRIBE', 'everyone']), 1)));
      const pumps = subs.map(async (s, i) => {
        for (let k = 0; k < ports.length; k++) {
          const [raw] = await s.writeRaw(Buffer.alloc(0), 1);
          got[i]!.push(String(parseReply(raw!).node.items![2]!.value));
        }
      });
      for (const p of ports) {
        const pub = await RawRespClient.connect(p);
        try {
          expect((await pub.call(['PUBLISH', 'everyone', `from-${p}`])).toString()).to.equal(':1\r\n');
        } finally {
          pub.close();
        }
      }
      await waitFor('every subscriber to get all six messages', () => got.every((g) => g.length === ports.length), { timeoutMs: 20_000 });
      await Promise.all(pumps);
      const expected = ports.map((p) => `from-${p}`).sort();
      for (const g of got) expect([...g].sort()).to.deep.equal(expected);
    } finally {
      for (const s of subs) s.close();
    }
  });

  it('ioredis Cluster ssubscribe gets SPUBLISHes of channels in every shard', async () => {
    const seed = await cluster.seedPort();
    const client = new Cluster([{ host: '127.0.0.1', port: seed }], { shardedSubscribers: true });
    client.on('error', () => {});
    try {
      // One channel in each third of the slot space, i.e. in each shard.
      const channels = [0, 1, 2].map((third) => {
        for (let i = 0; ; i++) {
          const s = keySlot(`shard-ch:${i}`);
          if (Math.floor(s / (16384 / 3)) === third) return `shard-ch:${i}`;
        }
      });
      const got: string[] = [];
      client.on('smessage', (ch: string, msg: string) => got.push(`${ch}=${msg}`));
      for (const ch of channels) await client.ssubscribe(ch);
      for (const ch of channels) expect(await client.spublish(ch, `to-${ch}`)).to.equal(1);
      await waitFor('the three smessages', () => got.length >= 3);
      expect(got.sort()).to.deep.equal(channels.map((ch) => `${ch}=to-${ch}`).sort());
    } finally {
      client.disconnect();
    }
  });
});
