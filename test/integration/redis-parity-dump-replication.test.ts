/**
 * RESTORE and BITFIELD are ordinary writes (issue #17): on a primary with a
 * replica and minSyncReplicas=1 they replicate like SET, TTL included, and
 * when the primary is killed (kill -9) while pipelines of them are in
 * flight, every write the primary acknowledged is on the replica.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { Shard, connectClient, connectReadonly } from '../support/repl-shard.js';
import { encodeDumpPayload } from '../../node/commands/rdb-string.js';

const PIPELINE = 25;
const MAX_PIPELINES = 60;
/** Pipelines acknowledged before the primary is killed (the rest are in flight or refused). */
const KILL_AFTER = 12;

/** A value that LZF compresses, unique per index. */
const valueFor = (i: number): Buffer => Buffer.from(`restored-${i}-`.repeat(8));

describe('RESTORE and BITFIELD through the write path (1 primary + 1 replica, minSyncReplicas=1)', function () {
  this.timeout(120_000);
  let shard: Shard | undefined;
  const conns: Redis[] = [];

  before(async () => {
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, ackTimeoutMs: 10_000, namePrefix: 'dumprepl-' });
  });
  after(async () => {
    for (const c of conns) c.disconnect();
    await shard?.stop();
  });

  async function track(p: Promise<Redis>): Promise<Redis> {
    const c = await p;
    conns.push(c);
    return c;
  }

  it('replicates RESTORE (value, TTL, REPLACE) and BITFIELD like SET', async () => {
    const primary = await track(connectClient(shard!.primary.node.port));
    const replica = await track(connectReadonly(shard!.replicas[0]!.node.port));
    expect(await primary.call('RESTORE', 'r:one', '100000', encodeDumpPayload(valueFor(1)))).to.equal('OK');
    expect(await primary.call('RESTORE', 'r:one', '0', encodeDumpPayload(Buffer.from('12345')), 'REPLACE')).to.equal('OK');
    expect(await primary.call('RESTORE', 'r:ttl', '100000', encodeDumpPayload(valueFor(2)))).to.equal('OK');
    expect(await primary.call('BITFIELD', 'r:bits', 'SET', 'u8', '8', '255', 'INCRBY', 'i5', '0', '3')).to.deep.equal([0, 3]);
    // minSyncReplicas=1: each reply above came after the replica acknowledged the write.
    expect(await replica.get('r:one')).to.equal('12345');
    expect(await replica.pttl('r:one')).to.equal(-1);
    expect((await replica.getBuffer('r:ttl'))!.equals(valueFor(2))).to.equal(true);
    expect(await replica.pttl('r:ttl')).to.be.within(1, 100_000);
    expect((await replica.getBuffer('r:bits'))!.equals(Buffer.from([0x18, 0xff]))).to.equal(true);
  });

  it('keeps every acknowledged RESTORE and BITFIELD on the replica when the primary is killed mid-load', async () => {
    const s = shard!;
    const primary = await track(connectClient(s.primary.node.port));
    const acked = new Map<string, Buffer>();
    let ackedPipelines = 0;
    let killed: Promise<void> | null = null;
    for (let p = 0; p < MAX_PIPELINES && killed === null; p++) {
      // Up to four pipelines in flight; the kill lands while some are unanswered.
      const batch = [0, 1, 2, 3].map(async (lane) => {
        const base = (p * 4 + lane) * PIPELINE;
        const pipe = primary.pipeline();
        for (let i = base; i < base + PIPELINE; i++) {
          if (i % 5 === 0) pipe.call('BITFIELD', `b:${i}`, 'SET', 'u16', '0', String(i % 65536));
          else pipe.call('RESTORE', `k:${i}`, '0', encodeDumpPayload(valueFor(i)), 'REPLACE');
        }
        const replies = await pipe.exec().catch(() => null);
        (replies ?? []).forEach(([err, reply], j) => {
          const i = base + j;
          if (err !== null) return;
          if (i % 5 === 0 && Array.isArray(reply)) acked.set(`b:${i}`, Buffer.from([(i % 65536) >> 8, i % 256]));
          else if (reply === 'OK') acked.set(`k:${i}`, valueFor(i));
        });
        if (replies !== null && replies.every(([err]) => err === null)) ackedPipelines++;
        if (ackedPipelines >= KILL_AFTER && killed === null) killed = s.primary.node.kill9();
      });
      await Promise.all(batch);
    }
    expect(killed, 'the primary was killed during the load').to.not.equal(null);
    await killed;
    expect(acked.size).to.be.at.least(KILL_AFTER * PIPELINE);
    const replica = await track(connectReadonly(s.replicas[0]!.node.port));
    const keys = [...acked.keys()];
    const values = await replica.mgetBuffer(...keys);
    const missing = keys.filter((k, i) => values[i] === null || !values[i]!.equals(acked.get(k)!));
    expect(missing, `acknowledged writes missing on the replica: ${missing.slice(0, 10).join(', ')}`).to.deep.equal([]);
  });
});
