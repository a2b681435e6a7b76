/**
 * Read consistency over RESP with a stock client (ioredis) on a real local
 * cluster (1 shard, a primary and 2 replicas): IRIS.CONSISTENCY sets and
 * reports the connection's level, `eventual` reads on a replica as READONLY,
 * and a primary paused (SIGSTOP) past failure detection, replaced and resumed
 * never answers a strong GET or a strong MULTI/EXEC with its stale value
 * (TRYAGAIN, or MOVED/EXECABORT once it knows it was demoted), while a
 * default-level read there may. A strong transaction that reads keys is
 * answered after one confirmation round.
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

  /**
   * Writes `key` = before on the current primary, pauses it past failure
   * detection, writes `key` = after on its replacement, then sends `read` on
   * a strong and a default connection to the paused node and resumes it:
   * returns what each answered.
   */
  async function readsFromDeposedPrimary(key: string, read: (c: Redis) => Promise<string>): Promise<{ strong: string; dflt: string }> {
    // After an earlier test's failover the controller refuses another until it has recorded that both
    // replicas hold every write the new primary acknowledged (core/sync-plan.ts): wait for that record.
    await waitFor('the record to guarantee every acknowledged write on a replica of shard-0', async () => {
      const sync = (await cluster.controllerState())?.shards.find((sh) => sh.id === 'shard-0')?.sync;
      return sync !== undefined && sync.target === null && sync.acks >= 1 && sync.replicas.length === 2;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    const { primary: old } = await nodes();
    const strong = connect(old);
    const dflt = connect(old);
    clients.push(strong, dflt);
    expect(await strong.set(key, 'before')).to.equal('OK');
    expect(await strong.call('IRIS.CONSISTENCY', 'strong')).to.equal('OK');
    expect(await read(strong)).to.contain('before');
    expect(await read(dflt)).to.contain('before');
    const pid = await cluster.pidOf(old.name);
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(`a replica to replace the paused ${old.name}`, async () => {
        const sh = await cluster.shard('shard-0');
        return sh.primary !== old.name && sh.failover === null;
      }, { timeoutMs: 60_000, intervalMs: 50 });
      const { primary: next } = await nodes();
      const w = connect(next);
      clients.push(w);
      await waitFor('the new primary to take the write', async () => (await w.set(key, 'after').catch(() => null)) === 'OK', { timeoutMs: 60_000, intervalMs: 100 });
      // Sent while it is paused: the kernel queues them, the node reads them first thing on SIGCONT.
      const sp = read(strong);
      const dp = read(dflt);
      await new Promise((r) => setImmediate(r));
      process.kill(pid, 'SIGCONT');
      const [s, d] = await Promise.all([sp, dp]);
      return { strong: s, dflt: d };
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }

  it('never answers a strong GET with a stale value from a primary paused, replaced and resumed', async () => {
    const { strong, dflt } = await readsFromDeposedPrimary('resp-paused', (c) => outcome(c.get('resp-paused')));
    expect(strong).to.not.equal('value:before');
    expect(strong).to.match(/^(error:TRYAGAIN strong read not confirmed|error:MOVED|value:after)/);
    console.log(`      deposed primary over RESP: strong GET ${strong}; default GET ${dflt}`);
  });

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
    const { strong, dflt } = await readsFromDeposedPrimary('multi-paused', (c) => execOutcome(c, 'multi-paused'));
    expect(strong).to.not.contain('before');
    expect(strong).to.match(/^(error:.*TRYAGAIN strong read not confirmed|error:.*MOVED|error:.*EXECABORT|value:\["after"\])/);
    console.log(`      deposed primary over RESP: strong EXEC ${strong}; default EXEC ${dflt}`);
  });
});
