/**
 * The TypeScript client (clients/ts) against a real local cluster (3 shards
 * × 2 replicas, `irisctl local up`):
 * - kill -9 of a primary under a write load through IrisClient (RESP) and
 *   IrisHttpClient: every acknowledged write is readable afterwards, writes
 *   resume after the failover, the RESP breaker opens on the dead node and
 *   closes once the platform has restarted it;
 * - SIGSTOP of a primary: the client notices the silent node (per-attempt
 *   timeouts, breaker, slot-map refresh from the other nodes) and writes to
 *   the paused shard's slots are acknowledged by the new primary while the
 *   old one is still stopped; nothing acknowledged is lost after SIGCONT.
 * Plus the HTTP client's typed calls (CAS, batch, scan, consistency levels).
 */
import fs from 'node:fs';
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { IrisClient, IrisHttpClient, IrisServerError, type BreakerState } from '../../clients/ts/src/index.js';
import { keySlot } from '../../common/slot.js';
import { LocalCluster } from '../support/local-cluster.js';
import { waitFor } from '../support/wait.js';

/** The process is stopped (SIGSTOP): state T in /proc/PID/stat. */
function isStopped(pid: number): boolean {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

/** Writers of unique keys through a client; remembers every acknowledged write with when it was acknowledged. */
class Writers {
  readonly acked = new Map<string, { value: string; at: number }>();
  readonly errors: string[] = [];
  private stopped = false;
  private readonly running: Promise<void>[] = [];

  constructor(prefix: string, workers: number, write: (key: string, value: string) => Promise<void>) {
    const deadline = Date.now() + 180_000;
    for (let w = 0; w < workers; w++) {
      this.running.push((async () => {
        for (let seq = 0; seq < 200_000 && !this.stopped && Date.now() < deadline; seq++) {
          const key = `${prefix}:${w}:${seq}`;
          const value = `v${w}.${seq}`;
          try {
            await write(key, value);
            this.acked.set(key, { value, at: Date.now() });
          } catch (err) {
            if (this.errors.length < 200) this.errors.push(`${key}: ${(err as Error).message.slice(0, 200)}`);
            await new Promise((r) => setTimeout(r, 10)); // an error-pacing pause in the load, not synchronisation
          }
        }
      })());
    }
  }

  get count(): number {
    return this.acked.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }
}

async function expectAllAckedPresent(seed: number, acked: Map<string, { value: string }>): Promise<void> {
  const c = new Cluster([{ host: '127.0.0.1', port: seed }], { enableAutoPipelining: true, redisOptions: { enableReadyCheck: false } });
  try {
    const keys = [...acked.keys()];
    const missing: string[] = [];
    for (let i = 0; i < keys.length; i += 2000) {
      const chunk = keys.slice(i, i + 2000);
      const got = await Promise.all(chunk.map((k) => c.get(k)));
      chunk.forEach((k, j) => {
        if (got[j] !== acked.get(k)!.value) missing.push(`${k}: ${String(got[j])}`);
      });
    }
    expect(missing.slice(0, 10), `${missing.length} of ${keys.length} acknowledged writes not readable`).to.deep.equal([]);
    expect(keys.length).to.be.greaterThan(0);
  } finally {
    c.disconnect();
  }
}

describe('TypeScript client against a local cluster (3 × 2)', function () {
  this.timeout(300_000);
  let cluster: LocalCluster;
  let seeds: Array<{ host: string; port: number }>;
  let urls: string[];

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 2 });
    const st = await cluster.status();
    const nodes = st.shards.flatMap((s) => s.nodes);
    seeds = nodes.map((n) => ({ host: '127.0.0.1', port: n.port! }));
    urls = nodes.map((n) => n.httpUrl!);
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('HTTP client: put/get with versions, compare-and-set, batch, scan, consistency levels, typed errors, the change feed', async () => {
    const http = new IrisHttpClient({ urls });
    const put = await http.put('ts:http:a', 'one', { ttlMs: 60_000 });
    const got = await http.get('ts:http:a');
    expect(got!.value.toString()).to.equal('one');
    expect(got!.version).to.equal(put.version);
    expect(got!.expiresAt).to.be.a('number');
    const err = await http.put('ts:http:a', 'two', { ifVersion: put.version + 1000 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(IrisServerError);
    expect((err as IrisServerError).status).to.equal(412);
    expect((err as IrisServerError).outcome).to.equal('applied-error');
    await http.put('ts:http:a', 'two', { ifVersion: put.version });
    expect((await http.get('ts:http:a', { consistency: 'strong' }))!.value.toString()).to.equal('two');
    const eventual = await waitFor('a replica to serve the eventual read', async () => {
      const r = await http.get('ts:http:a', { consistency: 'eventual' });
      return r !== null && r.value.toString() === 'two' ? r : null;
    });
    expect(eventual.servedBy).to.be.oneOf(['replica', 'primary', null]);
    expect(await http.get('ts:http:nope')).to.equal(null);
    const bin = Buffer.from([0, 255, 13, 10]);
    const results = await http.batch([{ op: 'put', key: '{b}1', value: bin }, { op: 'get', key: '{b}1' }, { op: 'delete', key: '{b}2' }]);
    expect(results[0]!.op).to.equal('put');
    expect(results[1]).to.include({ op: 'get', found: true });
    expect(Buffer.compare((results[1] as { value: Buffer }).value, bin)).to.equal(0);
    expect(results[2]).to.deep.equal({ op: 'delete', deleted: false });
    for (let i = 0; i < 30; i++) await http.put(`ts:scan:${i}`, String(i));
    const scanned: string[] = [];
    for await (const it of http.scan({ prefix: 'ts:scan:', limit: 7 })) scanned.push(it.key.toString());
    expect(scanned.sort()).to.deep.equal(Array.from({ length: 30 }, (_, i) => `ts:scan:${i}`).sort());
    expect(await http.delete('ts:http:a')).to.equal(true);

    // The change feed through the same client: shard-0's changes, from now on.
    const ctl = new AbortController();
    const seen: string[] = [];
    const following = http.followChanges({ shard: 'shard-0', from: 'now', signal: ctl.signal, onChange: (ev) => { if (ev.key !== undefined) seen.push(ev.key); } });
    let i = 0;
    await waitFor('a change of shard-0 through followChanges', async () => {
      await http.put(`ts:feed:${i++}`, 'x');
      return seen.some((k) => k.startsWith('ts:feed:'));
    }, { timeoutMs: 30_000, intervalMs: 50 });
    ctl.abort();
    expect(await following).to.not.equal(null);
  });

  it('RESP client: typed commands, replica reads, abort', async () => {
    const c = new IrisClient({ nodes: seeds });
    try {
      expect(await c.set('ts:r:a', 'x', { ttlMs: 60_000 })).to.equal(true);
      expect(await c.set('ts:r:a', 'y', { nx: true })).to.equal(false);
      expect(await c.get('ts:r:a')).to.equal('x');
      expect(await c.pttl('ts:r:a')).to.be.within(1, 60_000);
      expect(await c.incrBy('ts:r:n', 5)).to.equal(5);
      const wrong = await c.incrBy('ts:r:a', 1).catch((e: unknown) => e);
      expect(wrong).to.be.instanceOf(IrisServerError);
      expect((wrong as IrisServerError).attempts).to.equal(1);
      await waitFor('a replica read to see the write', async () => (await c.get('ts:r:a', { consistency: 'eventual' })) === 'x');
      const ctl = new AbortController();
      ctl.abort();
      const aborted = await c.get('ts:r:a', { signal: ctl.signal }).catch((e: unknown) => e);
      expect((aborted as Error).name).to.equal('IrisAbortError');
      expect(await c.del(['ts:r:a'])).to.equal(1);
    } finally {
      await c.close();
    }
  });

  it('kill -9 of a primary: writes resume, nothing acknowledged is lost, the breaker opens on the dead node and closes when it is back', async () => {
    const changes: Array<{ node: string; to: BreakerState }> = [];
    const c = new IrisClient({ nodes: seeds, commandTimeoutMs: 1000, metrics: { onBreakerStateChange: (e) => changes.push({ node: e.node, to: e.to }) } });
    const http = new IrisHttpClient({ urls });
    const resp = new Writers('ts:kill:r', 4, async (k, v) => {
      if (!(await c.set(k, v))) throw new Error('SET not OK');
    });
    const viaHttp = new Writers('ts:kill:h', 2, async (k, v) => {
      await http.put(k, v);
    });
    try {
      await waitFor('the load to get going', () => resp.count >= 200 && viaHttp.count >= 50, { timeoutMs: 60_000 });
      const victim = await cluster.shard('shard-1');
      const node = await cluster.node(victim.primary!);
      const addr = `127.0.0.1:${node.port}`;
      process.kill(await cluster.pidOf(victim.primary!), 'SIGKILL');
      await waitFor('shard-1 to promote a replica', async () => (await cluster.shard('shard-1')).primary !== victim.primary, { timeoutMs: 30_000, intervalMs: 50 });
      const [r0, h0] = [resp.count, viaHttp.count];
      await waitFor('writes to resume through both clients', () => resp.count >= r0 + 300 && viaHttp.count >= h0 + 50, { timeoutMs: 30_000 });
      await waitFor(`the breaker of ${addr} to open`, () => changes.some((x) => x.node === addr && x.to === 'open'), { timeoutMs: 30_000 });
      await waitFor(`${victim.primary} to be back`, async () => (await cluster.node(victim.primary!)).up, { timeoutMs: 60_000, intervalMs: 100 });
      await waitFor(`the breaker of ${addr} to close again`, () => c.breakerStates()[addr] === 'closed', { timeoutMs: 30_000 });
    } finally {
      await resp.stop();
      await viaHttp.stop();
      await c.close();
    }
    await expectAllAckedPresent(seeds[0]!.port, resp.acked);
    await expectAllAckedPresent(seeds[0]!.port, viaHttp.acked);
    await cluster.waitReady(60_000);
  });

  it('SIGSTOP of a primary: writes to its slots are acknowledged by the new primary while it is still stopped; nothing acknowledged is lost', async () => {
    const c = new IrisClient({ nodes: (await cluster.seedPorts()).map((port) => ({ host: '127.0.0.1', port })), commandTimeoutMs: 500 });
    const victim = await cluster.shard('shard-2');
    const pausedAddr = `127.0.0.1:${(await cluster.node(victim.primary!)).port}`;
    const writers = new Writers('ts:stop', 6, async (k, v) => {
      if (!(await c.set(k, v))) throw new Error('SET not OK');
    });
    // The paused shard's slots, from the client's map before the pause.
    const pausedSlots = (): Set<number> => new Set(c.raw.slots.flatMap((owners, slot) => (owners?.[0] === pausedAddr ? [slot] : [])));
    const pid = await cluster.pidOf(victim.primary!);
    try {
      await waitFor('the load to get going', () => writers.count >= 300, { timeoutMs: 60_000 });
      const slots = pausedSlots();
      expect(slots.size).to.be.greaterThan(1000);
      process.kill(pid, 'SIGSTOP');
      try {
        await waitFor('shard-2 to promote a replica in place of the paused primary', async () => (await cluster.shard('shard-2')).primary !== victim.primary, { timeoutMs: 30_000, intervalMs: 50 });
        const failedOverAt = Date.now();
        // Behaviour, not timing: an acknowledgement for the paused shard's slots while its old primary is still stopped.
        const resumed = await waitFor('a write to the paused shard acknowledged by its new primary', () => {
          const later = [...writers.acked].filter(([k, ack]) => ack.at > failedOverAt && slots.has(keySlot(k)));
          return later.length > 0 ? later : null;
        }, { timeoutMs: 30_000, intervalMs: 50 });
        expect(isStopped(pid), 'the old primary is still stopped').to.equal(true);
        expect(resumed.length).to.be.greaterThan(0);
        expect(c.breakerStates()[pausedAddr]).to.be.oneOf(['open', 'half-open']);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    } finally {
      await writers.stop();
      await c.close();
    }
    await cluster.waitReady(60_000);
    await expectAllAckedPresent(seeds[0]!.port, writers.acked);
  });
});
