/**
 * Which pods a CA rotation hears from (operator/kube/reconcile/tls-pod-probe.ts,
 * tls-probe-targets.ts): a node the controller knows without an HTTP address,
 * and a pod a StatefulSet should have that the controller has not seen, are
 * reported as not answering, so TrustBoth (and every later phase) waits for
 * them instead of moving on while they still trust only the old CA. The
 * pods that have an address are asked over real HTTP (a loopback server
 * answering GET /admin/tls as a node does).
 */
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';
import type { StepContext } from '../../operator/kube/reconcile/context.js';
import { podTlsProbe } from '../../operator/kube/reconcile/tls-pod-probe.js';
import { NOT_KNOWN, NO_HTTP_ADDRESS, expectedPods, probeTargets } from '../../operator/kube/reconcile/tls-probe-targets.js';
import { decideCaRotation } from '../../operator/kube/reconcile/tls-ca-rotation-plan.js';

const OLD = 'AA:01';
const NEW = 'BB:02';
const TOKEN = 'secret-token';
const cr = { apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisCluster', metadata: { name: 'iris', namespace: 'db', uid: 'u' }, spec: { tls: { enabled: true } } } as IrisCluster;

describe('operator/kube CA rotation: the pods it must hear from', () => {
  let server: http.Server;
  let url: string;
  const asked: string[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      asked.push(`${req.url} ${req.headers.authorization ?? ''}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ enabled: true, caFingerprints: [OLD, NEW], certificate: { fingerprint256: 'C0:01' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => { asked.length = 0; });

  function ctx(nodes: Array<{ name: string; httpUrl: string | null }>, sets: Array<[string, number]>): StepContext {
    const tokenSecret: V1Secret = { metadata: { name: 'iris-token' }, data: { token: Buffer.from(TOKEN).toString('base64') } };
    return {
      namespace: 'db',
      cluster: 'iris',
      resource: () => cr,
      client: { find: async () => tokenSecret },
      controller: { status: () => ({ shards: [{ nodes }] }) },
      statefulSets: (): V1StatefulSet[] => sets.map(([name, replicas]) => ({ metadata: { name }, spec: { replicas } } as V1StatefulSet)),
    } as unknown as StepContext;
  }

  it('reports a known node without an HTTP address as not answering, and the rotation waits for it', async () => {
    const probe = podTlsProbe(ctx([{ name: 'iris-shard-0-0', httpUrl: url }, { name: 'iris-shard-0-1', httpUrl: null }], [['iris-shard-0', 2]]), () => fetch);
    const pods = await probe('');
    expect(pods).to.deep.equal([
      { pod: 'iris-shard-0-0', caFingerprints: [OLD, NEW], certificate: 'C0:01' },
      { pod: 'iris-shard-0-1', error: NO_HTTP_ADDRESS },
    ]);
    expect(asked).to.deep.equal([`/admin/tls Bearer ${TOKEN}`]);
    const d = decideCaRotation({
      ca: { fingerprint: OLD, notBefore: 0, notAfter: 1e13 }, next: { fingerprint: NEW }, bundle: [OLD, NEW], served: { fingerprint: 'C0:01', signedBy: 'ca' }, pods, now: 1e12,
    }, { renewFraction: 1 / 3 });
    expect(d.do).to.equal('wait');
    expect(d).to.have.property('message').that.contains(`iris-shard-0-1 (unreachable: ${NO_HTTP_ADDRESS})`);
  });

  it('reports a pod a StatefulSet should have but the controller does not know; with no address at all it asks nobody', async () => {
    const pods = await podTlsProbe(ctx([{ name: 'iris-shard-0-0', httpUrl: url }], [['iris-shard-0', 2], ['iris-shard-1', 1]]), () => fetch)('');
    expect(pods.map((p) => ('error' in p ? `${p.pod}: ${p.error}` : p.pod))).to.deep.equal(['iris-shard-0-0', `iris-shard-0-1: ${NOT_KNOWN}`, `iris-shard-1-0: ${NOT_KNOWN}`]);
    const none = await podTlsProbe(ctx([{ name: 'iris-shard-0-0', httpUrl: null }], [['iris-shard-0', 1]]), () => fetch)('');
    expect(none).to.deep.equal([{ pod: 'iris-shard-0-0', error: NO_HTTP_ADDRESS }]);
    expect(asked).to.have.length(1);
  });

  it('targets: each pod once, known or expected, in name order', () => {
    expect(expectedPods([{ name: 'a-shard-0', replicas: 2 }, { name: 'a-shard-1', replicas: 0 }])).to.deep.equal(['a-shard-0-0', 'a-shard-0-1']);
    expect(probeTargets([{ name: 'p-1', httpUrl: 'http://x' }, { name: 'p-0', httpUrl: null }], ['p-0', 'p-1', 'p-2'])).to.deep.equal([
      { pod: 'p-0', error: NO_HTTP_ADDRESS }, { pod: 'p-1', httpUrl: 'http://x' }, { pod: 'p-2', error: NOT_KNOWN },
    ]);
    expect(probeTargets([], [])).to.deep.equal([]);
  });
});
