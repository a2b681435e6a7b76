/**
 * Linearizability under faults (issue #13, docs/consistency.md): a per-key
 * register workload over HTTP through every node of a local cluster (1 shard,
 * a primary and 2 replicas, minSyncReplicas 1), recorded and checked with
 * Porcupine (tools/linearizability). Writes, CAS and strong reads must be
 * linearizable; eventual reads may be stale but never show a value that was
 * never written. One history per nemesis: kill -9 of the primary, SIGSTOP of
 * the primary past failure detection then SIGCONT, and a controller crash
 * (kill -9, the primary killed while it is down, then a restart).
 * Bounded: about 15 s of workload per nemesis. Histories and any failing
 * key's visualization are saved under test-artifacts/linearizability/.
 */
import { expect } from 'chai';
import { checkHistory, type CheckReport } from '../support/history-check.js';
import { HttpRegisterWorkload } from '../support/history-http.js';
import { LocalCluster } from '../support/local-cluster.js';
import { waitFor } from '../support/wait.js';

/** Fresh keys per history: the checker starts every register empty. */
const keysFor = (name: string): string[] => ['a', 'b', 'c', 'd'].map((k) => `lin-${name}-${k}`);

describe('linearizability under nemeses (local cluster, 1 shard × 2 replicas, HTTP)', function () {
  this.timeout(600_000);
  let cluster: LocalCluster;
  let urls: string[] = [];

  before(async () => {
    cluster = await LocalCluster.start({ shards: 1, replicas: 2 });
    const st = await cluster.status();
    urls = st.shards.flatMap((s) => s.nodes.map((n) => n.httpUrl!));
  });

  after(async () => {
    await cluster?.destroy();
  });

  async function primary(): Promise<string> {
    return (await cluster.shard('shard-0')).primary;
  }

  async function waitNewPrimary(old: string): Promise<void> {
    await waitFor(`a replica to replace ${old}`, async () => {
      const s = await cluster.shard('shard-0').catch(() => null);
      return s !== null && s.primary !== old && s.failover === null;
    }, { timeoutMs: 60_000, intervalMs: 50 });
  }

  /** Runs the workload around `nemesis`, then checks the history; returns the report and the op counts. */
  async function runWith(name: string, nemesis: (w: HttpRegisterWorkload) => Promise<void>): Promise<CheckReport> {
    const w = new HttpRegisterWorkload({ nodes: () => urls, keys: keysFor(name), clients: 6, requestTimeoutMs: 4000, deadlineMs: 60_000, maxOps: 20_000 });
    w.start();
    try {
      await waitFor('the workload to get going', () => w.ops >= 200, { timeoutMs: 30_000 });
      await nemesis(w);
      await cluster.waitReady(90_000);
      const now = w.ops;
      await waitFor('operations to go on after recovery', () => w.ops >= now + 300, { timeoutMs: 30_000 });
    } finally {
      await w.stop();
    }
    const report = await checkHistory(w.history, name);
    const c = w.history.counts();
    console.log(`      ${name}: ${report.ops} ops (ok ${c.ok}, fail ${c.fail}, unknown ${c.info}), ${report.checked} checked over ${report.keys} keys: ${report.result}; eventual reads ${report.eventualReads}, stale ${report.eventualStale}`);
    expect(report.neverWritten ?? [], 'eventual reads of values never written').to.deep.equal([]);
    expect(report.result, `not linearizable on key ${report.failingKey ?? '?'}: see ${report.visualization ?? 'the saved history'}`).to.equal('ok');
    return report;
  }

  it('kill -9 of the primary', async () => {
    await runWith('kill9-primary', async () => {
      const old = await primary();
      process.kill(await cluster.pidOf(old), 'SIGKILL');
      await waitNewPrimary(old);
    });
  });

  it('SIGSTOP of the primary past failure detection, then SIGCONT', async () => {
    await runWith('pause-primary', async () => {
      const old = await primary();
      const pid = await cluster.pidOf(old);
      process.kill(pid, 'SIGSTOP');
      try {
        await waitNewPrimary(old);
        await new Promise((r) => setTimeout(r, 1000)); // keep it paused while the new primary takes writes
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    });
  });

  it('controller crash: kill -9 the controller, kill the primary while it is down, restart the controller', async () => {
    await runWith('controller-crash', async () => {
      const old = await primary();
      const pid = await cluster.pidOf(old);
      await cluster.killController();
      process.kill(pid, 'SIGKILL');
      cluster.spawnController();
      // The restarted controller either fails over or restarts the killed primary first: both are fine.
      await waitFor(`${old} to be replaced or restarted`, async () => {
        const s = await cluster.shard('shard-0').catch(() => null);
        if (s === null || s.failover !== null) return false;
        const back = s.nodes.find((n) => n.name === old)?.up === true && (await cluster.pidOf(old).catch(() => pid)) !== pid;
        return s.primary !== old || back;
      }, { timeoutMs: 90_000, intervalMs: 50 });
    });
  });
});
