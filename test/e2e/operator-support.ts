/**
 * Shared by the operator's e2e specs: installs the CRDs (crds/ of this
 * checkout), the operator with its ServiceAccount and namespaced RBAC (the
 * Helm chart's own Deployment, ServiceAccount and RBAC, rendered by `helm
 * template`: the specs run what users install), IrisCluster manifests, waits
 * on the resource's status, and a loopback TCP forwarder that lets the
 * integration tests' ClusterLoad (which seeds from 127.0.0.1:<port>) reach
 * a cluster whose nodes listen on pod IPs.
 */
import net from 'node:net';
import path from 'node:path';
import { dump } from 'js-yaml';
import { Cluster } from 'ioredis';
import { REPO_ROOT } from '../support/kube/binaries.js';
import { openHelm, parseManifests } from '../support/kube/helm.js';
import type { KubeObject } from '../support/kube/objects.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, describePods, ENV_TIMEOUT_MS, isReady, kubeEnv, listPods, type KubeEnv, type Pod } from './helpers.js';

export const NODE_IMAGE = process.env.IRIS_E2E_NODE_IMAGE ?? 'irisdb/node:dev';
export const OPERATOR_IMAGE = process.env.IRIS_E2E_OPERATOR_IMAGE ?? 'irisdb/operator:dev';
export const OPERATOR_SELECTOR = 'app.kubernetes.io/name=irisdb-operator';

export interface IrisClusterObject extends KubeObject {
  spec?: Record<string, unknown> & { shards?: number; replicasPerShard?: number };
  status?: {
    phase?: string;
    ready?: string;
    readyNodes?: number;
    nodes?: number;
    observedGeneration?: number;
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    shards?: Array<{
      id: string; slots: string; slotCount: number; primary: string; targetPrimary: string; epoch: number;
      replicas: Array<{ name: string; link: string; lagOps?: number; lagMs?: number }>; failover?: string;
    }>;
    migration?: Record<string, unknown> | null;
    controllerState?: unknown;
  };
}

/** Applies the IrisCluster CRD (idempotent; CRDs are cluster-wide and shared by specs) and waits until it is served. */
export async function installCrds(env: KubeEnv, namespace: string): Promise<void> {
  // The whole directory, the way the CRD spec and the docs install it (idempotent, shared with them).
  await env.kubectl(['apply', '-f', path.join(REPO_ROOT, 'crds')]);
  await waitFor('the IrisCluster CRD to be Established', async () => {
    const c = await env.rest.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/irisclusters.irisdb.io');
    return (c.status?.conditions ?? []).some((x) => x.type === 'Established' && x.status === 'True');
  }, { timeoutMs: 60000, intervalMs: 100 });
  await waitFor('irisclusters to be served', () => env.rest.find(`/apis/irisdb.io/v1alpha1/namespaces/${namespace}/irisclusters`), { timeoutMs: 30000, intervalMs: 100 });
}

export interface OperatorDeployOptions {
  readonly replicas?: number;
  readonly leaseName?: string;
  readonly logLevel?: string;
  /** The operator's dashboard port (chart value dashboard.port); default 0, off: pods of the test kubelet share the host's loopback. */
  readonly dashboardPort?: number;
}

/**
 * The chart's objects for an operator in `namespace` that watches only that
 * namespace (a Role there, nothing cluster-wide but the CRDs), rendered by
 * the real helm.
 */
export async function chartManifests(env: KubeEnv, namespace: string, o: OperatorDeployOptions = {}): Promise<string> {
  const tag = OPERATOR_IMAGE.slice(OPERATOR_IMAGE.lastIndexOf(':') + 1);
  const repo = OPERATOR_IMAGE.slice(0, OPERATOR_IMAGE.lastIndexOf(':'));
  const args = [
    '--skip-crds',
    '--set', `watchNamespaces={${namespace}}`, '--set', `image.repository=${repo}`, '--set', `image.tag=${tag}`,
    '--set', `replicaCount=${o.replicas ?? 1}`, '--set', `logLevel=${o.logLevel ?? 'info'}`, '--set', `leaderElectionId=${o.leaseName ?? 'irisdb-operator'}`,
    // Cluster-wide conveniences would be shared by every spec's namespace: left out here.
    '--set', 'rbac.aggregateToDefaultRoles=false',
    '--set', `dashboard.port=${o.dashboardPort ?? 0}`,
  ];
  const helm = openHelm(env.helmPath, env.kubeconfig);
  try {
    return await helm.template('irisdb', namespace, args);
  } finally {
    helm.close();
  }
}

/**
 * The chart's objects as the local environment can run them: the test
 * kubelet bind-mounts volumes one after the other from its state directory
 * under /tmp, so the operator's /tmp emptyDir (listed before the
 * service-account token that admission appends) would hide the token's
 * source. Locally there is no read-only root filesystem to need it anyway.
 * The readiness probe runs every second instead of every 5: its first run,
 * at container start, finds the operator still starting, so each operator
 * pod (11 deployments, and the replacements of killed ones) waited out a
 * whole period to be Ready; what /readyz answers is the same.
 */
export function forLocalKubelet(manifests: string): string {
  const docs = parseManifests(manifests);
  for (const d of docs) {
    if (d.kind !== 'Deployment') continue;
    const spec = (d as unknown as { spec: { template: { spec: { volumes?: Array<{ name: string; emptyDir?: unknown }>; containers: Array<{ volumeMounts?: Array<{ name: string; mountPath: string }>; readinessProbe?: { periodSeconds?: number } }> } } } }).spec.template.spec;
    const tmp = new Set<string>();
    for (const c of spec.containers) {
      if (c.readinessProbe !== undefined) c.readinessProbe.periodSeconds = 1;
      for (const m of c.volumeMounts ?? []) if (m.mountPath === '/tmp') tmp.add(m.name);
      c.volumeMounts = (c.volumeMounts ?? []).filter((m) => m.mountPath !== '/tmp');
    }
    spec.volumes = (spec.volumes ?? []).filter((v) => !tmp.has(v.name));
  }
  return docs.map((d) => dump(d)).join('---\n');
}

export async function deployOperator(env: KubeEnv, namespace: string, o: OperatorDeployOptions = {}): Promise<Pod[]> {
  let manifests = await chartManifests(env, namespace, o);
  if (env.mode === 'local') manifests = forLocalKubelet(manifests);
  await env.kubectl(['apply', '-f', '-'], manifests);
  try {
    return await waitFor('the operator pods to be Ready', async () => {
      const pods = await listPods(env, namespace, OPERATOR_SELECTOR);
      return pods.length === (o.replicas ?? 1) && pods.every(isReady) && pods;
    }, { timeoutMs: 120000, intervalMs: 250 });
  } catch (err) {
    throw new Error(`${(err as Error).message} (objects from the chart)\n${await describePods(env, namespace, OPERATOR_SELECTOR)}`);
  }
}

export function irisClusterManifest(namespace: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisCluster', metadata: { name, namespace }, spec: { image: NODE_IMAGE, ...spec } });
}

export function getCluster(env: KubeEnv, namespace: string, name: string): Promise<IrisClusterObject> {
  return env.rest.get<IrisClusterObject>(`/apis/irisdb.io/v1alpha1/namespaces/${namespace}/irisclusters/${name}`);
}

/** Waits until the resource's status satisfies `ok`; the error names the last status seen. */
export async function waitForStatus(env: KubeEnv, namespace: string, name: string, what: string, ok: (c: IrisClusterObject) => boolean, timeoutMs = 180000): Promise<IrisClusterObject> {
  let last: IrisClusterObject | undefined;
  try {
    return await waitFor(what, async () => {
      last = await getCluster(env, namespace, name);
      return ok(last) && last;
    }, { timeoutMs, intervalMs: 250 });
  } catch (err) {
    const { controllerState: _s, ...status } = last?.status ?? {};
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(status, null, 1)}`);
  }
}

export interface CoreEvent extends KubeObject {
  involvedObject?: { kind?: string; name?: string; uid?: string };
  reason?: string;
  message?: string;
  type?: string;
  /** The operator instance (pod name) that recorded it. */
  reportingInstance?: string;
}

export async function clusterEvents(env: KubeEnv, namespace: string, name: string): Promise<CoreEvent[]> {
  const list = await env.rest.get<{ items: CoreEvent[] }>(`/api/v1/namespaces/${namespace}/events`);
  return list.items.filter((e) => e.involvedObject?.kind === 'IrisCluster' && e.involvedObject.name === name);
}

/** The operator's logs and the cluster's status and events, for a failing test's message. */
export async function diagnostics(env: KubeEnv, namespace: string, name: string): Promise<string> {
  const parts: string[] = [];
  for (const p of await listPods(env, namespace, OPERATOR_SELECTOR).catch(() => [])) parts.push(`operator pod ${p.metadata?.name}:\n${await env.podLogs(namespace, p.metadata?.name ?? '')}`);
  // One node pod's log says why nodes do not come up when none do.
  const nodePods = await listPods(env, namespace, `app.kubernetes.io/instance=${name}`).catch(() => [] as Pod[]);
  for (const p of nodePods.slice(0, 2)) parts.push(`node pod ${p.metadata?.name}:\n${(await env.podLogs(namespace, p.metadata?.name ?? '')).slice(-2500)}`);
  const c = await getCluster(env, namespace, name).catch(() => undefined);
  if (c !== undefined) {
    const { controllerState: _s, ...status } = c.status ?? {};
    parts.push(`status: ${JSON.stringify(status)}`);
  }
  const events = await clusterEvents(env, namespace, name).catch(() => []);
  parts.push(`events:\n${events.map((e) => `  ${e.type} ${e.reason}: ${e.message}`).join('\n')}`);
  return parts.join('\n');
}

export interface SeedProxy {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A TCP forwarder on 127.0.0.1:<port> to whatever `target()` answers at
 * connection time (a node pod's RESP address). Cluster clients only seed
 * from it: CLUSTER SLOTS names the pods' own addresses, which they use.
 */
export function seedProxy(target: () => Promise<{ host: string; port: number }>): Promise<SeedProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    target().then(({ host, port }) => {
      const upstream = net.connect({ host, port });
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('connect', () => {
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    }, () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address() as net.AddressInfo;
      resolve({
        port: addr.port,
        close: () => new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      });
    });
  });
}

/** The RESP address of some Ready node pod of `cluster` (for seedProxy). */
export function anyReadyNode(env: KubeEnv, namespace: string, cluster: string): () => Promise<{ host: string; port: number }> {
  return async () => {
    const pods = await listPods(env, namespace, `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${cluster}`);
    const ready = pods.filter(isReady);
    if (ready.length === 0) throw new Error(`no Ready node pod of ${cluster}`);
    const p = ready[Math.floor(Math.random() * ready.length)]!;
    const ep = await env.podEndpoint(namespace, p.metadata!.name!, 6379);
    return { host: ep.host, port: ep.port };
  };
}

/** `fn` with an ioredis Cluster client seeded by the first node pod of `cluster` (a port-forward the harness closes after). */
export async function withClusterClient<T>(env: KubeEnv, namespace: string, cluster: string, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const pod = (await listPods(env, namespace, `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${cluster}`))[0];
  if (pod === undefined) throw new Error(`no node pod of ${namespace}/${cluster}`);
  const seed = await env.podEndpoint(namespace, pod.metadata!.name!, 6379);
  const client = new Cluster([{ host: seed.host, port: seed.port }], { maxRedirections: 16 });
  client.on('error', () => {});
  try {
    return await fn(client);
  } finally {
    client.disconnect();
    seed.close();
  }
}

/** `kubectl patch` of the IrisCluster's spec (a JSON merge patch), the way a user changes it. */
export async function patchClusterSpec(env: KubeEnv, namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await env.kubectl(['patch', 'iriscluster', name, '-n', namespace, '--type=merge', '-p', JSON.stringify({ spec })]);
}

/** The nodes' admin token, from the Secret the operator made for the cluster. */
export async function clusterToken(env: KubeEnv, namespace: string, cluster: string): Promise<string> {
  const secret = await env.rest.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/secrets/${cluster}-token`);
  const b64 = secret.data?.token;
  if (b64 === undefined) throw new Error(`Secret ${namespace}/${cluster}-token has no "token" key`);
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** Who holds the operator's Lease (the chart's leaderElectionId, in the operator's namespace), if anyone. */
export async function leaseHolder(env: KubeEnv, namespace: string, lease = 'irisdb-operator'): Promise<string | undefined> {
  const l = await env.rest.get<{ spec?: { holderIdentity?: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${lease}`);
  const holder = l.spec?.holderIdentity;
  return holder === '' ? undefined : holder;
}

/**
 * The usual frame of an operator spec, as mocha hooks of the calling
 * describe: before, the shared Kubernetes environment and a new namespace
 * with the CRDs and the chart's operator (handed to `use`); after each
 * failed test, diagnostics for `cluster`; at the end, the namespace deleted.
 * `afterEachTest` runs after every test first (e.g. closing clients).
 */
export function operatorNamespace(
  prefix: string,
  cluster: string,
  use: (env: KubeEnv, namespace: string) => void,
  o: { readonly afterEachTest?: () => void } = {},
): void {
  let env: KubeEnv | undefined;
  let ns: string | undefined;
  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    ns = await createNamespace(env, prefix);
    use(env, ns);
    await installCrds(env, ns);
    await deployOperator(env, ns);
  });
  afterEach(async function () {
    o.afterEachTest?.();
    if (this.currentTest?.state === 'failed' && env !== undefined && ns !== undefined) {
      process.stderr.write(`\n--- diagnostics for "${this.currentTest.title}" ---\n${await diagnostics(env, ns, cluster)}\n`);
    }
  });
  after(async () => {
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });
}
