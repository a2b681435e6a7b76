/**
 * Read consistency over RESP with a stock client (ioredis) on a real local
 * cluster (1 shard, a primary and 2 replicas): IRIS.CONSISTENCY sets and
 * reports the connection's level, `eventual` reads on a replica as READONLY,
 * and a primary paused (SIGSTOP) past failure detection, replaced and resumed
 * never answers a strong GET with its stale value (TRYAGAIN, or MOVED once
 * it knows it was demoted), while a default GET there may.
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

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    return `value:${String(await p)}`;
  } catch (err) {
    return `error:${(err as Error).message}`;
  }
}

describe('read consistency over RESP: IRIS.CONSISTENCY (local cluster, 1 shard × 2 replicas)', function () {
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

  it('sets and reports the level; strong reads on the primary, eventual reads on a replica', async () => {
    const { primary, replicas } = await nodes();
    const p = connect(primary);
    const r = connect(replicas[0]!);
    clients.push(p, r);
    expect(await p.call('IRIS.CONSISTENCY')).to.equal('default');
    expect(await p.set('resp-k', 'v1')).to.equal('OK');
    expect(await p.call('IRIS.CONSISTENCY', 'strong')).to.equal('OK');
    expect(await p.call('IRIS.CONSISTENCY')).to.equal('strong');
    expect(await p.get('resp-k')).to.equal('v1');
    expect(await p.get('resp-none')).to.equal(null);
    expect(await p.set('resp-k', 'v2')).to.equal('OK'); // writes are unchanged
    expect(await outcome(p.call('IRIS.CONSISTENCY', 'linearizable'))).to.equal('error:ERR consistency must be one of strong, default, eventual');
    // A replica: MOVED by default, served locally at eventual.
    expect(await outcome(r.get('resp-k'))).to.match(/^error:MOVED \d+ /);
    expect(await r.call('IRIS.CONSISTENCY', 'eventual')).to.equal('OK');
    await waitFor('the replica to serve v2', async () => (await r.get('resp-k')) === 'v2', { timeoutMs: 10_000 });
    expect(await r.call('IRIS.CONSISTENCY', 'default')).to.equal('OK');
    expect(await outcome(r.get('resp-k'))).to.match(/^error:MOVED/);
  });

  it('never answers a strong GET with a stale value from a primary paused, replaced and resumed', async () => {
    const { primary: old } = await nodes();
    const strong = connect(old);
    const dflt = connect(old);
    clients.push(strong, dflt);
    expect(await strong.set('resp-paused', 'before')).to.equal('OK');
    expect(await strong.call('IRIS.CONSISTENCY', 'strong')).to.equal('OK');
    expect(await dflt.get('resp-paused')).to.equal('before');
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
      await waitFor('the new primary to take the write', async () => (await w.set('resp-paused', 'after').catch(() => null)) === 'OK', { timeoutMs: 60_000, intervalMs: 100 });
      // Sent while it is paused: the kernel queues them, the node reads them first thing on SIGCONT.
      const sp = outcome(strong.get('resp-paused'));
      const dp = outcome(dflt.get('resp-paused'));
      await new Promise((r) => setImmediate(r));
      process.kill(pid, 'SIGCONT');
      [s, d] = await Promise.all([sp, dp]);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(s).to.not.equal('value:before');
    expect(s).to.match(/^(error:TRYAGAIN strong read not confirmed|error:MOVED|value:after)/);
    console.log(`      deposed primary over RESP: strong GET ${s}; default GET ${d}`);
  });
});
