/**
 * The chart's monitoring on Kubernetes (issue #18): a real Prometheus
 * scrapes an IrisCluster run by the operator through the chart's own
 * PodMonitor and ServiceMonitor (rendered by helm, turned into scrape
 * configs the way the Prometheus operator does; Debian's Prometheus has no
 * kubernetes_sd, so the test writes the discovery file from the API
 * server's pods and services with kubernetes_sd's labels: test/support/
 * prometheus-monitors.ts) and loads the chart's rules. It shows that the
 * node pods carry what the PodMonitor selects and relabels, that node
 * series and the operator's irisdb_controller_* series name the same
 * namespace, cluster, shard and pod (the joins the alerts make), that every
 * rule evaluates cleanly with the controller's alerts quiet, and that the
 * dashboard's variables find the cluster. Local environment only:
 * Prometheus reaches the pods at their (loopback) pod IPs.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openHelm, parseManifests } from '../support/kube/helm.js';
import { endpointsFromServices, endpointTargets, monitorScrapeConfig, podTargets, type MonitorObject, type PodLike, type ServiceLike } from '../support/prometheus-monitors.js';
import { DASHBOARD_FILE, RULES_FILE, startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, listPods, type KubeEnv } from './helpers.js';
import { deployOperator, installCrds, irisClusterManifest, waitForStatus } from './operator-support.js';

const CLUSTER = 'mon';
const NODES = `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`;

describe('e2e: the chart\'s PodMonitor, ServiceMonitor and alerts with a real Prometheus', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  let prom: RunningPrometheus | undefined;
  let sdDir: string | undefined;

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    if (env.mode !== 'local') this.skip();
    ns = await createNamespace(env, 'monitoring');
    await installCrds(env, ns);
    await deployOperator(env, ns);
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 2, replicasPerShard: 1 }));
    await waitForStatus(env, ns, CLUSTER, 'phase Ready with 4/4 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '4/4', 240000);

    // The monitors as the chart renders them for an operator watching this namespace (deployOperator's release).
    const helm = openHelm(env.helmPath, env.kubeconfig);
    let monitors: MonitorObject[];
    try {
      const text = await helm.template('irisdb', ns, ['--set', `watchNamespaces={${ns}}`, '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.podMonitor.enabled=true']);
      monitors = parseManifests(text).filter((o) => o.kind === 'PodMonitor' || o.kind === 'ServiceMonitor') as unknown as MonitorObject[];
    } finally {
      helm.close();
    }
    expect(monitors.map((m) => m.kind).sort()).to.deep.equal(['PodMonitor', 'ServiceMonitor']);
    // What kubernetes_sd would discover (roles pod and endpoints), from the API server.
    const pods = (await env.rest.get<{ items: PodLike[] }>(`/api/v1/namespaces/${ns}/pods`)).items;
    const services = (await env.rest.get<{ items: ServiceLike[] }>(`/api/v1/namespaces/${ns}/services`)).items;
    // The test kubelet's pod addresses do not reach the endpoints controller: Endpoints as it would keep them.
    const endpoints = endpointsFromServices(services, pods);
    sdDir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-sd-'));
    const sdFile = { pod: path.join(sdDir, 'pods.json'), endpoints: path.join(sdDir, 'endpoints.json') };
    fs.writeFileSync(sdFile.pod, JSON.stringify(podTargets(pods)));
    fs.writeFileSync(sdFile.endpoints, JSON.stringify(endpointTargets(endpoints, services, pods)));
    prom = await startPrometheus([], [RULES_FILE], monitors.flatMap((m) => monitorScrapeConfig(m, m.kind === 'PodMonitor' ? sdFile.pod : sdFile.endpoints)));
    try {
      await waitFor('the four node pods and the operator scraped', async () => {
        const r = await prom!.query('count(up == 1) == 5 and min(count_over_time(up[1m])) >= 3');
        return r.ok && r.series.length === 1;
      }, { timeoutMs: 60_000, intervalMs: 500 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\ntargets: ${JSON.stringify(await prom.targets())}\nendpoints: ${JSON.stringify(endpointTargets(endpoints, services, pods))}`);
    }
  });

  after(async () => {
    await prom?.stop();
    if (sdDir !== undefined) fs.rmSync(sdDir, { recursive: true, force: true });
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('the PodMonitor finds every node pod and labels its series with namespace, cluster, shard and pod', async () => {
    const pods = (await listPods(env, ns, NODES)).map((p) => `${ns}/${CLUSTER}/shard-${p.metadata!.labels!['irisdb.io/shard']}/${p.metadata!.name}`).sort();
    expect(pods).to.have.length(4);
    const r = await prom!.query('irisdb_replication_role{role="primary"}');
    if (!r.ok) expect.fail(r.error);
    expect(r.series.map((s) => `${s.metric.namespace}/${s.metric.cluster}/${s.metric.shard}/${s.metric.pod}`).sort()).to.deep.equal(pods);
  });

  it('the operator\'s controller series (honorLabels) name the same namespace, cluster, shard and pod as the node series', async () => {
    const controller = await prom!.query(`irisdb_controller_node_up{namespace="${ns}", cluster="${CLUSTER}"} == 1`);
    const nodes = await prom!.query(`irisdb_replication_role{namespace="${ns}", cluster="${CLUSTER}", role="primary"}`);
    if (!controller.ok || !nodes.ok) expect.fail('queries failed');
    const key = (m: Record<string, string>): string => `${m.namespace}/${m.cluster}/${m.shard}/${m.pod}`;
    expect(controller.series.map((s) => key(s.metric)).sort()).to.deep.equal(nodes.series.map((s) => key(s.metric)).sort());
  });

  it('every alert rule evaluates without error and the controller\'s alerts are quiet; the dashboard variables find the cluster', async () => {
    const groups = await waitFor('every rule evaluated', async () => {
      const g = await prom!.rules();
      return g.flatMap((x) => x.rules).every((x) => x.lastEvaluation !== '0001-01-01T00:00:00Z') && g.length > 0 ? g : null;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    for (const r of groups.flatMap((g) => g.rules)) expect(r.health, `${r.name}: ${r.lastError ?? ''}`).to.equal('ok');
    const controllerAlerts = new Set(groups.find((g) => g.name === 'irisdb.controller')!.rules.map((r) => r.name));
    const active = (await prom!.alerts()).filter((a) => controllerAlerts.has(a.labels.alertname!) && a.labels.cluster === CLUSTER);
    expect(active.map((a) => a.labels.alertname)).to.deep.equal([]);
    // IrisDBControllerDown joins node and controller series on (namespace, cluster): empty only if both name the cluster alike.
    const down = await prom!.query(`count by (namespace, cluster) (irisdb_replication_role{role="primary"}) unless on (namespace, cluster) count by (namespace, cluster) (irisdb_controller_cluster_phase)`);
    expect(down.ok && down.series).to.deep.equal([]);
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as { templating: { list: Array<{ name: string; type: string; query: { query: string } }> } };
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const m = /^label_values\((.+),\s*([a-z_]+)\)$/.exec(v.query.query)!;
      const r = await prom!.query(m[1]!.replaceAll('$cluster', CLUSTER).replaceAll('$shard', '.*'));
      if (!r.ok) expect.fail(r.error);
      expect(r.series.some((s) => s.metric[m[2]!] !== undefined && s.metric.cluster === CLUSTER), v.name).to.equal(true);
    }
  });
});
