/**
 * Backups on Kubernetes (issue #15): the operator (the chart's Deployment
 * and RBAC) carries out IrisBackup objects and spec.backup with the core's
 * backup runner, against a real S3 server (SeaweedFS on loopback; the test
 * kubelet's pods are local processes, so they reach it). The nodes upload
 * with credentials from the Secret (environment from secretKeyRef); the
 * operator reads the same Secret to write the top-level manifest.
 * (1) An IrisBackup goes Pending → Running → Completed with its progress,
 * backup id and destination in status, Events on it, the IrisCluster's
 * status.lastBackup and firstRecoverabilityPoint, and a complete backup in
 * the bucket that restores every key. (2) spec.backup with an every-5-seconds
 * schedule: the scheduler creates labelled IrisBackup objects owned by the
 * IrisCluster; with retention 1 the older scheduled one is deleted, object
 * and backup alike, while the one created by hand stays. (3) A new
 * IrisCluster with spec.bootstrap.fromBackup and another shard count starts
 * from that backup, replaying the archived log (spec.backup.archive) up to
 * pointInTime: every write acknowledged before it is there, none after. (4) The operator's pod
 * deleted with no grace in the middle of a paced backup (maxBytesPerSecond):
 * the new operator resumes it from the record in the cluster's status; it is
 * Completed only once every shard is, and restores every acknowledged write.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { parseDestination } from '../../common/backup/destination-url.js';
import { openDestination } from '../../common/backup/open-destination.js';
import { restoreBackup } from '../../node/backup/restore.js';
import { evenSlotRanges } from '../../common/cluster-map.js';
import { S3Server } from '../support/s3-server.js';
import { waitFor } from '../support/wait.js';
import type { KubeObject } from '../support/kube/objects.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, listPods, type KubeEnv } from './helpers.js';
import { deployOperator, diagnostics, getCluster, installCrds, irisClusterManifest, OPERATOR_SELECTOR, waitForStatus } from './operator-support.js';
import { openDatabase } from '../../node/engine/database.js';
import { decodeValue } from '../../node/engine/codec.js';

const CLUSTER = 'bk';
const BUCKET = 'iris-backups';
const PREFIX = 'kube/bk';
const NODES = `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`;

interface IrisBackupObject extends KubeObject {
  spec?: { cluster: string };
  status?: { phase?: string; backupId?: string; destination?: string; keys?: number; bytes?: number; shardsDone?: number; shardsTotal?: number; shards?: string; message?: string; completionTime?: string };
}

describe('e2e: backups on Kubernetes (IrisBackup, spec.backup)', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  let s3: S3Server;
  const written = new Map<string, string>();
  const backups = (): string => `/apis/irisdb.io/v1alpha1/namespaces/${ns}/irisbackups`;
  const list = async (): Promise<IrisBackupObject[]> => (await env.rest.get<{ items: IrisBackupObject[] }>(backups())).items;
  const backupSpec = (schedule: string, retention: number): Record<string, unknown> => ({
    schedule, retention, archive: { enabled: true, segmentSeconds: 1 },
    destination: { s3: { bucket: BUCKET, prefix: PREFIX, endpoint: s3.endpoint, region: s3.region, secretRef: { name: 's3-creds' } } },
  });

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    ns = await createNamespace(env, 'backup');
    s3 = await S3Server.start();
    await s3.createBucket(BUCKET);
    await installCrds(env, ns);
    await deployOperator(env, ns);
    await env.kubectl(['create', 'secret', 'generic', 's3-creds', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`]);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && env !== undefined && ns !== undefined) {
      const objs = await list().catch(() => []);
      process.stderr.write(`\n--- diagnostics for "${this.currentTest.title}" ---\nIrisBackups: ${JSON.stringify(objs.map((o) => [o.metadata?.name, o.status]))}\n${await diagnostics(env, ns, CLUSTER)}\n`);
    }
  });

  after(async function () {
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
    await s3?.destroy();
  });

  it('takes an IrisBackup to Completed with progress, Events and the cluster\'s lastBackup; the bucket holds a backup with every key', async () => {
    // A schedule that does not fire during the test (1 January): the nodes get the Secret's credentials from spec.backup.
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 2, replicasPerShard: 0, backup: backupSpec('0 0 1 1 *', 1) }));
    await waitForStatus(env, ns, CLUSTER, 'phase Ready with 2/2 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '2/2', 240000);
    const pod = (await listPods(env, ns, NODES))[0]!;
    const env0 = (pod as { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }> }> } }).spec!.containers![0]!.env!;
    const secretEnv = env0.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY');
    expect(secretEnv?.valueFrom?.secretKeyRef?.name, 'credentials come from the Secret').to.equal('s3-creds');
    expect(secretEnv?.value, 'never in clear in the pod spec').to.equal(undefined);

    const seed = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
    const client = new Cluster([{ host: seed.host, port: seed.port }], { maxRedirections: 16 });
    client.on('error', () => {});
    try {
      for (let i = 0; i < 300; i++) written.set(`bk:${i}`, `value-${i}-${'x'.repeat(i % 50)}`);
      await Promise.all([...written].map(([k, v]) => client.set(k, v)));
    } finally {
      client.disconnect();
      seed.close();
    }

    await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisBackup', metadata: { name: 'first', namespace: ns }, spec: { cluster: CLUSTER } }));
    const phases = new Set<string>();
    const done = await waitFor('IrisBackup first to be Completed', async () => {
      const b = await env.rest.get<IrisBackupObject>(`${backups()}/first`);
      if (b.status?.phase !== undefined) phases.add(b.status.phase);
      if (b.status?.phase === 'Failed') throw new Error(`IrisBackup first failed: ${b.status.message}`);
      return b.status?.phase === 'Completed' && b;
    }, { timeoutMs: 120000, intervalMs: 100 });
    const st = done.status!;
    expect(st.backupId).to.match(/^backup-/);
    expect(st.destination).to.equal(`s3://${BUCKET}/${PREFIX}`);
    expect(st).to.deep.include({ keys: 300, shardsDone: 2, shardsTotal: 2, shards: '2/2' });
    expect(st.bytes).to.be.greaterThan(0);
    expect(st.message).to.match(/300 keys/);
    expect(st.completionTime).to.be.a('string');
    expect([...phases].filter((p) => p !== 'Completed').every((p) => ['Pending', 'Running'].includes(p)), [...phases].join(',')).to.equal(true);

    const events = (await env.rest.get<{ items: Array<{ involvedObject?: { kind?: string; name?: string }; reason?: string }> }>(`/api/v1/namespaces/${ns}/events`)).items
      .filter((e) => e.involvedObject?.kind === 'IrisBackup' && e.involvedObject.name === 'first').map((e) => e.reason);
    expect(events).to.include.members(['BackupStarted', 'BackupCompleted']);

    const c = await waitForStatus(env, ns, CLUSTER, 'status.lastBackup to name it', (x) => {
      const s = x.status as { lastBackup?: { name?: string; phase?: string }; firstRecoverabilityPoint?: string } | undefined;
      return s?.lastBackup?.name === 'first' && s.lastBackup.phase === 'Completed' && typeof s.firstRecoverabilityPoint === 'string';
    }, 60000);
    expect((c.status as { lastBackup?: { id?: string } }).lastBackup?.id).to.equal(st.backupId);

    // The backup in the bucket is complete and holds every key: restored into a scratch directory with the real restore code.
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'iris-kube-restore-'));
    const dest = openDestination(parseDestination(`s3://${BUCKET}/${PREFIX}`, { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }));
    try {
      const r = await restoreBackup(dest, st.backupId!, [{ slots: [evenSlotRanges(1)[0]!], dataDir: dir }], Date.now());
      expect(r.keysRestored).to.equal(300);
      const { db } = openDatabase(dir, 'batch');
      try {
        const rows = db.prepare('SELECT key, flags, value FROM kv').all() as Array<{ key: Buffer; flags: number; value: Buffer }>;
        const got = new Map(rows.map((r) => [r.key.toString(), decodeValue(r.value, r.flags, r.key).toString()]));
        expect(got).to.deep.equal(written);
      } finally {
        db.close();
      }
    } finally {
      dest.close();
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });

  it('spec.backup every 5 seconds: scheduled IrisBackups owned by the cluster; retention 1 deletes the older one and its backup', async () => {
    // The sixth, leading cron field is seconds: two runs in seconds rather than minutes.
    await env.kubectl(['patch', 'irisclusters', CLUSTER, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { backup: backupSpec('*/5 * * * * *', 1) } })]);
    const scheduled = async (): Promise<IrisBackupObject[]> => (await list()).filter((b) => b.metadata?.labels?.['irisdb.io/scheduled'] === 'true');
    const first = await waitFor('a scheduled IrisBackup to complete', async () => {
      const s = (await scheduled()).find((b) => b.status?.phase === 'Completed');
      return s !== undefined && s;
    }, { timeoutMs: 60000, intervalMs: 250 });
    const cr = await getCluster(env, ns, CLUSTER);
    const owner = first.metadata?.ownerReferences?.[0];
    expect(owner).to.deep.include({ kind: 'IrisCluster', name: CLUSTER, uid: cr.metadata?.uid });
    const firstName = first.metadata!.name!;
    const firstId = first.status!.backupId!;
    // The next run completes; retention keeps one Completed scheduled backup: the first goes, object and objects.
    await waitFor('a second scheduled backup and the first one gone', async () => {
      const s = await scheduled();
      return s.some((b) => b.metadata?.name !== firstName && b.status?.phase === 'Completed') && !s.some((b) => b.metadata?.name === firstName);
    }, { timeoutMs: 60000, intervalMs: 250 });
    // Stop scheduling before checking the bucket, so no new run races the listing.
    await env.kubectl(['patch', 'irisclusters', CLUSTER, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { backup: backupSpec('0 0 1 1 *', 1) } })]);
    const dest = openDestination(parseDestination(`s3://${BUCKET}/${PREFIX}`, { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }));
    try {
      expect(await dest.list(`${firstId}/`), `objects of ${firstId}`).to.deep.equal([]);
      const first0 = (await env.rest.get<IrisBackupObject>(`${backups()}/first`)).status!.backupId!;
      expect(await dest.head(`${first0}/manifest.json`), 'the IrisBackup made by hand is kept').to.not.equal(null);
    } finally {
      dest.close();
    }
  });

  it('a new IrisCluster with spec.bootstrap.fromBackup and pointInTime (3 shards from a 2-shard backup) has every write acknowledged before the time, none after', async () => {
    // Writes after the backup: P before the point in time, Q after it; the source cluster archives its log (segmentSeconds 1).
    const pod = (await listPods(env, ns, NODES))[0]!;
    const seed0 = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
    const writer = new Cluster([{ host: seed0.host, port: seed0.port }], { maxRedirections: 16 });
    writer.on('error', () => {});
    let pointInTime: number;
    let afterQ: number;
    const expected = new Map(written);
    const q = Array.from({ length: 50 }, (_, i) => `bk:q:${i}`);
    try {
      const p = Array.from({ length: 50 }, (_, i) => [`bk:p:${i}`, `p-${i}`] as const);
      await Promise.all(p.map(([k, v]) => writer.set(k, v)));
      for (const [k, v] of p) {
        expected.set(k, v);
        written.set(k, v);
      }
      pointInTime = Date.now();
      // Q's commit times must be after the point in time, not in the same millisecond.
      await waitFor('the clock to pass the point in time', () => Date.now() > pointInTime + 2, { timeoutMs: 1000, intervalMs: 1 });
      await Promise.all(q.map((k) => writer.set(k, 'q')));
      afterQ = Date.now();
    } finally {
      writer.disconnect();
      seed0.close();
    }
    for (const k of q) written.set(k, 'q');
    await waitForStatus(env, ns, CLUSTER, 'status.lastArchivedTime past the last write', (c) => {
      const t = (c.status as { lastArchivedTime?: string | null } | undefined)?.lastArchivedTime;
      return typeof t === 'string' && Date.parse(t) >= afterQ - 1000 && Date.parse(t) >= pointInTime;
    }, 90000);

    const name = 'restored';
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, name, { shards: 3, replicasPerShard: 0, bootstrap: { fromBackup: { name: 'first', pointInTime: new Date(pointInTime).toISOString() } } }));
    await waitForStatus(env, ns, name, 'the restored cluster Ready with 3/3 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '3/3', 240000);
    const pods = await listPods(env, ns, `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${name}`);
    for (const p of pods) {
      const init = (p as { status?: { initContainerStatuses?: Array<{ name: string; state?: { terminated?: { exitCode?: number } } }> } }).status?.initContainerStatuses ?? [];
      expect(init.map((c) => [c.name, c.state?.terminated?.exitCode]), p.metadata?.name).to.deep.equal([['restore', 0]]);
    }
    const seed = await env.podEndpoint(ns, pods[0]!.metadata!.name!, 6379);
    const client = new Cluster([{ host: seed.host, port: seed.port }], { maxRedirections: 16 });
    client.on('error', () => {});
    try {
      const keys = [...expected.keys()];
      const got = await Promise.all(keys.map((k) => client.get(k)));
      expect(new Map(keys.map((k, i) => [k, got[i]]))).to.deep.equal(expected);
      expect((await Promise.all(q.map((k) => client.get(k)))).filter((v) => v !== null), 'writes after the point in time').to.deep.equal([]);
      expect(client.nodes('master').length).to.equal(3);
    } finally {
      client.disconnect();
      seed.close();
    }
    // The restore is done: the recorded source goes, so shards added later start empty.
    await waitFor('the bootstrap source annotation to be removed', async () => (await getCluster(env, ns, name)).metadata?.annotations?.['irisdb.io/bootstrap-source'] === undefined, { timeoutMs: 30000, intervalMs: 250 });
  });

  it('the operator killed (pod deleted with no grace) mid-backup: the new one resumes it from the record; Completed, every key restores', async () => {
    const pod = (await listPods(env, ns, NODES))[0]!;
    const seed = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
    const client = new Cluster([{ host: seed.host, port: seed.port }], { maxRedirections: 16 });
    client.on('error', () => {});
    try {
      // About 1.5 MB per shard: at 64 KiB/s each node's snapshot takes some 20 s, time to kill the operator in the middle.
      const more = Array.from({ length: 3000 }, (_, i) => [`bk:big:${i}`, `${i}:${'v'.repeat(1000)}`] as const);
      for (let i = 0; i < more.length; i += 500) await Promise.all(more.slice(i, i + 500).map(([k, v]) => client.set(k, v)));
      for (const [k, v] of more) written.set(k, v);
    } finally {
      client.disconnect();
      seed.close();
    }
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisBackup', metadata: { name: 'paced', namespace: ns }, spec: { cluster: CLUSTER, maxBytesPerSecond: 65536 } }));
    const running = await waitFor('IrisBackup paced to be Running with some progress', async () => {
      const b = await env.rest.get<IrisBackupObject>(`${backups()}/paced`);
      if (b.status?.phase === 'Completed') throw new Error('the paced backup completed before the operator could be killed');
      return b.status?.phase === 'Running' && (b.status.keys ?? 0) > 0 && b;
    }, { timeoutMs: 60000, intervalMs: 100 });
    const [op] = await listPods(env, ns, OPERATOR_SELECTOR);
    await env.kubectl(['delete', 'pod', op!.metadata!.name!, '-n', ns, '--grace-period=0', '--force', '--wait=false']);
    // Never Completed before the shards are: status follows the record the new leader resumes.
    const seen: string[] = [];
    const done = await waitFor('IrisBackup paced to be Completed after the operator restart', async () => {
      const b = await env.rest.get<IrisBackupObject>(`${backups()}/paced`);
      seen.push(`${b.status?.phase}:${b.status?.shards}`);
      if (b.status?.phase === 'Failed') throw new Error(`paced failed: ${b.status.message}`);
      if (b.status?.phase === 'Completed') expect(b.status.shards).to.equal('2/2');
      return b.status?.phase === 'Completed' && b;
    }, { timeoutMs: 240000, intervalMs: 250 });
    expect(done.status!.backupId).to.equal(running.status!.backupId);
    expect(done.status!.keys).to.equal(written.size);
    const newOp = await listPods(env, ns, OPERATOR_SELECTOR);
    expect(newOp.map((p) => p.metadata?.name)).to.not.include(op!.metadata!.name);

    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'iris-kube-restore-'));
    const dest = openDestination(parseDestination(`s3://${BUCKET}/${PREFIX}`, { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }));
    try {
      const r = await restoreBackup(dest, done.status!.backupId!, [{ slots: [evenSlotRanges(1)[0]!], dataDir: dir }], Date.now());
      expect(r.keysRestored).to.equal(written.size);
      const { db } = openDatabase(dir, 'batch');
      try {
        const rows = db.prepare('SELECT key, flags, value FROM kv').all() as Array<{ key: Buffer; flags: number; value: Buffer }>;
        const bad = rows.filter((row) => written.get(row.key.toString()) !== decodeValue(row.value, row.flags, row.key).toString()).length;
        expect(bad, 'rows whose value differs from the acknowledged write').to.equal(0);
        expect(rows.length).to.equal(written.size);
      } finally {
        db.close();
      }
    } finally {
      dest.close();
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });

  it('rotating the Secret to a new key while the old one is revoked: archiving and the next backup go on, no pod restarts', async () => {
    const second = { accessKeyId: 'irisdb-rotated', secretAccessKey: `rotated-${Math.random().toString(36).slice(2)}` };
    const podsBefore = (await listPods(env, ns, NODES)).map((p) => `${p.metadata?.name}:${p.metadata?.uid}:${JSON.stringify((p.status as { containerStatuses?: Array<{ restartCount: number }> } | undefined)?.containerStatuses?.map((c) => c.restartCount))}`).sort();
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3-creds', namespace: ns }, type: 'Opaque',
      stringData: { AWS_ACCESS_KEY_ID: second.accessKeyId, AWS_SECRET_ACCESS_KEY: second.secretAccessKey },
    }));
    // The old key stops working at once: whatever still used it would fail from here on.
    await s3.setIdentities([second]);
    const pod = (await listPods(env, ns, NODES))[0]!;
    const seed = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
    const client = new Cluster([{ host: seed.host, port: seed.port }], { maxRedirections: 16 });
    client.on('error', () => {});
    let wroteAt: number;
    try {
      const rotated = Array.from({ length: 50 }, (_, i) => [`bk:rot:${i}`, `rotated-${i}`] as const);
      await Promise.all(rotated.map(([k, v]) => client.set(k, v)));
      for (const [k, v] of rotated) written.set(k, v);
      wroteAt = Date.now();
    } finally {
      client.disconnect();
      seed.close();
    }
    // Archived with the new key (read back by the operator with it too).
    await waitForStatus(env, ns, CLUSTER, 'status.lastArchivedTime past the writes made after the rotation', (c) => {
      const t = (c.status as { lastArchivedTime?: string | null } | undefined)?.lastArchivedTime;
      return typeof t === 'string' && Date.parse(t) >= wroteAt - 1000;
    }, 120000);
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisBackup', metadata: { name: 'rotated', namespace: ns }, spec: { cluster: CLUSTER } }));
    const done = await waitFor('IrisBackup rotated to be Completed', async () => {
      const b = await env.rest.get<IrisBackupObject>(`${backups()}/rotated`);
      if (b.status?.phase === 'Failed') throw new Error(`rotated failed: ${b.status.message}`);
      return b.status?.phase === 'Completed' && b;
    }, { timeoutMs: 120000, intervalMs: 200 });
    expect(done.status!.keys).to.equal(written.size);
    const podsAfter = (await listPods(env, ns, NODES)).map((p) => `${p.metadata?.name}:${p.metadata?.uid}:${JSON.stringify((p.status as { containerStatuses?: Array<{ restartCount: number }> } | undefined)?.containerStatuses?.map((c) => c.restartCount))}`).sort();
    expect(podsAfter, 'the same pods, not restarted').to.deep.equal(podsBefore);
  });
});
