/**
 * Scraping an IrisCluster with spec.tls (issue #14): its /metrics is HTTPS
 * only, so the chart's PodMonitor takes metrics.podMonitor.scheme=https and
 * a tlsConfig trusting the cluster's CA (copied into a Secret of the
 * monitor's namespace) under the client Service's name. A real Prometheus
 * scrapes the node through that PodMonitor, turned into a scrape config as
 * the Prometheus operator would (test/support/prometheus-monitors.ts), and
 * plain http on the same port is refused. Local environment only.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openHelm, parseManifests } from '../support/kube/helm.js';
import { monitorScrapeConfig, podTargets, type MonitorObject, type PodLike } from '../support/prometheus-monitors.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, type KubeEnv } from './helpers.js';
import { deployOperator, installCrds, irisClusterManifest, waitForStatus } from './operator-support.js';

const CLUSTER = 'montls';

describe('e2e: the chart\'s PodMonitor scrapes a spec.tls cluster over HTTPS', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  let prom: RunningPrometheus | undefined;
  let dir: string | undefined;

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    if (env.mode !== 'local') this.skip();
    ns = await createNamespace(env, 'montls');
    await installCrds(env, ns);
    await deployOperator(env, ns);
  });

  after(async () => {
    await prom?.stop();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('scrapes /metrics with scheme https and the cluster CA; plain http is refused', async () => {
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 1, replicasPerShard: 0, tls: { enabled: true } }));
    await waitForStatus(env, ns, CLUSTER, 'phase Ready with 1/1 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '1/1', 240000);
    // The CA for Prometheus, in the monitor's namespace (here the release's and the cluster's are the same).
    const tlsSecret = await env.rest.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/secrets/${CLUSTER}-tls`);
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'scrape-ca', namespace: ns }, data: { 'ca.crt': tlsSecret.data['ca.crt'] } }));

    const tlsConfig = { ca: { secret: { name: 'scrape-ca', key: 'ca.crt' } }, serverName: `${CLUSTER}.${ns}.svc` };
    const helm = openHelm(env.helmPath, env.kubeconfig);
    let monitor: MonitorObject;
    try {
      const text = await helm.template('irisdb', ns, ['--set', `watchNamespaces={${ns}}`, '--set', 'metrics.podMonitor.enabled=true,metrics.podMonitor.scheme=https', '--set-json', `metrics.podMonitor.tlsConfig=${JSON.stringify(tlsConfig)}`]);
      monitor = parseManifests(text).find((o) => o.kind === 'PodMonitor') as unknown as MonitorObject;
    } finally {
      helm.close();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-sd-tls-'));
    const sdFile = path.join(dir, 'pods.json');
    const pods = (await env.rest.get<{ items: PodLike[] }>(`/api/v1/namespaces/${ns}/pods`)).items;
    fs.writeFileSync(sdFile, JSON.stringify(podTargets(pods)));
    // What the Prometheus operator does with tlsConfig.ca.secret: the Secret's key as a file Prometheus reads.
    const secretFile = (secretNs: string, name: string, key: string): string => {
      const file = path.join(dir!, `${secretNs}-${name}-${key}`);
      const secret = name === 'scrape-ca' ? { 'ca.crt': tlsSecret.data['ca.crt'] } : {};
      fs.writeFileSync(file, Buffer.from((secret as Record<string, string | undefined>)[key] ?? '', 'base64'));
      return file;
    };
    prom = await startPrometheus([], [], monitorScrapeConfig(monitor, sdFile, '1s', secretFile));
    try {
      await waitFor('the TLS node scraped over https', async () => {
        const r = await prom!.query(`irisdb_replication_role{namespace="${ns}", cluster="${CLUSTER}", role="primary"}`);
        return r.ok && r.series.length === 1;
      }, { timeoutMs: 60_000, intervalMs: 500 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\ntargets: ${JSON.stringify(await prom.targets())}`);
    }
    const node = pods.find((p) => p.metadata?.labels?.['app.kubernetes.io/instance'] === CLUSTER)!;
    const plain = await fetch(`http://${node.status!.podIP}:8080/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => `status ${r.status}`, () => 'refused');
    expect(plain).to.equal('refused');
  });
});
