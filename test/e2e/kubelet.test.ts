/**
 * Pod lifecycle behaviours the operator relies on, exercised with plain
 * shell containers (busybox-style commands; on the local environment they
 * run on the host): crash-loop restarts with back-off, liveness-probe
 * restarts, an exec readiness probe that only passes inside the pod's own
 * mount namespace with its downward-API environment, and deletion with
 * SIGTERM, then SIGKILL after the grace period for a process that ignores it.
 */
import { expect } from 'chai';
import { mountNamespacesSupported } from '../support/kube/kubelet/process.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, describePods, ENV_TIMEOUT_MS, isReady, kubeEnv, type KubeEnv, type Pod } from './helpers.js';

const IMAGE = 'busybox:1.36';
/**
 * A mount path that exists only inside the pod (locally: in its private mount
 * namespace). It is passed as a separate argument so the no-namespace
 * fallback, which rewrites mount paths in arguments, handles it too.
 */
const MNT = '/tmp/irisdb-e2e-pod-mnt';

type StatusPod = Pod;

function podYaml(ns: string, name: string, spec: string): string {
  return `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name}, namespace: ${ns}, labels: { e2e: ${name} } }\nspec:\n${spec}`;
}

describe('e2e: pod lifecycle on the node', function () {
  this.timeout(180000);
  let env: KubeEnv;
  let ns: string;

  const pod = (name: string): Promise<StatusPod | null> => env.rest.find<StatusPod>(`/api/v1/namespaces/${ns}/pods/${name}`);
  const waitPod = async (name: string, what: string, ok: (p: StatusPod) => boolean, timeoutMs = 120000): Promise<StatusPod> => {
    try {
      return await waitFor(`${name}: ${what}`, async () => {
        const p = await pod(name);
        return p !== null && ok(p) && p;
      }, { timeoutMs, intervalMs: 200 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await describePods(env, ns, `e2e=${name}`)}`);
    }
  };

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    ns = await createNamespace(env, 'pods');
  });

  after(async function () {
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('restarts a crashing container with back-off, counting restarts and keeping the last exit', async () => {
    await env.kubectl(['apply', '-f', '-'], podYaml(ns, 'crasher', `
  restartPolicy: Always
  containers:
  - { name: main, image: ${IMAGE}, command: [sh, -c, "echo crashing; exit 3"] }
`));
    const seen = new Set<string>();
    const p = await waitPod('crasher', 'two restarts', (x) => {
      const cs = x.status?.containerStatuses?.[0];
      const reason = cs?.state?.waiting?.reason;
      if (reason !== undefined) seen.add(reason);
      return (cs?.restartCount ?? 0) >= 2;
    });
    const cs = p.status!.containerStatuses![0]!;
    expect(cs.lastState?.terminated?.exitCode).to.equal(3);
    expect(p.status?.phase).to.equal('Running');
    expect(isReady(p)).to.equal(false);
    expect([...seen], 'waiting reasons seen').to.include('CrashLoopBackOff');
  });

  it('passes an exec readiness probe that needs the pod env and its own mounts, and restarts on liveness failure', async () => {
    await env.kubectl(['apply', '-f', '-'], podYaml(ns, 'prober', `
  volumes: [{ name: scratch, emptyDir: {} }]
  containers:
  - name: main
    image: ${IMAGE}
    command: [sh, -c, 'case "$MY_IP" in [0-9]*) ;; *) exit 1;; esac; [ "$MY_NAME" = prober ] && echo "$MY_IP" > "$1/ready"; exec sleep 3600', sh, ${MNT}]
    env:
    - { name: MY_IP, valueFrom: { fieldRef: { fieldPath: status.podIP } } }
    - { name: MY_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
    volumeMounts: [{ name: scratch, mountPath: ${MNT} }]
    readinessProbe: { exec: { command: [sh, -c, 'test -s "$1/ready"', sh, ${MNT}] }, periodSeconds: 1 }
  - name: doomed
    image: ${IMAGE}
    command: [sh, -c, 'exec sleep 3600']
    livenessProbe: { tcpSocket: { port: 9 }, periodSeconds: 1, failureThreshold: 2 }
`));
    const p = await waitPod('prober', 'main ready and doomed restarted by liveness', (x) => {
      const byName = Object.fromEntries((x.status?.containerStatuses ?? []).map((c) => [c.name, c]));
      return byName.main?.ready === true && (byName.doomed?.restartCount ?? 0) >= 1;
    });
    const doomed = p.status!.containerStatuses!.find((c) => c.name === 'doomed')!;
    expect(doomed.lastState?.terminated, 'killed by the kubelet').to.not.equal(undefined);
    expect(p.status?.phase).to.equal('Running');
  });

  it('gives a pod an in-cluster API identity: projected token, CA, namespace and KUBERNETES_SERVICE_*', async function () {
    // Client libraries read the token from a fixed path, which only a mount namespace can provide.
    if (env.local !== undefined && !mountNamespacesSupported()) this.skip();
    // Reads the files a client library's in-cluster config reads; the default
    // ServiceAccount may call /version but not list pods (RBAC).
    const script = [
      "const fs = require('fs'), https = require('https'); const d = '/var/run/secrets/kubernetes.io/serviceaccount/';",
      "const get = (p) => new Promise((ok, fail) => https.get({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, path: p,",
      "  ca: fs.readFileSync(d + 'ca.crt'), headers: { Authorization: 'Bearer ' + fs.readFileSync(d + 'token', 'utf8') } }, (r) => { r.resume(); ok(r.statusCode); }).on('error', fail));",
      "(async () => { const ns = fs.readFileSync(d + 'namespace', 'utf8'); const pods = await get('/api/v1/namespaces/' + ns + '/pods'); const version = await get('/version');",
      "  console.log('pods', pods, 'version', version); process.exit(pods === 403 && version === 200 ? 0 : 1); })().catch((e) => { console.error(e); process.exit(2); });",
    ].join('\n');
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'incluster', namespace: ns, labels: { e2e: 'incluster' } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: process.env.IRIS_E2E_NODE_IMAGE ?? 'irisdb/node:dev', command: ['node', '-e', script] }] },
    }));
    const p = await waitPod('incluster', 'completed', (x) => x.status?.phase === 'Succeeded' || x.status?.phase === 'Failed');
    expect(p.status?.phase, await env.podLogs(ns, 'incluster')).to.equal('Succeeded');
  });

  it('deletes with SIGTERM, and SIGKILL after the grace period for a process that ignores it', async () => {
    await env.kubectl(['apply', '-f', '-'], [
      podYaml(ns, 'polite', `
  terminationGracePeriodSeconds: 30
  containers:
  - { name: main, image: ${IMAGE}, command: [sh, -c, 'trap "echo got SIGTERM; exit 0" TERM; while true; do sleep 0.1; done'] }
`),
      podYaml(ns, 'stubborn', `
  terminationGracePeriodSeconds: 2
  containers:
  - { name: main, image: ${IMAGE}, command: [sh, -c, 'trap "echo ignoring SIGTERM" TERM; while true; do sleep 0.1; done'] }
`)].join('\n---\n'));
    await waitPod('polite', 'Running', (x) => isReady(x));
    await waitPod('stubborn', 'Running', (x) => isReady(x));
    await env.kubectl(['delete', 'pod', '-n', ns, 'polite', 'stubborn', '--wait=true', '--timeout=60s']);
    expect(await pod('polite')).to.equal(null);
    expect(await pod('stubborn')).to.equal(null);
    if (env.local !== undefined) {
      expect(await env.podLogs(ns, 'polite')).to.contain('got SIGTERM');
      const stubborn = await env.podLogs(ns, 'stubborn');
      expect(stubborn).to.contain('ignoring SIGTERM');
      expect(stubborn).to.contain('SIGKILL after 2000 ms');
    }
  });
});
