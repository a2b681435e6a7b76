/**
 * Smoke test of the Kubernetes environment with the real storage node: a
 * StatefulSet of 3 irisdb-node pods becomes Ready with distinct pod IPs that
 * answer PING; data written to pod 1 survives `kubectl delete pod` (the
 * StatefulSet controller recreates it on the same PVC, as a new process);
 * deleting the StatefulSet garbage-collects its pods but keeps the PVCs.
 */
import { expect } from 'chai';
import type { KubeObject } from '../support/kube/objects.js';
import { waitFor } from '../support/wait.js';
import {
  createNamespace, deleteNamespace, describePods, ENV_TIMEOUT_MS, isReady, kubeEnv, listPods, respCommand,
  type KubeEnv, type Pod,
} from './helpers.js';

const IMAGE = process.env.IRIS_E2E_NODE_IMAGE ?? 'irisdb/node:dev';
const SELECTOR = 'app.kubernetes.io/name=irisdb-smoke';

function manifest(namespace: string): string {
  return `
apiVersion: v1
kind: Service
metadata: { name: smoke, namespace: ${namespace} }
spec:
  clusterIP: None
  selector: { app.kubernetes.io/name: irisdb-smoke }
  ports: [{ name: resp, port: 6379 }]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: smoke, namespace: ${namespace} }
spec:
  serviceName: smoke
  replicas: 3
  podManagementPolicy: Parallel
  selector: { matchLabels: { app.kubernetes.io/name: irisdb-smoke } }
  template:
    metadata: { labels: { app.kubernetes.io/name: irisdb-smoke } }
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: node
        image: ${IMAGE}
        args: ["--port", "6379", "--http-port", "8080", "--bus-port", "16379", "--data-dir", "/var/lib/irisdb/data"]
        env:
        - { name: IRIS_BIND, valueFrom: { fieldRef: { fieldPath: status.podIP } } }
        - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
        - { name: POD_NAMESPACE, valueFrom: { fieldRef: { fieldPath: metadata.namespace } } }
        - { name: IRIS_LOG_LEVEL, value: info }
        ports:
        - { name: resp, containerPort: 6379 }
        - { name: http, containerPort: 8080 }
        - { name: bus, containerPort: 16379 }
        readinessProbe: { httpGet: { path: /readyz, port: http }, periodSeconds: 1, failureThreshold: 3 }
        livenessProbe: { tcpSocket: { port: resp }, initialDelaySeconds: 2, periodSeconds: 5, failureThreshold: 6 }
        volumeMounts: [{ name: data, mountPath: /var/lib/irisdb }]
  volumeClaimTemplates:
  - metadata: { name: data }
    spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 64Mi } } }
`;
}

async function ping(env: KubeEnv, namespace: string, pod: string): Promise<string> {
  const ep = await env.podEndpoint(namespace, pod, 6379);
  try {
    return await respCommand(ep.host, ep.port, ['PING']);
  } finally {
    ep.close();
  }
}

describe('e2e: StatefulSet of irisdb-node on Kubernetes', function () {
  this.timeout(300000);
  let env: KubeEnv;
  let ns: string;

  const readyPods = async (what: string, timeoutMs = 180000): Promise<Pod[]> => {
    try {
      return await waitFor(what, async () => {
        const pods = await listPods(env, ns, SELECTOR);
        return pods.length === 3 && pods.every(isReady) && pods;
      }, { timeoutMs, intervalMs: 250 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await describePods(env, ns, SELECTOR)}`);
    }
  };

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    ns = await createNamespace(env, 'sts');
  });

  after(async function () {
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('runs 3 Ready pods with distinct pod IPs, each answering PING over RESP', async () => {
    await env.kubectl(['apply', '-f', '-'], manifest(ns));
    const pods = await readyPods('3 Ready smoke pods');
    const ips = pods.map((p) => p.status?.podIP);
    expect(new Set(ips).size, `pod IPs ${ips.join(', ')}`).to.equal(3);
    for (const p of pods) {
      expect(p.spec?.nodeName, 'bound to a node').to.be.a('string').and.not.equal('');
      expect(await ping(env, ns, p.metadata!.name!)).to.equal('+PONG\r\n');
    }
    // Each pod mounts its own claim from the template, bound by the PV controller.
    const pvcs = await env.rest.get<{ items: Array<{ metadata: { name: string }; status: { phase: string } }> }>(`/api/v1/namespaces/${ns}/persistentvolumeclaims`);
    expect(pvcs.items.map((c) => `${c.metadata.name}:${c.status.phase}`).sort()).to.deep.equal(['data-smoke-0:Bound', 'data-smoke-1:Bound', 'data-smoke-2:Bound']);
  });

  it('keeps data written to pod 1 across `kubectl delete pod` (same PVC, new process)', async () => {
    const before = await env.rest.get<Pod>(`/api/v1/namespaces/${ns}/pods/smoke-1`);
    const pvcBefore = await env.rest.get<KubeObject>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/data-smoke-1`);
    const oldContainer = before.status?.containerStatuses?.[0]?.containerID;
    const oldPid = env.local?.kubelet.worker(ns, 'smoke-1')?.pids().node;
    const ep = await env.podEndpoint(ns, 'smoke-1', 6379);
    try {
      expect(await respCommand(ep.host, ep.port, ['SET', 'e2e:survivor', 'still-here'])).to.equal('+OK\r\n');
    } finally {
      ep.close();
    }

    await env.kubectl(['delete', 'pod', '-n', ns, 'smoke-1', '--wait=true', '--timeout=120s']);
    const after = await waitFor('smoke-1 recreated and Ready', async () => {
      const p = await env.rest.find<Pod>(`/api/v1/namespaces/${ns}/pods/smoke-1`);
      return p !== null && p.metadata?.uid !== before.metadata?.uid && isReady(p) && p;
    }, { timeoutMs: 180000, intervalMs: 250 }).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await describePods(env, ns, SELECTOR)}`);
    });

    expect(after.spec?.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).to.equal('data-smoke-1');
    const pvcAfter = await env.rest.get<KubeObject>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/data-smoke-1`);
    expect(pvcAfter.metadata?.uid, 'the same claim').to.equal(pvcBefore.metadata?.uid);
    expect(after.status?.containerStatuses?.[0]?.containerID, 'a new container').to.not.equal(oldContainer);
    if (env.local !== undefined) {
      const newPid = env.local.kubelet.worker(ns, 'smoke-1')?.pids().node;
      expect(newPid, 'a new process').to.be.a('number').and.not.equal(oldPid);
    }
    const ep2 = await env.podEndpoint(ns, 'smoke-1', 6379);
    try {
      expect(await respCommand(ep2.host, ep2.port, ['GET', 'e2e:survivor'])).to.equal('$10\r\nstill-here\r\n');
    } finally {
      ep2.close();
    }
  });

  it('garbage-collects the pods when the StatefulSet is deleted, keeping the claims', async () => {
    await env.kubectl(['delete', 'statefulset', '-n', ns, 'smoke', '--wait=true']);
    await waitFor('smoke pods to be garbage-collected', async () => (await listPods(env, ns, SELECTOR)).length === 0, { timeoutMs: 120000, intervalMs: 250 });
    const pvcs = await env.rest.get<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/persistentvolumeclaims`);
    expect(pvcs.items, 'PVCs outlive the StatefulSet (retention policy Retain)').to.have.length(3);
  });
});
