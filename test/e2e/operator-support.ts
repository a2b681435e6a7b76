/**
 * Shared by the operator's e2e specs: installs the CRDs (crds/ of this
 * checkout; a minimal IrisCluster CRD of our own when that file is not
 * there), the operator with its ServiceAccount and namespaced RBAC (the
 * Helm chart's own Deployment, ServiceAccount and RBAC rendered by `helm
 * template` — or, with IRIS_E2E_OPERATOR_FROM=builtin or no chart, an
 * equivalent set written here), IrisCluster manifests, waits
 * on the resource's status, and a loopback TCP forwarder that lets the
 * integration tests' ClusterLoad (which seeds from 127.0.0.1:<port>) reach
 * a cluster whose nodes listen on pod IPs.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dump, loadAll } from 'js-yaml';
import { kubeBinaries } from '../support/kube/binaries.js';
import type { KubeObject } from '../support/kube/rest.js';
import { waitFor } from '../support/wait.js';
import { describePods, isReady, listPods, type KubeEnv, type Pod } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root, from dist/test/e2e. */
export const REPO_ROOT = path.resolve(here, '../../..');
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

/** Used only when crds/irisclusters.irisdb.io.yaml is missing: enough schema for the operator (status kept whole). */
const FALLBACK_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'irisclusters.irisdb.io' },
  spec: {
    group: 'irisdb.io',
    scope: 'Namespaced',
    names: { plural: 'irisclusters', singular: 'iriscluster', kind: 'IrisCluster', shortNames: ['iris'] },
    versions: [{
      name: 'v1alpha1', served: true, storage: true,
      subresources: { status: {} },
      additionalPrinterColumns: [
        { name: 'Shards', type: 'integer', jsonPath: '.spec.shards' },
        { name: 'Ready', type: 'string', jsonPath: '.status.ready' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object', 'x-kubernetes-preserve-unknown-fields': true,
              properties: { shards: { type: 'integer', minimum: 1, maximum: 128, default: 3 }, replicasPerShard: { type: 'integer', minimum: 0, maximum: 5, default: 1 } },
            },
            status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      },
    }],
  },
};

/** Applies the IrisCluster CRD (idempotent; CRDs are cluster-wide and shared by specs) and waits until it is served. */
export async function installCrds(env: KubeEnv, namespace: string): Promise<'crds/' | 'fallback'> {
  const file = path.join(REPO_ROOT, 'crds', 'irisclusters.irisdb.io.yaml');
  const source = fs.existsSync(file) ? 'crds/' : 'fallback';
  // The whole directory, the way the CRD spec and the docs install it (idempotent, shared with them).
  if (source === 'crds/') await env.kubectl(['apply', '-f', path.dirname(file)]);
  else await env.kubectl(['apply', '-f', '-'], JSON.stringify(FALLBACK_CRD));
  await waitFor('the IrisCluster CRD to be Established', async () => {
    const c = await env.rest.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/irisclusters.irisdb.io');
    return (c.status?.conditions ?? []).some((x) => x.type === 'Established' && x.status === 'True');
  }, { timeoutMs: 60000, intervalMs: 100 });
  await waitFor('irisclusters to be served', () => env.rest.find(`/apis/irisdb.io/v1alpha1/namespaces/${namespace}/irisclusters`), { timeoutMs: 30000, intervalMs: 100 });
  return source;
}

export interface OperatorDeployOptions {
  readonly replicas?: number;
  readonly leaseName?: string;
  readonly logLevel?: string;
}

/**
 * The operator in `namespace`, watching only that namespace, with a Role
 * granting what it needs there (the Helm chart's rules, namespaced).
 */
export function operatorManifests(namespace: string, o: OperatorDeployOptions = {}): string {
  const rules = [
    { apiGroups: ['irisdb.io'], resources: ['irisclusters'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
    { apiGroups: ['irisdb.io'], resources: ['irisclusters/status'], verbs: ['get', 'update', 'patch'] },
    { apiGroups: ['irisdb.io'], resources: ['irisclusters/finalizers'], verbs: ['update'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'delete', 'patch'] },
    { apiGroups: [''], resources: ['services', 'secrets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch', 'delete'] },
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  ];
  const labels = { 'app.kubernetes.io/name': 'irisdb-operator' };
  const objects = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'irisdb-operator', namespace } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'irisdb-operator', namespace }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'irisdb-operator', namespace },
      subjects: [{ kind: 'ServiceAccount', name: 'irisdb-operator', namespace }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'irisdb-operator' },
    },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'irisdb-operator', namespace, labels },
      spec: {
        replicas: o.replicas ?? 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'irisdb-operator',
            terminationGracePeriodSeconds: 30,
            securityContext: { runAsNonRoot: true, runAsUser: 65532 },
            containers: [{
              name: 'operator',
              image: OPERATOR_IMAGE,
              env: [
                { name: 'IRIS_OPERATOR_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'IRIS_WATCH_NAMESPACES', value: namespace },
                { name: 'IRIS_LOG_LEVEL', value: o.logLevel ?? 'info' },
                { name: 'IRIS_LEADER_ELECTION_ID', value: o.leaseName ?? 'irisdb-operator' },
                { name: 'IRIS_METRICS_PORT', value: '9090' },
              ],
              ports: [{ name: 'metrics', containerPort: 9090 }],
              readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 2 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, initialDelaySeconds: 5, periodSeconds: 10 },
              securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            }],
          },
        },
      },
    },
  ];
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
}

const run = promisify(execFile);
const CHART = path.join(REPO_ROOT, 'helm', 'irisdb');

/** Where deployOperator takes the operator's objects from. */
export function operatorSource(): 'chart' | 'builtin' {
  if (process.env.IRIS_E2E_OPERATOR_FROM === 'builtin') return 'builtin';
  return fs.existsSync(path.join(CHART, 'templates', 'deployment.yaml')) ? 'chart' : 'builtin';
}

/**
 * The chart's objects for an operator in `namespace` that watches only that
 * namespace (a Role there, nothing cluster-wide but the CRDs), rendered by
 * the real helm.
 */
export async function chartManifests(namespace: string, o: OperatorDeployOptions = {}): Promise<string> {
  const tag = OPERATOR_IMAGE.slice(OPERATOR_IMAGE.lastIndexOf(':') + 1);
  const repo = OPERATOR_IMAGE.slice(0, OPERATOR_IMAGE.lastIndexOf(':'));
  const args = [
    'template', 'irisdb', CHART, '--namespace', namespace, '--skip-crds',
    '--set', `watchNamespaces={${namespace}}`, '--set', `image.repository=${repo}`, '--set', `image.tag=${tag}`,
    '--set', `replicaCount=${o.replicas ?? 1}`, '--set', `logLevel=${o.logLevel ?? 'info'}`, '--set', `leaderElectionId=${o.leaseName ?? 'irisdb-operator'}`,
    // Cluster-wide conveniences would be shared by every spec's namespace: left out here.
    '--set', 'rbac.aggregateToDefaultRoles=false',
  ];
  const { stdout } = await run((await kubeBinaries()).helm, args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/**
 * The chart's objects as the local environment can run them: the test
 * kubelet bind-mounts volumes one after the other from its state directory
 * under /tmp, so the operator's /tmp emptyDir (listed before the
 * service-account token that admission appends) would hide the token's
 * source. Locally there is no read-only root filesystem to need it anyway.
 */
export function forLocalKubelet(manifests: string): string {
  const docs = (loadAll(manifests) as Array<Record<string, unknown> | null>).filter((d): d is Record<string, unknown> => d !== null);
  for (const d of docs) {
    if (d.kind !== 'Deployment') continue;
    const spec = (d as { spec: { template: { spec: { volumes?: Array<{ name: string; emptyDir?: unknown }>; containers: Array<{ volumeMounts?: Array<{ name: string; mountPath: string }> }> } } } }).spec.template.spec;
    const tmp = new Set<string>();
    for (const c of spec.containers) {
      for (const m of c.volumeMounts ?? []) if (m.mountPath === '/tmp') tmp.add(m.name);
      c.volumeMounts = (c.volumeMounts ?? []).filter((m) => m.mountPath !== '/tmp');
    }
    spec.volumes = (spec.volumes ?? []).filter((v) => !tmp.has(v.name));
  }
  return docs.map((d) => dump(d)).join('---\n');
}

export async function deployOperator(env: KubeEnv, namespace: string, o: OperatorDeployOptions = {}): Promise<Pod[]> {
  let manifests = operatorSource() === 'chart' ? await chartManifests(namespace, o) : operatorManifests(namespace, o);
  if (env.mode === 'local' && operatorSource() === 'chart') manifests = forLocalKubelet(manifests);
  await env.kubectl(['apply', '-f', '-'], manifests);
  try {
    return await waitFor('the operator pods to be Ready', async () => {
      const pods = await listPods(env, namespace, OPERATOR_SELECTOR);
      return pods.length === (o.replicas ?? 1) && pods.every(isReady) && pods;
    }, { timeoutMs: 120000, intervalMs: 250 });
  } catch (err) {
    throw new Error(`${(err as Error).message} (objects from ${operatorSource()})\n${await describePods(env, namespace, OPERATOR_SELECTOR)}`);
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
