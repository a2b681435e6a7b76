/**
 * The chart's Grafana dashboard and alert rules against a real Prometheus
 * (Debian's 2.42) scraping a real local cluster (issue #18), configured as
 * docs/operations.md tells users to: the controller's /metrics and the
 * nodes it lists at /prometheus/targets (http_sd_configs; both need the
 * cluster token), labelled cluster/shard/pod as the chart's PodMonitor
 * labels node pods, every second; the rules file loaded as Prometheus
 * loads it. The cluster goes through what the panels show — writes and
 * reads, a command error, a protocol error, HTTP requests, a scale-out
 * (slot migrations; its new nodes are discovered) — while scraped.
 *
 * What "returns series" means here:
 * - every dashboard target (template variables filled in: cluster=iris,
 *   shard and pod = .*, $__rate_interval = 10s) is accepted by
 *   /api/v1/query and returns at least one series; every variable's
 *   label_values() selector returns series carrying that label;
 * - every metric name a panel or an alert reads has series for cluster
 *   "iris" (no panel or alert queries a metric that does not exist);
 * - alert expressions are mostly false on a healthy cluster, so for them:
 *   Prometheus evaluates the rules file with no evaluation error, every
 *   expression parses, every metric it reads exists, the controller's
 *   alerts stay inactive while the cluster is healthy, a real failover
 *   (kill -9 of a primary) makes IrisDBFailoverHappened fire for that
 *   shard and counts the node's restart, and a failover that cannot reach
 *   the sync replica (primary and replica SIGSTOPped) makes
 *   IrisDBFailoverBlocked and IrisDBShardWithoutPrimary active until both
 *   resume, and a killed controller makes IrisDBControllerDown active until
 *   it is started again. (Thresholds and durations are checked by promtool:
 *   alert-rules.test.ts.)
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { load } from 'js-yaml';
import { LocalCluster } from '../support/local-cluster.js';
import { DASHBOARD_FILE, RULES_FILE, metricNamesIn, startPrometheus, type RunningPrometheus, type ScrapeJob } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';
import { clusterClient } from './migration-support.js';

interface Target { expr: string; refId: string }
interface Panel { title: string; type: string; targets?: Target[] }
interface Variable { name: string; type: string; query: string | { query: string } }
interface Dashboard { panels: Panel[]; templating: { list: Variable[] } }
interface AlertRule { alert: string; expr: string }
interface RuleGroup { name: string; rules: AlertRule[] }

const dashboard = (): Dashboard => JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const ruleGroups = (): RuleGroup[] => (load(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: RuleGroup[] }).groups;

/** A panel expression as Grafana sends it with cluster "iris" and every shard and node selected. */
function fill(expr: string): string {
  return expr.replaceAll('$__rate_interval', '10s').replaceAll('$cluster', 'iris').replaceAll('$shard', '.*').replaceAll('$pod', '.*');
}

/** What Prometheus scrapes: the nodes the controller lists (HTTP service discovery) and the controller, both with the token. */
function scrapeJobs(controlUrl: string, tokenFile: string): ScrapeJob[] {
  return [
    { job: 'irisdb-nodes', httpSd: { url: `${controlUrl}/prometheus/targets`, bearerTokenFile: tokenFile } },
    { job: 'irisdb-controller', targets: [{ address: new URL(controlUrl).host, labels: {} }], bearerTokenFile: tokenFile },
  ];
}

/** Sends a malformed RESP request (a negative bulk length); the node answers a protocol error and closes the connection. */
async function protocolError(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let reply = '';
    const s = net.connect(port, '127.0.0.1', () => s.write('*1\r\n$-1\r\n'));
    s.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => (reply.startsWith('-ERR Protocol error') ? resolve() : reject(new Error(`unexpected reply ${JSON.stringify(reply)}`))));
    s.setTimeout(10_000, () => s.destroy(new Error('the node did not close the connection')));
  });
}

describe('Grafana dashboard and alert rules against a real Prometheus (local cluster)', function () {
  this.timeout(300_000);
  let cluster: LocalCluster;
  let prom: RunningPrometheus;
  let controlUrl: string;

  before(async function () {
    this.timeout(400_000);
    cluster = await LocalCluster.start({ shards: 1, replicas: 1 });
    controlUrl = `http://127.0.0.1:${cluster.basePort + 2000}`;
    const traffic = async (prefix: string): Promise<void> => {
      const client = clusterClient(await cluster.seedPort());
      try {
        for (let i = 0; i < 200; i++) await client.set(`${prefix}${i}`, `v${i}`);
        for (let i = 0; i < 200; i += 7) expect(await client.get(`${prefix}${i}`)).to.equal(`v${i}`);
        // One command error (redis_commands_failed_calls_total).
        await client.incr(`${prefix}0`).then(() => expect.fail('INCR of a non-integer succeeded'), (err: Error) => expect(err.message).to.match(/not an integer/));
      } finally {
        client.disconnect();
      }
    };
    await traffic('before-');
    prom = await startPrometheus(scrapeJobs(controlUrl, path.join(cluster.dir, 'token')), [RULES_FILE]);
    await waitFor('the two nodes and the controller scraped', async () => {
      const r = await prom.query('count(up == 1) == 3');
      return r.ok && r.series.length === 1;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    // A scale-out: the migration metrics (keys moved, fence times) exist only once slots have moved.
    await cluster.client.scale({ shards: 2 });
    const st = await cluster.waitReady(240_000);
    expect(st.shards).to.have.length(2);
    await traffic('after-');
    for (const port of await cluster.seedPorts()) await protocolError(port);
    for (const n of st.shards.flatMap((s) => s.nodes)) expect((await fetch(`${n.httpUrl}/v1/kv/after-1`)).status).to.be.oneOf([200, 307, 404]);
    // The new shard's nodes are discovered; enough samples for every rate over 10 s: five scrapes of every target.
    await waitFor('five scrapes of every target, the new nodes included', async () => {
      const r = await prom.query('min(count_over_time(up[1m])) >= 5 and min(up) == 1 and count(up) == 5');
      return r.ok && r.series.length === 1;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    // Series born by the events above (the protocol errors' counter, say) need samples of their own within the 10 s windows.
    const names = [...new Set(dashboard().panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNamesIn(t.expr))))];
    await waitFor('three samples of every metric a panel reads', async () => {
      for (const name of names) {
        const r = await prom.query(`min(count_over_time({__name__="${name}", cluster="iris"}[10s])) >= 3`);
        if (!r.ok || r.series.length === 0) return false;
      }
      return true;
    }, { timeoutMs: 60_000, intervalMs: 500 });
  });

  after(async () => {
    await prom?.stop();
    await cluster?.destroy();
  });

  it('scrapes every node (found through the controller, the scale-out\'s too) and the controller; both endpoints need the token', async () => {
    const targets = await prom.targets();
    const st = await cluster.status();
    const nodeUrls = st.shards.flatMap((s) => s.nodes.map((n) => `${n.httpUrl}/metrics`)).sort();
    expect(targets.filter((t) => t.job === 'irisdb-nodes').map((t) => t.url).sort()).to.deep.equal(nodeUrls);
    expect(targets.filter((t) => t.job === 'irisdb-controller').map((t) => t.url)).to.deep.equal([`${controlUrl}/metrics`]);
    for (const t of targets) expect(t.health, `${t.url}: ${t.lastError}`).to.equal('up');
    for (const p of ['/metrics', '/prometheus/targets']) expect((await fetch(`${controlUrl}${p}`)).status, p).to.equal(401);
  });

  it('labels node series with cluster, shard and pod, and the controller\'s with cluster, shard and pod too', async () => {
    const st = await cluster.status();
    for (const metric of ['irisdb_replication_role{role="primary"} == 1', 'irisdb_controller_node_up']) {
      const r = await prom.query(metric);
      if (!r.ok) expect.fail(r.error);
      const seen = r.series.map((s) => `${s.metric.cluster}/${s.metric.shard}/${s.metric.pod}`).sort();
      const want = st.shards.flatMap((s) => s.nodes.map((n) => `iris/${s.id}/${n.name}`)).sort();
      if (metric.startsWith('irisdb_controller')) expect(seen, metric).to.deep.equal(want);
      else expect(seen, metric).to.have.length(st.shards.length);
    }
  });

  it('every dashboard variable\'s label_values() selector returns series with that label', async () => {
    for (const v of dashboard().templating.list.filter((x) => x.type === 'query')) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const m = /^label_values\((.+),\s*([a-z_]+)\)$/.exec(q);
      expect(m, `${v.name}: ${q}`).to.not.equal(null);
      const r = await prom.query(fill(m![1]!));
      if (!r.ok) expect.fail(`${v.name}: ${r.error}`);
      expect(r.series.filter((s) => s.metric[m![2]!] !== undefined), `${v.name}: ${q}`).to.not.be.empty;
    }
  });

  it('every dashboard panel expression parses and returns series', async () => {
    const targets = dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(targets.length).to.be.greaterThan(30);
    const empty: string[] = [];
    for (const t of targets) {
      const r = await prom.query(fill(t.expr));
      if (!r.ok) expect.fail(`${t.panel}: ${r.error}\n${t.expr}`);
      if (r.series.length === 0) empty.push(`${t.panel}: ${t.expr}`);
    }
    expect(empty, 'panels without data').to.deep.equal([]);
  });

  it('no panel and no alert reads a metric that has no series for the cluster', async () => {
    const exprs = [
      ...dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel ${p.title}`, expr: t.expr }))),
      ...ruleGroups().flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
    ];
    const missing: string[] = [];
    const checked = new Map<string, boolean>();
    for (const { where, expr } of exprs) {
      const names = metricNamesIn(expr);
      expect(names, where).to.not.be.empty;
      for (const name of names) {
        if (!checked.has(name)) {
          const r = await prom.query(`count({__name__="${name}", cluster="iris"})`);
          checked.set(name, r.ok && r.series.length > 0);
        }
        if (!checked.get(name)) missing.push(`${where}: ${name}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });

  it('Prometheus evaluates every alert rule without error; the controller\'s alerts are quiet on a healthy cluster', async () => {
    const rules = await waitFor('every rule evaluated', async () => {
      const groups = await prom.rules();
      const all = groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.lastEvaluation !== '0001-01-01T00:00:00Z') ? groups : null;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const want = ruleGroups().flatMap((g) => g.rules.map((r) => r.alert)).sort();
    expect(rules.flatMap((g) => g.rules.map((r) => r.name)).sort()).to.deep.equal(want);
    for (const r of rules.flatMap((g) => g.rules)) expect(r.health, `${r.name}: ${r.lastError ?? ''}`).to.equal('ok');
    for (const g of ruleGroups()) {
      for (const rule of g.rules) {
        const r = await prom.query(rule.expr);
        if (!r.ok) expect.fail(`${rule.alert}: ${r.error}`);
        if (g.name === 'irisdb.controller') expect(r.series, `${rule.alert} on a healthy cluster`).to.deep.equal([]);
      }
    }
  });

  it('a kill -9 of a primary makes IrisDBFailoverHappened fire for its shard', async () => {
    const before = await cluster.status();
    const shard = before.shards[0]!;
    process.kill(await cluster.pidOf(shard.primary), 'SIGKILL');
    const alert = await waitFor('IrisDBFailoverHappened to fire', async () => {
      const firing = (await prom.alerts()).filter((a) => a.labels.alertname === 'IrisDBFailoverHappened' && a.state === 'firing');
      return firing.length > 0 ? firing : null;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect(alert.map((a) => a.labels.shard)).to.deep.equal([shard.id]);
    expect(alert[0]!.labels).to.include({ cluster: 'iris', kind: 'failover', severity: 'warning' });
    expect(alert[0]!.annotations.runbook_url).to.match(/docs\/alerts\.md#irisdbfailoverhappened$/);
    expect(alert[0]!.annotations.summary).to.equal(`Failover of ${shard.id} (iris) in the last 10 minutes`);
    const after = await cluster.waitReady(60_000);
    expect(after.shards[0]!.primary).to.not.equal(shard.primary);
    // The platform restarted the killed process: the restart counter NodeRestarting reads went up for it.
    await waitFor(`a restart of ${shard.primary} in Prometheus`, async () => {
      const r = await prom.query(`increase(irisdb_controller_node_restarts_total{pod="${shard.primary}"}[2m]) > 0`);
      return r.ok && r.series.length === 1;
    }, { timeoutMs: 30_000, intervalMs: 250 });
  });

  it('a failover that cannot reach the sync replica makes IrisDBFailoverBlocked and IrisDBShardWithoutPrimary pending, then clears', async () => {
    const shard = (await cluster.status()).shards[1]!;
    const replica = shard.nodes.find((n) => n.name !== shard.primary)!.name;
    const pids = [await cluster.pidOf(shard.primary), await cluster.pidOf(replica)];
    // Both stopped: the primary misses heartbeats, the fence cannot reach the only sync replica, so nothing may be promoted.
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      await waitFor('IrisDBFailoverBlocked and IrisDBShardWithoutPrimary to be active', async () => {
        const active = (await prom.alerts()).filter((a) => a.labels.shard === shard.id).map((a) => a.labels.alertname);
        return active.includes('IrisDBFailoverBlocked') && active.includes('IrisDBShardWithoutPrimary');
      }, { timeoutMs: 60_000, intervalMs: 250 });
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    await cluster.waitReady(60_000);
    await waitFor('the alerts to clear', async () => {
      const left = (await prom.alerts()).filter((a) => a.labels.shard === shard.id && ['IrisDBFailoverBlocked', 'IrisDBShardWithoutPrimary'].includes(a.labels.alertname!));
      return left.length === 0;
    }, { timeoutMs: 30_000, intervalMs: 250 });
  });
  it('a stopped controller makes IrisDBControllerDown active; a restarted one clears it', async () => {
    await cluster.killController();
    try {
      await waitFor('IrisDBControllerDown to be active', async () => {
        const active = (await prom.alerts()).filter((a) => a.labels.alertname === 'IrisDBControllerDown');
        return active.length === 1 && active[0]!.labels.cluster === 'iris';
      }, { timeoutMs: 60_000, intervalMs: 250 });
    } finally {
      cluster.spawnController();
    }
    await cluster.waitReady(120_000);
    await waitFor('IrisDBControllerDown to clear', async () => (await prom.alerts()).every((a) => a.labels.alertname !== 'IrisDBControllerDown'), { timeoutMs: 30_000, intervalMs: 250 });
  });
});
