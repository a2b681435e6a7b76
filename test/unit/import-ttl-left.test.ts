/**
 * irisctl import's writes (operator/import/bulk-writer.ts, issue #19): a key
 * keeps the TTL it had at the source when it was read, however long its
 * write took — a bulk body that failed and went as SETs, SETs retried through
 * a failover — instead of starting the source's PTTL again at each attempt.
 * The cluster here is a stand-in that refuses as ioredis does mid-failover;
 * the clock is injected so the time spent retrying is exact.
 */
import { expect } from 'chai';
import type { Cluster } from 'ioredis';
import { BulkWriter } from '../../operator/import/bulk-writer.js';
import { decodeRows } from '../../node/replication/row-codec.js';
import type { FetchLike } from '../../common/node-fetch.js';

interface Sent { key: string; args: unknown[] }

function cluster(owner: string | null, refuseFirst: number, onRefuse: () => void): { cluster: Cluster; sets: Sent[] } {
  const sets: Sent[] = [];
  let refusals = 0;
  const c = {
    slots: owner === null ? [] : Array.from({ length: 16384 }, () => [owner]),
    refreshSlotsCache: (): void => undefined,
    async set(key: Buffer, _value: Buffer, ...args: unknown[]): Promise<'OK'> {
      sets.push({ key: key.toString(), args });
      if (refusals++ < refuseFirst) {
        onRefuse();
        throw new Error('MOVED 866 127.0.0.1:7001');
      }
      return 'OK';
    },
  };
  return { cluster: c as unknown as Cluster, sets };
}

describe('import TTLs count from when the key was read', () => {
  it('a SET retried through a failover sends the TTL left, not the source PTTL again', async () => {
    let now = 1_000;
    const { cluster: c, sets } = cluster(null, 2, () => { now += 20_000; });
    const w = new BulkWriter(c, new Map(), undefined, null, () => now);
    await w.write([{ key: Buffer.from('k'), value: Buffer.from('v'), pttl: 60_000 }, { key: Buffer.from('p'), value: Buffer.from('v'), pttl: -1 }]);
    const k = sets.filter((s) => s.key === 'k').map((s) => s.args);
    const p = sets.filter((s) => s.key === 'p').map((s) => s.args);
    // 'k' and 'p' were sent at once; the two refusals (k's first, p's first) took 40 s.
    expect(k[0]).to.deep.equal(['PX', 60_000]);
    expect(k.at(-1)).to.deep.equal(['PX', 20_000]);
    expect(p.every((a) => a.length === 0)).to.equal(true);
    expect(w.counts.set).to.equal(2);
  });

  it('a key whose TTL ran out while retried gets 1 ms, not its whole PTTL again', async () => {
    let now = 0;
    const { cluster: c, sets } = cluster(null, 1, () => { now += 5_000; });
    await new BulkWriter(c, new Map(), undefined, null, () => now).write([{ key: Buffer.from('k'), value: Buffer.from('v'), pttl: 3_000 }]);
    expect(sets.map((s) => s.args)).to.deep.equal([['PX', 3_000], ['PX', 1]]);
  });

  it('a bulk body carries the TTL relative to its sending; its SET fallback the TTL left after the failed request', async () => {
    let now = 0;
    const bodies: Buffer[] = [];
    const fetchImpl: FetchLike = async (_url, init) => {
      bodies.push(Buffer.from(init!.body as Uint8Array));
      now += 7_000; // the request took 7 s and failed
      return new Response('failing over', { status: 503 });
    };
    const { cluster: c, sets } = cluster('127.0.0.1:7000', 0, () => undefined);
    const w = new BulkWriter(c, new Map([['127.0.0.1:7000', 'http://127.0.0.1:1']]), fetchImpl, null, () => now);
    await w.write([{ key: Buffer.from('k'), value: Buffer.from('v'), pttl: 10_000 }]);
    expect(decodeRows(bodies[0]!).map((r) => r.expiresAt)).to.deep.equal([10_000]);
    expect(sets.map((s) => s.args)).to.deep.equal([['PX', 3_000]]);
    expect(w.counts).to.deep.equal({ bulk: 0, set: 1, refused: 0 });
  });
});
