/**
 * Pub/Sub across a real cluster (2 shards, each a primary and a replica,
 * separate processes): PUBLISH on any node reaches subscribers on every
 * node over the cluster bus; SSUBSCRIBE/SPUBLISH are routed by the
 * channel's slot (MOVED elsewhere, served by the shard's replica too) and
 * reach the shard's primary and replica; ioredis Cluster's sharded
 * subscriber gets smessages; when a live migration moves the channel's slot,
 * the old shard's subscribers get `sunsubscribe` and ioredis resubscribes at
 * the new owner.
 */
import { expect } from 'chai';
import { Cluster, Redis } from 'ioredis';
import { keySlot } from '../../common/slot.js';
import { TestCluster } from '../support/cluster-harness.js';
import type { ShardNode } from '../support/repl-shard.js';
import { RawRespClient, encodeCommand, parseReply } from '../support/resp-client.js';
import { waitFor } from '../support/wait.js';
import { migrationAdmin, pushMapFrom, waitForStage } from './migration-support.js';
import { RawBusPeer } from '../support/raw-bus.js';
import { CLUSTER_TOKEN, Shard, metric } from '../support/repl-shard.js';
import { encodePubSubMessage, encodePubSubOpen } from '../../node/pubsub/bus-frames.js';

/** A channel name whose slot lies in [from, to]. */
function channelInSlots(prefix: string, from: number, to: number): string {
  for (let i = 0; ; i++) {
    const s = keySlot(`${prefix}:${i}`);
    if (s >= from && s <= to) return `${prefix}:${i}`;
  }
}

function plainClient(n: ShardNode): Redis {
  const c = new Redis({ port: n.node.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  c.on('error', () => {});
  return c;
}

/** The decoded pushes a raw subscriber has received, as arrays of strings. */
class PushCollector {
  readonly pushes: string[][] = [];
  private constructor(readonly client: RawRespClient) {}

  static async subscribe(port: number, argv: string[], confirmations: number): Promise<PushCollector> {
    const c = new PushCollector(await RawRespClient.connect(port));
    const replies = await c.client.writeRaw(encodeCommand(argv), confirmations);
    for (const r of replies) {
      const node = parseReply(r).node;
      if (node.type === '-') throw new Error(`${argv.join(' ')}: ${String(node.value)}`);
    }
    void c.pump();
    return c;
  }

  private async pump(): Promise<void> {
    for (;;) {
      const [raw] = await this.client.writeRaw(Buffer.alloc(0), 1).catch(() => [null]);
      if (raw === null || raw === undefined) return;
      this.pushes.push((parseReply(raw).node.items ?? []).map((i) => String(i.value)));
    }
  }

  close(): void {
    this.client.close();
  }
}

describe('Pub/Sub in a 2-shard cluster', function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  const open: Array<{ close(): void } | { disconnect(): void }> = [];

  before(async () => {
    cluster = await TestCluster.start({ shards: 2, replicas: 1 });
  });
  afterEach(() => {
    for (const c of open.splice(0)) {
      if ('close' in c) c.close();
      else c.disconnect();
    }
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a PUBLISH on any node reaches the subscribers of every node', async () => {
    const nodes = cluster.nodes;
    const subs = await Promise.all(nodes.map((n) => PushCollector.subscribe(n.node.port, ['SUBSCRIBE', 'global'], 1)));
    open.push(...subs);
    for (const n of nodes) {
      const pub = plainClient(n);
      open.push(pub);
      // Redis Cluster counts the receivers on the publishing node only.
      expect(await pub.publish('global', `from-${n.name}`)).to.equal(1);
    }
    const expected = nodes.map((n) => `from-${n.name}`).sort();
    await waitFor('every subscriber to get every node\'s message', () => subs.every((s) => s.pushes.length >= nodes.length), { timeoutMs: 20_000 });
    for (const [i, s] of subs.entries()) {
      expect(s.pushes.map((p) => p[2]).sort(), `subscriber on ${nodes[i]!.name}`).to.deep.equal(expected);
      expect(s.pushes.every((p) => p[0] === 'message' && p[1] === 'global')).to.equal(true);
    }
  });

  it('the bus takes forwarded messages only from peers that proved the cluster secret', async () => {
    const target = cluster.shards[0]!.primary;
    const sub = await PushCollector.subscribe(target.node.port, ['SUBSCRIBE', 'guarded'], 1);
    open.push(sub);
    const inject = (peer: RawBusPeer, text: string): void => {
      peer.socket.write(encodePubSubOpen('intruder'));
      peer.socket.write(encodePubSubMessage({ kind: 'publish', channel: Buffer.from('guarded'), message: Buffer.from(text) }));
    };
    const intruder = await RawBusPeer.connect(target.node.busPort);
    open.push(intruder);
    inject(intruder, 'no-handshake');
    await intruder.waitClosed();
    const forger = await RawBusPeer.connect(target.node.busPort);
    open.push(forger);
    await forger.forgeProof('intruder');
    inject(forger, 'forged-proof');
    await forger.waitClosed();
    const peer = await RawBusPeer.connect(target.node.busPort);
    open.push(peer);
    await peer.authenticate(CLUSTER_TOKEN, 'friend');
    inject(peer, 'authenticated');
    await waitFor('the authenticated peer\'s message', () => sub.pushes.length >= 1);
    expect(sub.pushes).to.deep.equal([['message', 'guarded', 'authenticated']]);
  });

  it('sharded channels: routed by slot, served by the shard\'s replica too, SPUBLISH reaches primary and replica', async () => {
    const ch = channelInSlots('orders', 0, 8191);
    const [s0, s1] = cluster.shards;
    const onPrimary = await PushCollector.subscribe(s0!.primary.node.port, ['SSUBSCRIBE', ch], 1);
    const onReplica = await PushCollector.subscribe(s0!.replicas[0]!.node.port, ['SSUBSCRIBE', ch], 1);
    open.push(onPrimary, onReplica);
    const other = await RawRespClient.connect(s1!.primary.node.port);
    open.push(other);
    expect((await other.call(['SSUBSCRIBE', ch])).toString()).to.match(new RegExp(`^-MOVED ${keySlot(ch)} 127\\.0\\.0\\.1:${s0!.primary.node.port}\\r\\n$`));
    expect((await other.call(['SPUBLISH', ch, 'x'])).toString()).to.match(/^-MOVED /);
    expect((await other.call(['SSUBSCRIBE', ch, channelInSlots('x', 9000, 16383)])).toString()).to.match(/^-CROSSSLOT/);
    const viaReplica = await RawRespClient.connect(s0!.replicas[0]!.node.port);
    open.push(viaReplica);
    expect((await viaReplica.call(['SPUBLISH', ch, 'from-replica'])).toString()).to.equal(':1\r\n');
    const pub = plainClient(s0!.primary);
    open.push(pub);
    expect(await pub.call('SPUBLISH', ch, 'from-primary')).to.equal(1);
    await waitFor('both shard subscribers to get both messages', () => onPrimary.pushes.length >= 2 && onReplica.pushes.length >= 2, { timeoutMs: 20_000 });
    for (const s of [onPrimary, onReplica]) {
      expect(s.pushes.map((p) => p.join(' ')).sort()).to.deep.equal([`smessage ${ch} from-primary`, `smessage ${ch} from-replica`]);
    }
    expect(await pub.pubsub('SHARDNUMSUB', ch)).to.deep.equal([ch, 1]);
  });

  it('a sharded channel follows its migrated slot: sunsubscribe at the old shard, ioredis resubscribes at the new owner', async () => {
    const ch = channelInSlots('moving', 0, 8191);
    const slot = keySlot(ch);
    const [s0, s1] = cluster.shards;
    const raw = await PushCollector.subscribe(s0!.primary.node.port, ['SSUBSCRIBE', ch], 1);
    const rawReplica = await PushCollector.subscribe(s0!.replicas[0]!.node.port, ['SSUBSCRIBE', ch], 1);
    open.push(raw, rawReplica);
    const client = new Cluster([{ host: '127.0.0.1', port: s0!.primary.node.port }], { shardedSubscribers: true, slotsRefreshInterval: 1000 });
    client.on('error', () => {});
    open.push(client);
    const got: string[] = [];
    client.on('smessage', (c: string, m: string) => got.push(`${c} ${m}`));
    await client.ssubscribe(ch);
    // Receivers on the node that ran it: the raw subscriber and ioredis's sharded subscriber, both on the primary.
    expect(await client.spublish(ch, 'before')).to.equal(2);
    await waitFor('the ioredis sharded subscriber to get the first message', () => got.includes(`${ch} before`));

    const admin = migrationAdmin(s0!.primary);
    await admin.start('pubsub-move', [[slot, slot]], 'shard-1');
    await waitForStage(admin, 'pubsub-move', 'done');
    await pushMapFrom(cluster, s0!.primary);

    const sunsub = [['sunsubscribe', ch, '0']];
    await waitFor('sunsubscribe at the old primary and its replica', () => raw.pushes.length >= 1 && rawReplica.pushes.length >= 1);
    expect(raw.pushes.slice(-1)).to.deep.equal(sunsub);
    expect(rawReplica.pushes.slice(-1)).to.deep.equal(sunsub);

    const newOwner = plainClient(s1!.primary);
    open.push(newOwner);
    let n = 0;
    await waitFor('ioredis to resubscribe at the new owner and get its messages', async () => {
      await newOwner.call('SPUBLISH', ch, `after-${n++}`);
      return got.some((g) => g.startsWith(`${ch} after-`));
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(await newOwner.pubsub('SHARDNUMSUB', ch)).to.deep.equal([ch, 1]);
    const oldOwner = plainClient(s0!.primary);
    open.push(oldOwner);
    expect(await oldOwner.pubsub('SHARDNUMSUB', ch)).to.deep.equal([ch, 0]);
  });

  it('a SIGSTOPped peer neither blocks PUBLISH nor grows the publisher\'s memory; after SIGCONT it gets new messages', async () => {
    const publisher = cluster.shards[0]!.primary;
    const victim = cluster.shards[1]!.primary;
    const sub = await PushCollector.subscribe(victim.node.port, ['SUBSCRIBE', 'through-a-stop'], 1);
    open.push(sub);
    const pub = await RawRespClient.connect(publisher.node.port);
    open.push(pub);
    const rss = async (): Promise<number> => Number(/used_memory_rss:(\d+)/.exec((await pub.call(['INFO', 'memory'])).toString())![1]);
    const big = Buffer.alloc(64 * 1024, 0x62);
    const dropsBefore = await metric(publisher.node, 'irisdb_pubsub_forward_dropped_total');
    const rssBefore = await rss();
    victim.node.pause();
    try {
      // 256 MiB towards a peer that reads nothing: 32 times the per-peer backlog. Kept, it would grow RSS by all of that;
      // bounded, growth is the backlog plus garbage not yet collected (up to ~53 MiB seen with 32 MiB sent), well under half.
      for (let i = 0; i < 4096; i++) expect((await pub.call(['PUBLISH', 'through-a-stop', big])).toString()).to.equal(':0\r\n');
      expect(await metric(publisher.node, 'irisdb_pubsub_forward_dropped_total') - dropsBefore, 'messages dropped for the stopped peer').to.be.greaterThan(0);
      expect(await rss() - rssBefore, 'publisher RSS growth').to.be.lessThan(128 * 1024 * 1024);
    } finally {
      victim.node.resume();
    }
    let n = 0;
    await waitFor('the resumed node\'s subscriber to get a message sent after SIGCONT', async () => {
      await pub.call(['PUBLISH', 'through-a-stop', `after-${n++}`]);
      return sub.pushes.some((p) => p[2]!.startsWith('after-'));
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(sub.pushes.length, 'at most what was sent').to.be.at.most(512 + n);
  });
});

describe('Pub/Sub on a primary and its replica without a cluster map', function () {
  this.timeout(120_000);
  let shard: Shard;
  before(async () => {
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1 });
  });
  after(async () => {
    await shard?.stop();
  });

  it('PUBLISH and SPUBLISH on the primary reach the replica\'s subscribers, as Redis replicates them', async () => {
    const onReplica = await PushCollector.subscribe(shard.replicas[0]!.node.port, ['SUBSCRIBE', 'news'], 1);
    const sharded = await PushCollector.subscribe(shard.replicas[0]!.node.port, ['SSUBSCRIBE', 'orders'], 1);
    const pub = plainClient(shard.primary);
    try {
      expect(await pub.publish('news', 'n1')).to.equal(0);
      expect(await pub.call('SPUBLISH', 'orders', 'o1')).to.equal(0);
      await waitFor('the replica\'s subscribers to get both', () => onReplica.pushes.length >= 1 && sharded.pushes.length >= 1, { timeoutMs: 20_000 });
      expect(onReplica.pushes).to.deep.equal([['message', 'news', 'n1']]);
      expect(sharded.pushes).to.deep.equal([['smessage', 'orders', 'o1']]);
    } finally {
      onReplica.close();
      sharded.close();
      pub.disconnect();
    }
  });
});
