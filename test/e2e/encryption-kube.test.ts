/**
 * spec.encryption on Kubernetes (issue #14): an IrisCluster whose keyring
 * Secret does not exist yet is reported (Warning Event naming
 * spec.encryption.keySecretRef) and starts once the Secret is there; values
 * written through RESP are not in clear in the pods' data directories (the
 * PersistentVolumes' host directories of the test kubelet), while the keys
 * (stored in clear by design) are — so the search does reach the data; a
 * second key added to the Secret reaches the nodes through the kubelet's
 * Secret-volume refresh and the node's keyring reload, `irisctl --kube
 * CLUSTER re-encrypt --wait` (through the operator) moves every value to it, and the values read back — with no pod restarted.
 * Removing spec.encryption is refused by the API server (CEL rule).
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { EncryptionAdminClient } from '../../common/encryption-client.js';
import { REPO_ROOT } from '../support/kube/binaries.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { listPods, type KubeEnv, type Pod } from './helpers.js';
import { clusterEvents, clusterToken, irisClusterManifest, operatorNamespace, waitForStatus, type IrisClusterObject } from './operator-support.js';

const CLUSTER = 'enc';
const IRISCTL = path.join(REPO_ROOT, 'dist/operator/cli/irisctl.js');
const NODES = `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`;
const MARKER = `plaintext-marker-${crypto.randomBytes(6).toString('hex')}`;
const KEY_PREFIX = 'enc-key-name-visible';
const COUNT = 50;
const k1 = `k1 ${crypto.randomBytes(32).toString('base64')}\n`;
const k2 = `k2 ${crypto.randomBytes(32).toString('base64')}\n`;

/** Every file under `dir` that contains `needle` (the database, its WAL, the replication log). */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  const bytes = Buffer.from(needle);
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    if (fs.readFileSync(file).includes(bytes)) found.push(file);
  }
  return found;
}

describe('e2e: spec.encryption of an IrisCluster', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  const clients: Redis[] = [];

  operatorNamespace('encryption', CLUSTER, (e, n) => {
    env = e;
    ns = n;
  }, { afterEachTest: () => {
    for (const c of clients.splice(0)) c.disconnect();
  } });

  const setKeyring = (text: string): Promise<string> => env.kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'enc-keys', namespace: ns }, type: 'Opaque', stringData: { keyring: text },
  }));

  async function connect(pod: Pod): Promise<Redis> {
    const ep = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
    const client = new Redis({ host: ep.host, port: ep.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  }

  async function admin(pod: Pod): Promise<EncryptionAdminClient> {
    const ep = await env.podEndpoint(ns, pod.metadata!.name!, 8080);
    return new EncryptionAdminClient(`http://${ep.host}:${ep.port}`, await clusterToken(env, ns, CLUSTER), 10_000);
  }

  /** The host directory behind a pod's data claim (the test kubelet's PersistentVolumes are hostPath). */
  async function dataDir(pod: Pod): Promise<string> {
    const pvc = await env.rest.get<{ spec?: { volumeName?: string } }>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/data-${pod.metadata!.name!}`);
    const pv = await env.rest.get<{ spec?: { hostPath?: { path: string } } }>(`/api/v1/persistentvolumes/${pvc.spec!.volumeName!}`);
    return pv.spec!.hostPath!.path;
  }

  const restarts = (pods: Pod[]): string[] => pods.map((p) => `${p.metadata?.name}:${p.metadata?.uid}:${(p.status as { containerStatuses?: Array<{ restartCount: number }> } | undefined)?.containerStatuses?.[0]?.restartCount}`).sort();
  let primary: Pod;
  let pods: Pod[];

  it('reports a missing keyring Secret, then starts with it: values are not in clear on disk', async () => {
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 1, replicasPerShard: 1, encryption: { keySecretRef: { name: 'enc-keys' } } }));
    await waitFor('a Warning Event naming the missing keyring Secret', async () =>
      (await clusterEvents(env, ns, CLUSTER)).some((e) => e.type === 'Warning' && /enc-keys/.test(e.message ?? '') && /spec\.encryption\.keySecretRef/.test(e.message ?? '')), { timeoutMs: 60000, intervalMs: 500 });
    await setKeyring(k1);
    const ready = await waitForStatus(env, ns, CLUSTER, 'Ready 2/2 with a streaming replica', (c: IrisClusterObject) =>
      c.status?.phase === 'Ready' && c.status.ready === '2/2' && c.status.shards?.[0]?.replicas[0]?.link === 'streaming', 240000);
    pods = await listPods(env, ns, NODES);
    primary = pods.find((p) => p.metadata?.name === ready.status!.shards![0]!.primary)!;
    const client = await connect(primary);
    for (let i = 0; i < COUNT; i++) expect(await client.set(`${KEY_PREFIX}:${i}`, `${MARKER}:${i}`)).to.equal('OK');
    const replica = await connect(pods.find((p) => p !== primary)!);
    expect(await replica.call('READONLY')).to.equal('OK');
    await waitFor('the replica to have every write', async () => (await replica.get(`${KEY_PREFIX}:${COUNT - 1}`)) === `${MARKER}:${COUNT - 1}`, { timeoutMs: 30000, intervalMs: 200 });
    for (const p of pods) {
      const status = await (await admin(p)).encryption();
      expect(status.enabled, p.metadata?.name).to.equal(true);
      expect(status.activeKeyId).to.equal('k1');
      const dir = await dataDir(p);
      // Key names are stored in clear in SQLite's rows: found, so the search reaches the data. The write journal
      // (the default) seals whole records and SQLite commits its batch about once a second: wait for that commit.
      await waitFor(`${p.metadata?.name}: key names (stored in clear) in ${dir}`, () => (filesContaining(dir, KEY_PREFIX).length > 0 ? true : null), { timeoutMs: 30000, intervalMs: 200 });
      expect(filesContaining(dir, MARKER), `${p.metadata?.name}: no value in clear in ${dir}`).to.deep.equal([]);
    }
  });

  it('takes a second key from the Secret without a restart; re-encryption moves every value to it', async () => {
    const before = restarts(pods);
    await setKeyring(k1 + k2);
    for (const p of pods) {
      const a = await admin(p);
      await waitFor(`${p.metadata?.name} to load key k2`, async () => (await a.encryption()).activeKeyId === 'k2', { timeoutMs: 120000, intervalMs: 500 });
    }
    // Through the resource, as a user runs it: the operator starts every node's job and reports progress in status.request.
    const r = await run(process.execPath, [IRISCTL, '--kube', '--kubeconfig', env.kubeconfig, '-n', ns, CLUSTER, 're-encrypt', '--wait', '--timeout', '3m'], { timeoutMs: 240000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('asked IrisCluster');
    expect(r.stdout).to.contain('re-encrypt done: 2 nodes on key k2');
    expect((await clusterEvents(env, ns, CLUSTER)).map((e) => e.reason)).to.include.members(['ReencryptRequested', 'ReencryptDone']);
    for (const p of pods) {
      const done = await (await admin(p)).encryption();
      expect(done.reencrypt.state, p.metadata?.name).to.equal('done');
      expect(done.reencrypt.targetKeyId).to.equal('k2');
      expect(done.valuesByKeyId?.['k1'] ?? 0, `${p.metadata?.name}: values left under k1`).to.equal(0);
      expect(done.valuesByKeyId?.['k2'] ?? 0).to.be.at.least(COUNT);
    }
    const client = await connect(primary);
    for (let i = 0; i < COUNT; i++) expect(await client.get(`${KEY_PREFIX}:${i}`)).to.equal(`${MARKER}:${i}`);
    for (const p of pods) expect(filesContaining(await dataDir(p), MARKER), p.metadata?.name).to.deep.equal([]);
    expect(restarts(await listPods(env, ns, NODES)), 'same pods, no container restart').to.deep.equal(before);
  });

  it('with spec.tls too: irisctl --kube re-encrypt reaches the nodes\' HTTPS /admin through the operator', async () => {
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, 'enctls', { shards: 1, replicasPerShard: 0, tls: { enabled: true }, encryption: { keySecretRef: { name: 'enc-keys' } } }));
    await waitForStatus(env, ns, 'enctls', 'Ready 1/1', (c: IrisClusterObject) => c.status?.phase === 'Ready' && c.status.ready === '1/1', 240000);
    const r = await run(process.execPath, [IRISCTL, '--kube', '--kubeconfig', env.kubeconfig, '-n', ns, 'enctls', 're-encrypt', '--wait', '--timeout', '3m'], { timeoutMs: 240000 });
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.contain('re-encrypt done: 1 nodes on key k2');
  });

  it('refuses removing spec.encryption (values under its keys would be unreadable)', async () => {
    const removed = await env.kubectl(['patch', 'iriscluster', CLUSTER, '-n', ns, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/encryption' }])])
      .then(() => 'accepted', (err: Error) => err.message);
    expect(removed).to.contain('encryption cannot be removed');
    const c = await waitForStatus(env, ns, CLUSTER, 'the resource to keep spec.encryption', (x: IrisClusterObject) => x.status?.phase === 'Ready', 30000);
    expect((c as { spec?: { encryption?: unknown } }).spec?.encryption).to.deep.equal({ keySecretRef: { name: 'enc-keys', key: 'keyring' } });
  });
});
