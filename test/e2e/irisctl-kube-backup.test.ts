/**
 * `irisctl --kube CLUSTER backup …` against a real kube-apiserver, the test
 * kubelet, the operator from the Helm chart and a real S3 server (SeaweedFS
 * on loopback), issue #15: one 1-shard IrisCluster with spec.backup (a
 * schedule that never fires during the test). `backup create --wait`
 * creates an IrisBackup that the operator takes to Completed and follows it;
 * `backup list --json` and `describe` show it with its backup id and keys;
 * `backup delete` removes the object and leaves the stored backup in the
 * bucket; a scheduled object is not deleted; flags an IrisBackup has no
 * field for are usage errors; a failed IrisBackup ends --wait with exit 1
 * and the operator's message. With a ServiceAccount token holding exactly
 * the RBAC docs/irisctl.md documents, every verb works; with only get on
 * irisclusters, the verbs answer what is missing.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { parseDestination } from '../../common/backup/destination-url.js';
import { openDestination } from '../../common/backup/open-destination.js';
import type { KubeBackupRow } from '../../operator/cli/kube-backup-render.js';
import { REPO_ROOT } from '../support/kube/binaries.js';
import { run, type RunResult } from '../support/run.js';
import { freePort } from '../support/ports.js';
import { S3Server } from '../support/s3-server.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, listPods, type KubeEnv } from './helpers.js';
import { deployOperator, diagnostics, installCrds, irisClusterManifest, waitForStatus } from './operator-support.js';

const CLUSTER = 'ib';
const BUCKET = 'irisctl-backups';
const PREFIX = 'kube/ib';
const KEYS = 50;
const IRISCTL = path.join(REPO_ROOT, 'dist/operator/cli/irisctl.js');

describe('e2e: irisctl --kube backup (IrisBackup objects)', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  let s3: S3Server;
  let created = '';
  const backups = (): string => `/apis/irisdb.io/v1alpha1/namespaces/${ns}/irisbackups`;
  const irisctl = (args: string[]): Promise<RunResult> =>
    run(process.execPath, [IRISCTL, '--kube', '--kubeconfig', env.kubeconfig, '-n', ns, CLUSTER, 'backup', ...args], { timeoutMs: 180000 });

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    ns = await createNamespace(env, 'irisctl-bk');
    s3 = await S3Server.start();
    await s3.createBucket(BUCKET);
    await installCrds(env, ns);
    await deployOperator(env, ns);
    await env.kubectl(['create', 'secret', 'generic', 's3-creds', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`]);
    const backup = {
      schedule: '0 0 1 1 *', retention: 1,
      destination: { s3: { bucket: BUCKET, prefix: PREFIX, endpoint: s3.endpoint, region: s3.region, secretRef: { name: 's3-creds' } } },
    };
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 1, replicasPerShard: 0, backup }));
    await waitForStatus(env, ns, CLUSTER, 'phase Ready with 1/1 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '1/1', 240000);
    const pod = (await listPods(env, ns, `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`))[0]!;
    const seed = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
    const client = new Cluster([{ host: seed.host, port: seed.port }], { maxRedirections: 16 });
    client.on('error', () => {});
    try {
      await Promise.all(Array.from({ length: KEYS }, (_, i) => client.set(`ib:${i}`, `v${i}`)));
    } finally {
      client.disconnect();
      seed.close();
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && env !== undefined && ns !== undefined) {
      const objs = await env.rest.get<{ items: unknown[] }>(backups()).catch(() => ({ items: [] }));
      process.stderr.write(`\n--- diagnostics for "${this.currentTest.title}" ---\nIrisBackups: ${JSON.stringify(objs.items)}\n${await diagnostics(env, ns, CLUSTER)}\n`);
    }
  });

  after(async function () {
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
    await s3?.destroy();
  });

  it('backup create --wait: an IrisBackup the operator takes to Completed, followed to the end; list --json and describe show it', async () => {
    const r = await irisctl(['create', '--wait', '--timeout', '2m']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.match(new RegExp(`^${CLUSTER}-[a-z0-9]{5}\\n$`));
    created = r.stdout.trim();
    // Not a terminal: one line per change of phase or shards, the last one Completed.
    expect(r.stderr).to.match(new RegExp(`^${created} \\(backup-\\S+\\) Completed: shards 1/1$`, 'm'));
    expect(r.stderr).to.match(new RegExp(`${created}: backup backup-\\S+ completed to s3://${BUCKET}/${PREFIX}`));

    const list = await irisctl(['list', '--json']);
    expect(list.code, list.stderr).to.equal(0);
    const rows = JSON.parse(list.stdout) as KubeBackupRow[];
    const row = rows.find((x) => x.name === created)!;
    expect(row).to.deep.include({ phase: 'Completed', scheduled: false, keys: KEYS, shardsDone: 1, shardsTotal: 1, destination: `s3://${BUCKET}/${PREFIX}` });
    expect(row.backupId).to.match(/^backup-/);
    expect(row.completionTime).to.be.a('string');
    const obj = await env.rest.get<{ status?: { backupId?: string } }>(`${backups()}/${created}`);
    expect(obj.status?.backupId).to.equal(row.backupId);

    const text = await irisctl(['list']);
    expect(text.stdout).to.match(new RegExp(`^${created} +Completed +${row.backupId} +no `, 'm'));
    expect(text.stdout).to.contain('schedule: "0 0 1 1 *" (spec.backup), keeping 1 scheduled backups');
    const d = await irisctl(['describe', created]);
    expect(d.code, d.stderr).to.equal(0);
    expect(d.stdout).to.match(new RegExp(`^IrisBackup ${ns}/${created}: Completed`));
    expect(d.stdout).to.contain(`backup id:   ${row.backupId}`);
    expect(d.stdout).to.contain('shards:      1/1 stored and verified');
  });

  it('backup delete removes the object and leaves the backup in the bucket; refuses a scheduled object and unknown names', async () => {
    expect(created, 'the create case ran').not.to.equal('');
    const id = (JSON.parse((await irisctl(['list', '--json'])).stdout) as KubeBackupRow[]).find((x) => x.name === created)!.backupId!;
    const r = await irisctl(['delete', created]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.contain(`deleted IrisBackup ${ns}/${created}; the backup ${id} stays in s3://${BUCKET}/${PREFIX}`);
    const gone = await env.rest.get(`${backups()}/${created}`).then(() => false, (err: { statusCode?: number }) => err.statusCode === 404);
    expect(gone, 'the IrisBackup is gone').to.equal(true);
    const list = JSON.parse((await irisctl(['list', '--json'])).stdout) as KubeBackupRow[];
    expect(list.map((x) => x.name)).not.to.include(created);
    const dest = openDestination(parseDestination(`s3://${BUCKET}/${PREFIX}`, { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }));
    try {
      // The top-level manifest is written last: the backup is there, complete.
      const keys = (await dest.list(`${id}/`)).map((o) => o.key);
      expect(keys, `objects of ${id}`).to.include(`${id}/manifest.json`);
    } finally {
      dest.close();
    }
    // Deleting it again: not found, with where to look.
    const again = await irisctl(['delete', created]);
    expect([again.code, again.stderr.trim()]).to.deep.equal([1, `irisctl: IrisBackup ${ns}/${created} not found (irisctl --kube -n ${ns} ${CLUSTER} backup list)`]);
    // An object the schedule made: the operator would make it again, so irisctl says so and leaves it.
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisBackup', metadata: { name: 'sched', namespace: ns, labels: { 'irisdb.io/scheduled': 'true' } }, spec: { cluster: CLUSTER },
    }));
    const sched = await irisctl(['delete', 'sched']);
    expect(sched.code).to.equal(1);
    expect(sched.stderr).to.match(/was made by the schedule \(spec\.backup\).*spec\.backup\.retention deletes scheduled backups/);
    await env.rest.get(`${backups()}/sched`);
    const bad = await irisctl(['create', '--compression', 'brotli']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('--compression: an IrisBackup has no such setting');
    await waitFor('the scheduled-looking object to settle', async () => {
      const b = await env.rest.get<{ status?: { phase?: string } }>(`${backups()}/sched`);
      return b.status?.phase !== undefined && b.status.phase !== 'Running';
    }, { timeoutMs: 60000, intervalMs: 250 });
  });

  it('backup create --wait exits 1 with the operator\'s message when the IrisBackup fails (an S3 endpoint nothing listens on)', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await irisctl(['create', '--destination', 's3://other/x', '--s3-endpoint', closed, '--wait', '--timeout', '3m']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(1);
    const name = r.stdout.trim();
    expect(name).to.match(new RegExp(`^${CLUSTER}-[a-z0-9]{5}$`));
    const obj = await env.rest.get<{ spec?: { destination?: unknown }; status?: { phase?: string; message?: string } }>(`${backups()}/${name}`);
    // The other bucket and endpoint, with the cluster's region and Secret.
    expect(obj.spec?.destination).to.deep.equal({ s3: { bucket: 'other', prefix: 'x', endpoint: closed, region: s3.region, secretRef: { name: 's3-creds' } } });
    expect(obj.status?.phase).to.equal('Failed');
    expect(r.stderr).to.contain(`irisctl: IrisBackup ${name} failed: ${obj.status?.message ?? ''}`);
    expect(r.stderr).to.match(new RegExp(`^${name} \\(backup-\\S+\\) Failed`, 'm'));
  });

  it('works with exactly the documented RBAC (get irisclusters; create, get, list, delete irisbackups) and says what is missing without it', async () => {
    await env.kubectl(['apply', '-f', '-'], `
apiVersion: v1
kind: ServiceAccount
metadata: { name: backup-user, namespace: ${ns} }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: cluster-reader, namespace: ${ns} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: irisctl-backup, namespace: ${ns} }
rules:
- { apiGroups: [irisdb.io], resources: [irisclusters], verbs: [get] }
- { apiGroups: [irisdb.io], resources: [irisbackups], verbs: [create, get, list, delete] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: cluster-reader, namespace: ${ns} }
rules:
- { apiGroups: [irisdb.io], resources: [irisclusters], verbs: [get] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: backup-user, namespace: ${ns} }
subjects: [{ kind: ServiceAccount, name: backup-user, namespace: ${ns} }]
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: irisctl-backup }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: cluster-reader, namespace: ${ns} }
subjects: [{ kind: ServiceAccount, name: cluster-reader, namespace: ${ns} }]
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: cluster-reader }
`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisctl-bk-rbac-'));
    try {
      /** A copy of the environment's kubeconfig whose current context uses the ServiceAccount's bound token. */
      const kubeconfigAs = async (sa: string): Promise<string> => {
        const file = path.join(dir, sa);
        fs.copyFileSync(env.kubeconfig, file);
        const token = (await env.kubectl(['create', 'token', sa, '-n', ns, '--duration=10m'])).trim();
        for (const args of [['config', 'set-credentials', sa, `--token=${token}`], ['config', 'set-context', '--current', `--user=${sa}`]]) {
          const r = await run(env.kubectlPath, ['--kubeconfig', file, ...args]);
          expect(r.code, r.stderr).to.equal(0);
        }
        return file;
      };
      const as = async (sa: string, args: string[]): Promise<RunResult> =>
        run(process.execPath, [IRISCTL, '--kube', '--kubeconfig', await kubeconfigAs(sa), '-n', ns, CLUSTER, 'backup', ...args], { timeoutMs: 60000 });
      // RBAC bindings take effect at once in the API server's authorizer, but allow for a slow cache.
      const list = await waitFor('backup list as backup-user', async () => {
        const r = await as('backup-user', ['list', '--json']);
        return r.code === 0 && r;
      }, { timeoutMs: 30000, intervalMs: 500 });
      expect((JSON.parse(list.stdout) as KubeBackupRow[]).map((x) => x.name)).to.include('sched');
      const made = await as('backup-user', ['create', '--max-rate', '64KiB']);
      expect(made.code, made.stderr).to.equal(0);
      const name = made.stdout.trim();
      const obj = await env.rest.get<{ spec?: { maxBytesPerSecond?: number } }>(`${backups()}/${name}`);
      expect(obj.spec?.maxBytesPerSecond).to.equal(65536);
      expect((await as('backup-user', ['describe', name])).stdout).to.match(new RegExp(`^IrisBackup ${ns}/${name}: `));
      const del = await as('backup-user', ['delete', name]);
      expect(del.code, del.stderr).to.equal(0);

      const denied = await as('cluster-reader', ['list']);
      expect(denied.code).to.equal(1);
      expect(denied.stderr).to.contain(`irisctl: listing IrisBackup objects in ${ns} is not allowed for this kubeconfig's user (irisctl --kube backup needs create, get, list and delete on irisbackups.irisdb.io)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
