/**
 * Network partitions (issue #13, docs/consistency.md): the nodes of a local
 * cluster (1 shard, a primary and 2 replicas, minSyncReplicas 1) run in Linux
 * network namespaces (test/support/netns.ts; needs root), the controller and
 * the test's clients in the root namespace on separate addresses. The
 * primary is cut from its replicas, from the controller, and from both,
 * under a recorded per-key register workload over HTTP checked with
 * Porcupine: writes, CAS and strong reads linearizable, eventual reads never
 * a value never written. For the full cut, the history also gives how long
 * after the cut the isolated primary acknowledged its last write (reported
 * for docs/consistency.md, never asserted on).
 */
import { expect } from 'chai';
import { checkHistory } from '../support/history-check.js';
import { nowNs, type History } from '../support/history.js';
import { HttpRegisterWorkload } from '../support/history-http.js';
import { LocalCluster } from '../support/local-cluster.js';
import { CLIENT_ADDRESS, CONTROLLER_ADDRESS, NetnsLab, netnsAvailable } from '../support/netns.js';
import { waitFor } from '../support/wait.js';

const keysFor = (name: string): string[] => ['a', 'b', 'c', 'd'].map((k) => `part-${name}-${k}`);

/** Milliseconds from `from` to the last write or applied CAS sent to `node` that was acknowledged before `until`; null if none after `from`. */
function lastAckAfter(h: History, node: string, from: number, until: number): number | null {
  let last: number | null = null;
  for (const op of h.ops) {
    if (op.node !== node || op.result !== 'ok' || op.return <= from || op.return >= until) continue;
    if (op.f === 'write' || (op.f === 'cas' && op.applied === true)) last = Math.max(last ?? 0, op.return);
  }
  return last === null ? null : Math.round((last - from) / 1e6);
}

describe('linearizability under network partitions (nodes in network namespaces)', function () {
  this.timeout(600_000);
  let lab: NetnsLab | null = null;
  let cluster: LocalCluster | null = null;
  let urls: string[] = [];

  before(async function () {
    if (!netnsAvailable()) this.skip();
    lab = await NetnsLab.create(3);
    cluster = await LocalCluster.start({ shards: 1, replicas: 2, extraArgs: ['--test-netns-placement', lab.placementFlag()] });
    const st = await cluster.status();
    urls = st.shards.flatMap((s) => s.nodes.map((n) => n.httpUrl!));
    expect(urls.every((u) => u.startsWith('http://10.77.0.')), urls.join(' ')).to.equal(true);
  });

  after(async () => {
    await cluster?.destroy();
    await lab?.destroy();
  });

  async function shard() {
    return cluster!.shard('shard-0');
  }

  /** The node index of `name` (its namespace), from its address. */
  async function indexOf(name: string): Promise<number> {
    const n = await cluster!.node(name);
    return Number(n.host!.split('.').pop()) - 10;
  }

  async function partitionRun(name: string, cutFrom: (replicaHosts: string[]) => string[], expectFailover: boolean): Promise<void> {
    const w = new HttpRegisterWorkload({ nodes: () => urls, keys: keysFor(name), clients: 6, requestTimeoutMs: 4000, deadlineMs: 90_000, maxOps: 20_000, localAddress: CLIENT_ADDRESS });
    const before = await shard();
    const old = before.primary;
    const oldNode = before.nodes.find((n) => n.name === old)!;
    const k = await indexOf(old);
    const replicaHosts = before.nodes.filter((n) => n.name !== old).map((n) => n.host!);
    let cutAt = 0;
    let healedAt = 0;
    let promotedMs: number | null = null;
    w.start();
    try {
      await waitFor('the workload to get going', () => w.ops >= 200, { timeoutMs: 30_000 });
      cutAt = nowNs();
      await lab!.cut(k, cutFrom(replicaHosts));
      try {
        if (expectFailover) {
          await waitFor(`a replica to replace the cut-off ${old}`, async () => {
            const s = await shard().catch(() => null);
            return s !== null && s.primary !== old && s.failover === null;
          }, { timeoutMs: 60_000, intervalMs: 50 });
          promotedMs = Math.round((nowNs() - cutAt) / 1e6);
        }
        // Keep the partition while the workload runs on either side of it (few operations complete
        // when the shard cannot write: each failed one waits for its timeout, then backs off).
        const opsNow = w.ops;
        await waitFor('operations to go on during the partition', () => w.ops >= opsNow + 40, { timeoutMs: 60_000 });
      } finally {
        healedAt = nowNs();
        await lab!.heal(k);
      }
      await cluster!.waitReady(120_000);
      await waitFor(`${old} to be back in the shard, streaming`, async () => {
        const s = await shard();
        const n = s.nodes.find((x) => x.name === old);
        return n !== undefined && n.up && (n.name === s.primary || n.link === 'streaming');
      }, { timeoutMs: 90_000, intervalMs: 100 });
      const now = w.ops;
      await waitFor('operations to go on after healing', () => w.ops >= now + 300, { timeoutMs: 60_000 });
    } finally {
      await w.stop();
      await lab!.heal(k);
    }
    const report = await checkHistory(w.history, name);
    const c = w.history.counts();
    const lastAck = lastAckAfter(w.history, oldNode.httpUrl!, cutAt, healedAt);
    console.log(`      ${name}: ${report.ops} ops (ok ${c.ok}, fail ${c.fail}, unknown ${c.info}), ${report.checked} checked: ${report.result}; eventual reads ${report.eventualReads}, stale ${report.eventualStale}; ` +
      `partition ${Math.round((healedAt - cutAt) / 1e6)} ms, new primary after ${promotedMs ?? '-'} ms, last write acknowledged by the cut-off primary ${lastAck ?? 'none'} ms after the cut`);
    expect(report.neverWritten ?? [], 'eventual reads of values never written').to.deep.equal([]);
    expect(report.result, `not linearizable on key ${report.failingKey ?? '?'}: see ${report.visualization ?? 'the saved history'}`).to.equal('ok');
  }

  it('primary cut from its replicas (the controller still reaches it)', async () => {
    await partitionRun('primary-replicas', (replicas) => replicas, false);
  });

  it('primary cut from the controller (replicas and clients still reach it)', async () => {
    await partitionRun('primary-controller', () => [CONTROLLER_ADDRESS], true);
  });

  it('primary cut from the controller and its replicas: self-fencing', async () => {
    await partitionRun('primary-isolated', (replicas) => [CONTROLLER_ADDRESS, ...replicas], true);
  });
});
