/**
 * The operator on Kubernetes (issue 7, items 2 and 3): the operator runs as
 * a Deployment of image irisdb/operator with its ServiceAccount and RBAC;
 * `kubectl apply` of a 3-shard × 1-replica IrisCluster reaches phase Ready
 * with the printer columns filled, and a cluster client writes and reads
 * through the pod addresses; `kubectl delete pod` of a primary under a write
 * load fails the shard over — status, role labels and Events show it, no
 * acknowledged write is lost, and the recreated pod rejoins as a streaming
 * replica; deleting the IrisCluster removes everything it owned. Also the operator's own list-watch (re-list after 410 Gone) and
 * Lease election against the real API server.
 */
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { silentLogger } from '../../common/logger.js';
import type { KubeClient } from '../../operator/kube/client.js';
import { Informer } from '../../operator/kube/informer.js';
import { LeaderElector } from '../../operator/kube/leader-election.js';
import { ClusterLoad, expectAckedReadable } from '../integration/migration-support.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, listPods, type KubeEnv } from './helpers.js';
import {
  anyReadyNode, clusterEvents, deployOperator, diagnostics, getCluster, installCrds, irisClusterManifest, OPERATOR_SELECTOR, seedProxy, waitForStatus,
  type IrisClusterObject, type SeedProxy,
} from './operator-support.js';

const CLUSTER = 'iris';
const NODES = `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`;

/** What a test reached when, printed with the diagnostics if it fails. */
const progress: string[] = [];
let progressT0 = Date.now();
function mark(what: string): void {
  progress.push(`${((Date.now() - progressT0) / 1000).toFixed(1)} s: ${what}`);
}

function readyWith(nodes: number) {
  return (c: IrisClusterObject): boolean => c.status?.phase === 'Ready' && c.status.ready === `${nodes}/${nodes}`
    && (c.status.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');
}

describe('e2e: the IrisDB operator', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  let proxy: SeedProxy | undefined;
  let dashboardPort: number;

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    ns = await createNamespace(env, 'operator');
    await installCrds(env, ns);
    // A free port: the test kubelet's pods share the host's loopback with every other test's processes.
    dashboardPort = await freePort();
    await deployOperator(env, ns, { dashboardPort });
  });

  beforeEach(() => {
    progress.length = 0;
    progressT0 = Date.now();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && env !== undefined && ns !== undefined) {
      process.stderr.write(`\n--- diagnostics for "${this.currentTest.title}" ---\n${progress.join('\n')}\n${await diagnostics(env, ns, CLUSTER)}\n`);
    }
  });

  after(async function () {
    await proxy?.close();
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('runs a 3-shard × 1-replica IrisCluster from `kubectl apply` to Ready; clients use the pod addresses', async () => {
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 3, replicasPerShard: 1 }));
    const ready = await waitForStatus(env, ns, CLUSTER, 'phase Ready with 6/6 nodes', readyWith(6), 240000);
    mark('Ready');
    const st = ready.status!;
    expect(st.shards!.map((s) => s.id)).to.deep.equal(['shard-0', 'shard-1', 'shard-2']);
    expect(st.shards!.reduce((n, s) => n + s.slotCount, 0)).to.equal(16384);
    for (const s of st.shards!) {
      expect(s.primary, s.id).to.match(new RegExp(`^${CLUSTER}-${s.id}-[01]$`));
      expect(s.replicas.map((r) => r.link), s.id).to.deep.equal(['streaming']);
    }
    expect(st.observedGeneration).to.equal(ready.metadata?.generation);

    const table = await env.kubectl(['get', 'irisclusters', '-n', ns]);
    const [header, row] = table.trim().split('\n');
    expect(header!.split(/\s+/)).to.include.members(['NAME', 'SHARDS', 'READY', 'PHASE', 'AGE']);
    expect(row!.split(/\s+/).slice(0, 4)).to.deep.equal([CLUSTER, '3', '6/6', 'Ready']);

    // What the operator made: one StatefulSet and PDB per shard, both Services, the token Secret.
    const sts = await env.rest.get<{ items: Array<{ metadata: { name: string }; spec: { replicas: number; updateStrategy: { type: string } } }> }>(`/apis/apps/v1/namespaces/${ns}/statefulsets`);
    expect(sts.items.map((s) => `${s.metadata.name}:${s.spec.replicas}:${s.spec.updateStrategy.type}`).sort())
      .to.deep.equal(['iris-shard-0:2:OnDelete', 'iris-shard-1:2:OnDelete', 'iris-shard-2:2:OnDelete']);
    for (const path of [`/api/v1/namespaces/${ns}/services/${CLUSTER}`, `/api/v1/namespaces/${ns}/services/${CLUSTER}-nodes`, `/api/v1/namespaces/${ns}/secrets/${CLUSTER}-token`,
      `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${CLUSTER}-shard-0`]) {
      expect(await env.rest.find(path), path).to.not.equal(null);
    }
    const pods = await listPods(env, ns, NODES);
    expect(pods.map((p) => `${p.metadata?.name}:${p.metadata?.labels?.['irisdb.io/role']}`).sort()).to.deep.equal(
      st.shards!.flatMap((s) => [`${s.primary}:primary`, ...s.replicas.map((r) => `${r.name}:replica`)]).sort());

    // A stock cluster client seeded with one pod's address finds the rest from CLUSTER SLOTS.
    const seed = await env.podEndpoint(ns, pods[0]!.metadata!.name!, 6379);
    const client = new Cluster([{ host: seed.host, port: seed.port }], { maxRedirections: 16 });
    client.on('error', () => {});
    try {
      const keys = Array.from({ length: 1000 }, (_, i) => `e2e:op:${i}`);
      await Promise.all(keys.map((k) => client.set(k, `v-${k}`)));
      const got = await Promise.all(keys.map((k) => client.get(k)));
      expect(got.filter((v, i) => v !== `v-${keys[i]}`), 'values read back').to.deep.equal([]);
      expect(client.nodes('master').length, 'primaries the client talks to').to.equal(3);
    } finally {
      client.disconnect();
      seed.close();
    }
  });

  it('fails a shard over when `kubectl delete pod` removes its primary under load; nothing acknowledged is lost', async () => {
    const before = await getCluster(env, ns, CLUSTER);
    const shard = before.status!.shards!.find((s) => s.id === 'shard-0')!;
    const oldPrimary = shard.primary;
    const survivor = shard.replicas[0]!.name;
    const oldPod = await env.rest.get<{ metadata: { uid: string } }>(`/api/v1/namespaces/${ns}/pods/${oldPrimary}`);

    proxy = await seedProxy(anyReadyNode(env, ns, CLUSTER));
    const load = new ClusterLoad(proxy.port, { clients: 2, workers: 4, keysPerWorker: 40, maxOps: 1_000_000, deadlineMs: 240000, commandTimeoutMs: 1000, keyPrefix: 'fo:' });
    try {
      await waitFor('the load to get going', () => load.ops >= 300, { timeoutMs: 60000, intervalMs: 50 });
      mark(`load going (${load.ops} writes); deleting ${oldPrimary}`);
      await env.kubectl(['delete', 'pod', '-n', ns, oldPrimary, '--wait=false']);

      const after = await waitForStatus(env, ns, CLUSTER, `a new primary for shard-0 (was ${oldPrimary})`, (c) => {
        const s = c.status?.shards?.find((x) => x.id === 'shard-0');
        return s !== undefined && s.primary === survivor && s.epoch > shard.epoch;
      }, 120000);
      mark(`status names ${survivor} primary (${load.ops} writes, ${load.errors.length} errors)`);
      expect(after.status!.shards!.find((x) => x.id === 'shard-0')!.epoch).to.be.greaterThan(shard.epoch);

      await waitFor('role labels to flip', async () => {
        const pods = await listPods(env, ns, NODES);
        const role = (n: string) => pods.find((p) => p.metadata?.name === n)?.metadata?.labels?.['irisdb.io/role'];
        const recreated = pods.find((p) => p.metadata?.name === oldPrimary);
        return role(survivor) === 'primary' && recreated !== undefined && recreated.metadata?.uid !== oldPod.metadata.uid && role(oldPrimary) === 'replica';
      }, { timeoutMs: 120000, intervalMs: 250 });

      mark('role labels flipped');
      const events = await waitFor('a FailoverFinished Event on the IrisCluster', async () => {
        const evs = await clusterEvents(env, ns, CLUSTER);
        return evs.some((e) => e.reason === 'FailoverFinished') && evs;
      }, { timeoutMs: 60000, intervalMs: 250 });
      expect(events.map((e) => e.reason)).to.include('FailoverStarted');
      expect(events.find((e) => e.reason === 'FailoverStarted')!.type).to.equal('Warning');

      // The recreated pod (same name, same claim) rejoins as a replica of the new primary and catches up.
      await waitForStatus(env, ns, CLUSTER, `${oldPrimary} streaming from ${survivor}, cluster Ready`, (c) => {
        const s = c.status?.shards?.find((x) => x.id === 'shard-0');
        return readyWith(6)(c) && s?.primary === survivor && s.replicas.some((r) => r.name === oldPrimary && r.link === 'streaming');
      }, 180000);

      mark(`${oldPrimary} streams again, cluster Ready`);
      const opsAfter = load.ops;
      await waitFor('writes to go on after the failover', () => load.ops >= opsAfter + 300, { timeoutMs: 60000, intervalMs: 50 });
    } finally {
      load.stop();
      await load.done();
      mark(`load stopped: ${load.ops} writes acknowledged, ${load.errors.length} errors (${load.errors.slice(0, 3).join('; ')})`);
    }
    expect(load.staleReads.slice(0, 5), 'reads older than the last acknowledged write').to.deep.equal([]);
    await expectAckedReadable(proxy.port, load.log);

    // The operator counts it on /metrics, next to its leadership and reconcile passes.
    const [op] = await listPods(env, ns, OPERATOR_SELECTOR);
    const ep = await env.podEndpoint(ns, op!.metadata!.name!, 9090);
    try {
      const text = await (await fetch(`http://${ep.host}:${ep.port}/metrics`)).text();
      expect(text).to.match(/^irisdb_operator_leader 1$/m);
      expect(text).to.match(new RegExp(`^irisdb_operator_failovers_total\\{namespace="${ns}",cluster="${CLUSTER}"\\} [1-9]`, 'm'));
      expect(text).to.match(/^irisdb_operator_reconcile_total\{.*result="ok"\} [1-9]/m);
      // The controller's view the chart's alerts read (operator/controller/metrics.ts), labelled with the cluster's namespace.
      expect(text).to.match(new RegExp(`^irisdb_controller_failovers_total\\{namespace="${ns}",cluster="${CLUSTER}",shard="shard-0",kind="failover"\\} [1-9]`, 'm'));
      expect(text).to.match(new RegExp(`^irisdb_controller_shard_primary_up\\{namespace="${ns}",cluster="${CLUSTER}",shard="shard-0"\\} 1$`, 'm'));
      expect(text).to.match(new RegExp(`^irisdb_controller_slots_assigned\\{namespace="${ns}",cluster="${CLUSTER}"\\} 16384$`, 'm'));
      expect((await fetch(`http://${ep.host}:${ep.port}/readyz`)).status).to.equal(200);
    } finally {
      ep.close();
    }

    // The web dashboard on the operator pod's loopback (chart value dashboard.port), as a user reaches it: a port
    // forward (the test kubelet's pods share the host's network, so there it is 127.0.0.1 itself).
    const dash = env.local !== undefined ? { host: '127.0.0.1', port: dashboardPort, close: () => {} } : await env.podEndpoint(ns, op!.metadata!.name!, dashboardPort);
    try {
      const res = await fetch(`http://${dash.host}:${dash.port}/dashboard/api/view?cluster=${encodeURIComponent(`${ns}/${CLUSTER}`)}`);
      expect(res.status).to.equal(200);
      const view = await res.json() as { cluster: string; actions: boolean; status: { shards: Array<{ id: string; nodes: unknown[] }> }; events: Array<{ reason: string }> };
      expect(view.cluster).to.equal(`${ns}/${CLUSTER}`);
      expect(view.actions, 'read-only on Kubernetes').to.equal(false);
      expect(view.status.shards.map((s) => s.nodes.length)).to.deep.equal([2, 2, 2]);
      expect(view.events.map((e) => e.reason)).to.include('FailoverStarted');
      expect((await (await fetch(`http://${dash.host}:${dash.port}/`)).text())).to.include('/dashboard/dashboard.js');
    } finally {
      dash.close();
    }
  });

  it('fails a shard over when its primary\'s process is killed (the container restarts in the same pod)', async function () {
    // Kills the process through the test kubelet: local environment only.
    if (env.local === undefined) this.skip();
    const before = await waitForStatus(env, ns, CLUSTER, 'Ready', readyWith(6), 120000);
    const shard = before.status!.shards!.find((s) => s.id === 'shard-1')!;
    const oldPrimary = shard.primary;
    const survivor = shard.replicas[0]!.name;
    const pid = env.local!.kubelet.worker(ns, oldPrimary)?.pids().node;
    expect(pid, `pid of ${oldPrimary}`).to.be.a('number');
    process.kill(pid!, 'SIGKILL');
    mark(`killed ${oldPrimary} (pid ${pid})`);
    await waitForStatus(env, ns, CLUSTER, `${survivor} primary of shard-1 at a higher epoch, ${oldPrimary} streaming from it`, (c) => {
      const s = c.status?.shards?.find((x) => x.id === 'shard-1');
      return readyWith(6)(c) && s?.primary === survivor && s.epoch > shard.epoch && s.replicas.some((r) => r.name === oldPrimary && r.link === 'streaming');
    }, 180000);
    const pod = await env.rest.get<{ status?: { containerStatuses?: Array<{ restartCount: number }> } }>(`/api/v1/namespaces/${ns}/pods/${oldPrimary}`);
    expect(pod.status?.containerStatuses?.[0]?.restartCount, 'restarted in place').to.be.at.least(1);
    const reasons = (await clusterEvents(env, ns, CLUSTER)).filter((e) => e.reason === 'FailoverFinished').map((e) => e.message ?? '');
    expect(reasons.some((m) => m.includes('shard-1')), 'a FailoverFinished Event for shard-1').to.equal(true);
  });

  it('removes every object the cluster owned when the IrisCluster is deleted', async () => {
    const owned = async (): Promise<string[]> => {
      const left: string[] = [];
      const lists: Array<[string, string]> = [
        ['statefulsets', `/apis/apps/v1/namespaces/${ns}/statefulsets`],
        ['pods', `/api/v1/namespaces/${ns}/pods`],
        ['services', `/api/v1/namespaces/${ns}/services`],
        ['secrets', `/api/v1/namespaces/${ns}/secrets`],
        ['poddisruptionbudgets', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`],
        ['persistentvolumeclaims', `/api/v1/namespaces/${ns}/persistentvolumeclaims`],
      ];
      for (const [kind, path] of lists) {
        const items = (await env.rest.get<{ items: Array<{ metadata: { name: string } }> }>(path, { labelSelector: `app.kubernetes.io/instance=${CLUSTER}` })).items;
        left.push(...items.map((i) => `${kind}/${i.metadata.name}`));
      }
      return left;
    };
    const before = await owned();
    // 3 StatefulSets, 6 pods and claims, 2 Services, 3 PDBs, the Secret.
    expect(before.length, before.join(', ')).to.equal(21);
    await env.kubectl(['delete', 'iriscluster', '-n', ns, CLUSTER, '--wait=true', '--timeout=120s']);
    let left: string[] = [];
    await waitFor('the garbage collector to remove the cluster\'s objects', async () => (left = await owned()).length === 0, { timeoutMs: 120000, intervalMs: 250 })
      .catch((err: Error) => { throw new Error(`${err.message}; left: ${left.join(', ')}`); });
    // The operator keeps running and no longer manages anything.
    const [op] = await listPods(env, ns, OPERATOR_SELECTOR);
    expect(op?.status?.phase).to.equal('Running');
  });
});

async function compactEtcd(etcdUrl: string): Promise<void> {
  const status = (await (await fetch(`${etcdUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' })).json()) as { header: { revision: string } };
  const res = await fetch(`${etcdUrl}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: status.header.revision, physical: true }) });
  expect(res.ok, 'etcd compaction').to.equal(true);
}

describe('e2e: the operator\'s list-watch and Lease election', function () {
  this.timeout(120000);
  let env: KubeEnv;
  let ns: string;
  let client: KubeClient;

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    ns = await createNamespace(env, 'opkube');
    // The environment's client is the operator's own KubeClient.
    client = env.rest;
  });

  after(async function () {
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('re-lists after 410 Gone (history compacted away) and keeps following the watch', async function () {
    // Compacts etcd directly; PodTemplates are served without the watch cache locally, so the watch meets the compaction.
    if (env.local === undefined) this.skip();
    const path = `/api/v1/namespaces/${ns}/podtemplates`;
    const tpl = (name: string) => ({ apiVersion: 'v1', kind: 'PodTemplate', metadata: { name }, template: { spec: { containers: [{ name: 'c', image: 'x' }] } } });
    await env.rest.create(path, tpl('a'));
    const events: string[] = [];
    const informer = new Informer<{ metadata?: { name?: string; namespace?: string; resourceVersion?: string } }>(client, { path, logger: silentLogger(), watchTimeoutSeconds: 1, maxBackoffMs: 200 });
    informer.onEvent((type, obj) => events.push(`${type} ${obj.metadata?.name}`));
    await informer.start();
    try {
      expect([events, informer.lists]).to.deep.equal([['ADDED a'], 1]);
      // Two writes elsewhere, then compaction: resuming from a's version (the watch restarts every second) must meet 410.
      for (const name of ['x', 'y']) await env.rest.create(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
      await compactEtcd(env.local!.controlPlane.etcdUrl);
      await waitFor('a re-list after 410 Gone', () => informer.lists >= 2, { timeoutMs: 30000, intervalMs: 50 });
      await env.rest.create(path, tpl('b'));
      await env.rest.delete(`${path}/a`);
      await waitFor('watch events for b and a', () => events.includes('ADDED b') && events.includes('DELETED a'), { timeoutMs: 20000, intervalMs: 50 });
      expect([...informer.cache.keys()]).to.deep.equal([`${ns}/b`]);
    } finally {
      informer.stop();
    }
  });

  it('elects one leader; a stopped leader releases the lease at once; a leader that loses the lease steps down', async () => {
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/e2e-lease`;
    const make = (identity: string) => {
      const log: string[] = [];
      const e = new LeaderElector(client, {
        namespace: ns, name: 'e2e-lease', identity, leaseDurationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 200, logger: silentLogger(),
        onStartedLeading: () => log.push('started'), onStoppedLeading: () => log.push('stopped'),
      });
      return { e, log };
    };
    const a = make('a');
    const b = make('b');
    a.e.start();
    await waitFor('a to lead', () => a.e.isLeader, { timeoutMs: 20000, intervalMs: 50 });
    b.e.start();
    try {
      // While a renews, b only watches: the record changes under b's eyes, so it never counts as expired.
      const renewed = async () => (await env.rest.get<{ spec: { renewTime: string } }>(leasePath)).spec.renewTime;
      const first = await renewed();
      await waitFor('a to renew twice', async () => (await renewed()) !== first && a.e.isLeader, { timeoutMs: 20000, intervalMs: 100 });
      const second = await renewed();
      await waitFor('another renewal', async () => (await renewed()) !== second, { timeoutMs: 20000, intervalMs: 100 });
      expect(b.e.isLeader, 'b while a renews').to.equal(false);

      await a.e.stop();
      expect(a.log).to.deep.equal(['started', 'stopped']);
      await waitFor('b to take the released lease', () => b.e.isLeader, { timeoutMs: 20000, intervalMs: 50 });
      const lease = await env.rest.get<{ spec: { holderIdentity: string; leaseTransitions: number } }>(leasePath);
      expect(lease.spec.holderIdentity).to.equal('b');

      // Someone else holds it now (b was partitioned, say): b steps down at its next attempt.
      const current = await env.rest.get<KubeObjectWithSpec>(leasePath);
      await env.rest.replace(leasePath, { ...current, spec: { ...current.spec, holderIdentity: 'intruder', renewTime: new Date().toISOString().replace('Z', '000Z') } });
      await waitFor('b to step down', () => !b.e.isLeader, { timeoutMs: 20000, intervalMs: 50 });
      expect(b.log).to.deep.equal(['started', 'stopped']);
    } finally {
      await a.e.stop();
      await b.e.stop();
    }
  });
});

interface KubeObjectWithSpec {
  metadata?: Record<string, unknown>;
  spec: Record<string, unknown>;
}
