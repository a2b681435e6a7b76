/**
 * The pod template of a shard's StatefulSet, from the IrisCluster spec
 * alone: the image and every setting come from the spec, never from the
 * operator's own version, so upgrading the operator leaves the templates of
 * running clusters as they are (docs/architecture.md §5). Pure.
 */
import type { V1Affinity, V1Container, V1EnvVar, V1PodTemplateSpec } from '@kubernetes/client-node';
import { DEFAULTS, type IrisClusterSpec } from '../iris-cluster.js';
import { backupPodParts } from './backup-pod-parts.js';
import { withAuthAndTls } from './auth-tls-pod.js';
import { CONTAINER, DATA_VOLUME, LABEL_COMPONENT, LABEL_MANAGED_BY, MANAGER, PORTS, TOKEN_KEY, clientServiceName, headlessServiceName, shardSelector, tokenSecretName } from '../names.js';

/** The storage node's data directory inside the data volume (mounted at MOUNT). */
export const DATA_MOUNT = '/var/lib/irisdb';
export const DATA_DIR = `${DATA_MOUNT}/data`;
/** The unprivileged user of the node image. */
export const RUN_AS = 65532;

export function podTemplate(cluster: string, shardIndex: number, spec: IrisClusterSpec): V1PodTemplateSpec {
  const sched = spec.scheduling ?? {};
  return withAuthAndTls({
    metadata: { labels: { ...shardSelector(cluster, shardIndex), [LABEL_MANAGED_BY]: MANAGER, [LABEL_COMPONENT]: 'node' } },
    spec: {
      containers: [container(cluster, spec)],
      // Service links would put <SERVICE>_PORT variables in the environment: a Service named "iris" makes IRIS_PORT, a node setting.
      enableServiceLinks: false,
      // Nodes never talk to the Kubernetes API.
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 30,
      securityContext: {
        runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      affinity: sched.affinity ?? defaultAffinity(cluster, shardIndex),
      ...(sched.tolerations !== undefined ? { tolerations: [...sched.tolerations] } : {}),
      ...(sched.nodeSelector !== undefined ? { nodeSelector: { ...sched.nodeSelector } } : {}),
      ...(sched.topologySpreadConstraints !== undefined ? { topologySpreadConstraints: [...sched.topologySpreadConstraints] } : {}),
      // SQLite's temporary files: the root filesystem is read-only.
      volumes: [{ name: 'tmp', emptyDir: {} }],
    },
  }, cluster, spec);
}

function container(cluster: string, spec: IrisClusterSpec): V1Container {
  return {
    name: CONTAINER,
    image: spec.image ?? DEFAULTS.image,
    ...(spec.imagePullPolicy !== undefined ? { imagePullPolicy: spec.imagePullPolicy } : {}),
    args: ['--port', String(PORTS.resp), '--http-port', String(PORTS.http), '--bus-port', String(PORTS.bus), '--data-dir', DATA_DIR],
    env: env(cluster, spec),
    ports: [
      { name: 'resp', containerPort: PORTS.resp, protocol: 'TCP' },
      { name: 'http', containerPort: PORTS.http, protocol: 'TCP' },
      { name: 'bus', containerPort: PORTS.bus, protocol: 'TCP' },
    ],
    readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 3 },
    // Generous: a node busy with a full resync must not be killed for a slow answer.
    livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    resources: spec.resources ?? {},
    securityContext: {
      runAsNonRoot: true, runAsUser: RUN_AS, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    // /tmp last: the test kubelet bind-mounts in order from sources under its state dir in /tmp, which a /tmp mount would hide.
    volumeMounts: [
      { name: DATA_VOLUME, mountPath: DATA_MOUNT },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}

function env(cluster: string, spec: IrisClusterSpec): V1EnvVar[] {
  const r = spec.replication ?? {};
  const podIP = { valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } };
  return [
    { name: 'IRIS_BIND', ...podIP },
    { name: 'IRIS_ANNOUNCE_HOST', ...podIP },
    { name: 'IRIS_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    // Not an IRIS_* setting: only referenced by the allowed hosts below ($(VAR) is expanded by the kubelet).
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    // The DNS-rebinding guard lets HTTP clients name this cluster's own Services by their short names too.
    { name: 'IRIS_HTTP_ALLOWED_HOSTS', value: allowedHosts(cluster) },
    // A cluster member: not ready and no keys served until the operator pushes the map (issue #13).
    { name: 'IRIS_CLUSTER_ENABLED', value: 'yes' },
    { name: 'IRIS_ADMIN_TOKEN', valueFrom: { secretKeyRef: { name: tokenSecretName(cluster), key: TOKEN_KEY } } },
    { name: 'IRIS_MIN_SYNC_REPLICAS', value: String(r.minSyncReplicas ?? DEFAULTS.minSyncReplicas) },
    { name: 'IRIS_FSYNC', value: r.fsync ?? DEFAULTS.fsync },
    { name: 'IRIS_ACK_TIMEOUT_MS', value: String(r.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs) },
    ...backupPodParts(spec).env,
  ];
}

/** Host names HTTP clients inside the Kubernetes cluster use for this IrisCluster's Services and pods. */
export function allowedHosts(cluster: string): string {
  const client = clientServiceName(cluster);
  const nodes = headlessServiceName(cluster);
  return [client, `${client}.$(POD_NAMESPACE)`, nodes, `${nodes}.$(POD_NAMESPACE)`, `*.${nodes}`, `*.${nodes}.$(POD_NAMESPACE)`, '*.svc', '*.svc.cluster.local'].join(',');
}

/** Members of one shard prefer different Kubernetes nodes, so one machine's loss takes at most one copy. */
function defaultAffinity(cluster: string, shardIndex: number): V1Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        podAffinityTerm: {
          topologyKey: 'kubernetes.io/hostname',
          labelSelector: { matchLabels: shardSelector(cluster, shardIndex) },
        },
      }],
    },
  };
}
