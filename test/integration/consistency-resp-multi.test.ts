/**
 * Strong reads inside MULTI/EXEC (issue #13) with a stock client (ioredis)
 * on a real local cluster (1 shard, a primary and 2 replicas): at
 * IRIS.CONSISTENCY strong a transaction that reads keys is answered after one
 * confirmation round, so a primary paused (SIGSTOP) past failure detection,
 * replaced and resumed never answers EXEC with the stale value it holds
 * (TRYAGAIN, or MOVED/EXECABORT once it knows it was demoted), while a
 * default-level transaction there may.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import type { NodeView } from '../../operator/core/observation.js';
import { LocalCluster } from '../support/local-cluster.js';
import { waitFor } from '../support/wait.js';

function connect(node: NodeView): Redis {
  const r = new Redis({ host: node.host!, port: node.port!, maxRetriesPerRequest: 0, enableOfflineQueue: true, lazyConnect: false });
  r.on('error', () => {});
  return r;
}

/** EXEC's outcome as text: "value:[...]" with each reply (or its error), or "error:..." for a failed EXEC. */
async function execOutcome(client: Redis, key: string): Promise<string> {
  try {
    const res = await client.multi().get(key).exec();
    if (res === null) return 'value:null';
    return `value:${JSON.stringify(res.map(([err, v]) => (err !== null ? `error:${err.message}` : v)))}`;
  } catch (err) {
    return `error:${(err as Error).message}`;
  }
}

describe('strong reads inside MULTI/EXEC (local cluster, 1 shard × 2 replicas)', function () {
  this.timeout(300_000);
  let cluster: LocalCluster;
  const clients: Redis[] = [];

  before(async () => {
    cluster = await LocalCluster.start({ shards: 1, replicas: 2 });
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.destroy();
  });

  async function nodes(): Promise<{ primary: NodeView; replicas: NodeView[] }> {
    const s = await cluster.shard('shard-0');
    return { primary: s.nodes.find((n) => n.name === s.primary)!, replicas: s.nodes.filter((n) => n.name !== s.primary) };
  }

  it('answers a strong transaction on a confirmed primary, reads and writes together', async () => {
    const { primary } = await nodes();
    const c = connect(primary);
    clients.push(c);
    expect(await c.call('IRIS.CONSISTENCY', 'strong')).to.equal('OK');
    const res = await c.multi().set('{m}a', '1').get('{m}a').incr('{m}n').get('{m}missing').exec();
    expect(res).to.deep.equal([[null, 'OK'], [null, '1'], [null, 1], [null, null]]);
    expect(await execOutcome(c, '{m}a')).to.equal('value:["1"]');
  });

  it('never answers a strong EXEC with a stale value from a primary paused, replaced and resumed', async () => {
    const { primary: old } = await nodes();
    const strong = connect(old);
    const dflt = connect(old);
    clients.push(strong, dflt);
    expect(await strong.set('multi-paused', 'before')).to.equal('OK');
    expect(await strong.call('IRIS.CONSISTENCY', 'strong')).to.equal('OK');
    expect(await execOutcome(strong, 'multi-paused')).to.equal('value:["before"]');
    expect(await execOutcome(dflt, 'multi-paused')).to.equal('value:["before"]');
    const pid = await cluster.pidOf(old.name);
    let s: string;
    let d: string;
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(`a replica to replace the paused ${old.name}`, async () => {
        const sh = await cluster.shard('shard-0');
        return sh.primary !== old.name && sh.failover === null;
      }, { timeoutMs: 60_000, intervalMs: 50 });
      const { primary: next } = await nodes();
      const w = connect(next);
      clients.push(w);
      await waitFor('the new primary to take the write', async () => (await w.set('multi-paused', 'after').catch(() => null)) === 'OK', { timeoutMs: 60_000, intervalMs: 100 });
      // Sent while it is paused: the kernel queues them, the node reads them first thing on SIGCONT.
      const sp = execOutcome(strong, 'multi-paused');
      const dp = execOutcome(dflt, 'multi-paused');
      await new Promise((r) => setImmediate(r));
      process.kill(pid, 'SIGCONT');
      [s, d] = await Promise.all([sp, dp]);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(s).to.not.contain('before');
    expect(s).to.match(/^(error:.*TRYAGAIN strong read not confirmed|error:.*MOVED|error:.*EXECABORT|value:\["after"\])/);
    console.log(`      deposed primary over RESP: strong EXEC ${s}; default EXEC ${d}`);
  });
});
