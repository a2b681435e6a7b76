/**
 * The HTTP API through the IrisCluster's client Service (issue #13): one
 * 2-shard × 1-replica cluster on the real kube-apiserver, controller-manager
 * and the test kubelet. The test kubelet runs pods as local processes on
 * loopback addresses and there is no kube-proxy, so the Service's ClusterIP
 * is allocated but routes nowhere here. What kube-proxy would balance a
 * ClusterIP connection over is the Service's EndpointSlices: the Ready pods
 * its selector picks, at the container port its `http` targetPort names. The
 * real EndpointSlice controller makes the slice but the API server refuses
 * to store loopback addresses in it, so the test resolves the endpoints by
 * the controller's own rule from the Service and the pods, and sends PUT /
 * GET / DELETE, a batch and a full scan to EVERY one of them — each must
 * serve every key wherever its shard is (forwarding), which is what a client
 * behind the ClusterIP relies on. Where an IrisDB node answers on the
 * ClusterIP (a real cluster with kube-proxy) the same checks also run through it.
 */
import { expect } from 'chai';
import type { KubeObject } from '../support/kube/objects.js';
import { clientServiceName } from '../../operator/kube/names.js';
import { waitFor } from '../support/wait.js';
import type { KubeEnv } from './helpers.js';
import { irisClusterManifest, operatorNamespace, waitForStatus, type IrisClusterObject } from './operator-support.js';

const CLUSTER = 'iris';
const NODES = 4;

interface Service extends KubeObject {
  spec: { clusterIP?: string; selector?: Record<string, string>; ports: Array<{ name: string; port: number; targetPort?: string | number }> };
}

interface PodObject extends KubeObject {
  spec: { containers: Array<{ ports?: Array<{ name?: string; containerPort: number }> }> };
  status?: { podIP?: string; conditions?: Array<{ type: string; status: string }> };
}

type EndpointSlice = KubeObject;

function readyWith(nodes: number) {
  return (c: IrisClusterObject): boolean => c.status?.phase === 'Ready' && c.status.ready === `${nodes}/${nodes}`;
}

/** An IrisDB node answers /readyz at `base` within `ms` (a TCP accept alone proves nothing: a sandbox proxy may take any address). */
async function servesIrisDb(base: string, ms: number): Promise<boolean> {
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(ms) });
    const body = (await res.json().catch(() => null)) as { status?: unknown } | null;
    return res.status === 200 && body?.status === 'ready';
  } catch {
    return false;
  }
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

describe('e2e: the HTTP API through the client Service', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;

  operatorNamespace('http-svc', CLUSTER, (e, n) => {
    env = e;
    ns = n;
  });

  /**
   * An idempotent write, sent again (at most 3 times) while it answers 503 replication_timeout: on this shared
   * 2-core machine a replica can miss ackTimeoutMs, which means "unknown", and a client retries a PUT or DELETE.
   */
  async function idempotent(url: string, init: RequestInit): Promise<Response> {
    let res = await fetch(url, init);
    for (let i = 0; i < 3 && res.status === 503 && /replication_timeout/.test(await res.clone().text()); i++) res = await fetch(url, init);
    return res;
  }

  /** PUT, GET, DELETE of keys spread over both shards, a one-slot batch and a full scan, all through `base`. */
  async function exercise(base: string, tag: string): Promise<void> {
    const keys = Array.from({ length: 8 }, (_, i) => `svc-${tag}-${i}`);
    for (const k of keys) {
      const put = await idempotent(`${base}/v1/kv/${k}`, { method: 'PUT', body: `v-${k}` });
      expect(put.status, `PUT ${k} via ${base}: ${await put.clone().text()}`).to.equal(200);
    }
    for (const k of keys) {
      const get = await fetch(`${base}/v1/kv/${k}`);
      expect(get.status, `GET ${k} via ${base}: ${await get.clone().text()}`).to.equal(200);
      expect(await get.text()).to.equal(`v-${k}`);
    }
    const ops = [{ op: 'put', key: `{b-${tag}}a`, value: '1' }, { op: 'put', key: `{b-${tag}}b`, value: '2' }, { op: 'get', key: `{b-${tag}}a` }];
    const batch = await fetch(`${base}/v1/kv:batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ops }) });
    expect(batch.status, `batch via ${base}: ${await batch.clone().text()}`).to.equal(200);
    expect(((await json(batch)).results as Array<Record<string, unknown>>)[2]).to.include({ op: 'get', found: true, value: '1' });
    // A full scan under the prefix: every key once, from both shards.
    const seen: string[] = [];
    let cursor = '';
    for (let pages = 0; pages < 1000; pages++) {
      const res = await fetch(`${base}/v1/scan?prefix=svc-${tag}-&limit=3${cursor === '' ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      expect(res.status, `scan via ${base}: ${await res.clone().text()}`).to.equal(200);
      const body = (await res.json()) as { items: Array<{ key: string }>; cursor: string | null };
      seen.push(...body.items.map((i) => i.key));
      if (body.cursor === null) break;
      cursor = body.cursor;
    }
    expect([...seen].sort()).to.deep.equal([...keys].sort());
    for (const k of keys) {
      const del = await idempotent(`${base}/v1/kv/${k}`, { method: 'DELETE' });
      expect(del.status, `DELETE ${k} via ${base}: ${await del.clone().text()}`).to.equal(200);
      expect((await fetch(`${base}/v1/kv/${k}`)).status).to.equal(404);
    }
  }

  it('serves PUT, GET, DELETE, batch and scan through every endpoint of the client Service', async () => {
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 2, replicasPerShard: 1 }));
    const ready = await waitForStatus(env, ns, CLUSTER, `phase Ready with ${NODES}/${NODES} nodes`, readyWith(NODES), 300000);
    // The WritesAvailable condition (issue #13) passes the CRD's condition schema on the real API server.
    const writes = ready.status?.conditions?.find((c) => c.type === 'WritesAvailable');
    expect(writes).to.deep.include({ status: 'True', reason: 'WritesAccepted' });
    const name = clientServiceName(CLUSTER);
    const svc = await env.rest.get<Service>(`/api/v1/namespaces/${ns}/services/${name}`);
    const httpPort = svc.spec.ports.find((p) => p.name === 'http')?.port;
    expect(httpPort, 'the client Service has an http port').to.be.a('number');

    // The EndpointSlice controller made the Service's slice but cannot fill it here: the API server refuses
    // loopback addresses in EndpointSlices ("may not be in the loopback range"), and the test kubelet's pods have them.
    const slices = await env.rest.get<{ items: EndpointSlice[] }>(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, { labelSelector: `kubernetes.io/service-name=${name}` });
    expect(slices.items.length, `an EndpointSlice of ${name}`).to.be.at.least(1);
    // So the endpoints are resolved by the controller's own rule: the Ready pods the Service's selector picks,
    // each at its pod IP and the container port the Service's targetPort name (`http`) names.
    const target = svc.spec.ports.find((p) => p.name === 'http')!.targetPort;
    const selector = Object.entries(svc.spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    expect(selector, 'the client Service has a selector').to.not.equal('');
    const endpoints = await waitFor(`${NODES} ready pods behind ${name}`, async () => {
      const pods = await env.rest.get<{ items: PodObject[] }>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: selector });
      const out: Array<{ pod: string; url: string }> = [];
      for (const p of pods.items) {
        const ready = (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
        const port = typeof target === 'number' ? target : p.spec.containers.flatMap((c) => c.ports ?? []).find((cp) => cp.name === target)?.containerPort;
        if (ready && p.status?.podIP !== undefined && port !== undefined) out.push({ pod: p.metadata?.name ?? '', url: `http://${p.status.podIP}:${port}` });
      }
      return out.length === NODES ? out : null;
    }, { timeoutMs: 120000, intervalMs: 500 });
    expect(new Set(endpoints.map((e) => e.pod)).size).to.equal(NODES);

    for (const [i, e] of endpoints.entries()) await exercise(e.url, `ep${i}`);

    const ip = svc.spec.clusterIP;
    if (ip !== undefined && ip !== 'None' && (await servesIrisDb(`http://${ip}:${httpPort}`, 2000))) {
      await exercise(`http://${ip}:${httpPort}`, 'cip');
      console.log(`      also through the ClusterIP ${ip}:${httpPort}`);
    } else {
      console.log(`      ClusterIP ${ip}:${httpPort} not routable here (no kube-proxy): checked all ${endpoints.length} endpoints it would balance over`);
    }
  });
});
