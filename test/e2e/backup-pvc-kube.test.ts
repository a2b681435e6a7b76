/**
 * Backups to a PersistentVolumeClaim on Kubernetes, of an encrypted cluster
 * (issue #15): the claim (ReadWriteMany, provisioned by the test kubelet as
 * a host directory) is mounted into every node pod; the nodes write the
 * backup and archive the log there; the operator, which cannot mount it,
 * writes the top-level manifest and reads the recoverability window through
 * a node's /admin/backup-volume. (1) An IrisBackup of a 2-shard cluster
 * with spec.encryption completes; the claim's directory holds the backup
 * (top-level manifest included) and no value in clear. (2) A new cluster
 * with spec.bootstrap.fromBackup and the same keyring Secret restores from
 * the claim (the restore init container mounts it): every key and value.
 * (3) The same restore without spec.encryption refuses: the init container
 * fails naming the missing keyring, and the cluster never serves.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Cluster } from 'ioredis';
import { waitFor } from '../support/wait.js';
import { STORAGE_CLASS } from '../support/kube/kubelet/provisioner.js';
import { listPods, type KubeEnv, type Pod } from './helpers.js';
import { getCluster, irisClusterManifest, operatorNamespace, waitForStatus, withClusterClient } from './operator-support.js';

const CLUSTER = 'pv';
const CLAIM = 'backups';
const NODES = (c: string): string => `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${c}`;
const MARKER = `pvc-plaintext-${crypto.randomBytes(6).toString('hex')}`;
const KEYRING = `k1 ${crypto.randomBytes(32).toString('base64')}\n`;

interface IrisBackupObject {
  status?: { phase?: string; backupId?: string; destination?: string; keys?: number; message?: string };
}

describe('e2e: backups to a pvc destination (encrypted cluster, bootstrap from it)', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  const written = new Map<string, string>();
  let backupId = '';

  operatorNamespace('backup-pvc', CLUSTER, (e, n) => {
    env = e;
    ns = n;
  });

  /** The host directory behind the backup claim (the test kubelet's volumes are hostPath PersistentVolumes). */
  async function claimDir(): Promise<string> {
    const pvc = await env.rest.get<{ spec?: { volumeName?: string } }>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${CLAIM}`);
    const pv = await env.rest.get<{ spec?: { hostPath?: { path: string } } }>(`/api/v1/persistentvolumes/${pvc.spec!.volumeName!}`);
    return pv.spec!.hostPath!.path;
  }

  const withClient = <T>(cluster: string, fn: (c: Cluster) => Promise<T>): Promise<T> => withClusterClient(env, ns, cluster, fn);

  it('an IrisBackup of an encrypted cluster to a ReadWriteMany claim completes; the claim holds the backup, no value in clear', async () => {
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'enc-keys', namespace: ns }, type: 'Opaque', stringData: { keyring: KEYRING } }));
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: CLAIM, namespace: ns },
      spec: { accessModes: ['ReadWriteMany'], storageClassName: STORAGE_CLASS, resources: { requests: { storage: '1Gi' } } },
    }));
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, {
      shards: 2, replicasPerShard: 0, encryption: { keySecretRef: { name: 'enc-keys' } },
      // A schedule that does not fire during the test; the log archive goes to the claim too.
      backup: { schedule: '0 0 1 1 *', retention: 1, archive: { enabled: true, segmentSeconds: 1 }, destination: { pvc: { claimName: CLAIM, path: 'iris/pv' } } },
    }));
    await waitForStatus(env, ns, CLUSTER, 'phase Ready with 2/2 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '2/2', 240000);
    for (let i = 0; i < 200; i++) written.set(`pv:${i}`, `${MARKER}-${i}`);
    await withClient(CLUSTER, (c) => Promise.all([...written].map(([k, v]) => c.set(k, v))));

    await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisBackup', metadata: { name: 'to-pvc', namespace: ns }, spec: { cluster: CLUSTER } }));
    const done = await waitFor('IrisBackup to-pvc to be Completed', async () => {
      const b = await env.rest.get<IrisBackupObject>(`/apis/irisdb.io/v1alpha1/namespaces/${ns}/irisbackups/to-pvc`);
      if (b.status?.phase === 'Failed') throw new Error(`IrisBackup to-pvc failed: ${b.status.message}`);
      return b.status?.phase === 'Completed' && b;
    }, { timeoutMs: 120000, intervalMs: 200 });
    expect(done.status).to.deep.include({ destination: 'file:///var/lib/irisdb-backups/backups/iris/pv', keys: 200 });
    backupId = done.status!.backupId!;

    const root = path.join(await claimDir(), 'iris', 'pv');
    // The top-level manifest is the operator's (through a node's /admin/backup-volume); the shard objects are the nodes'.
    expect(fs.existsSync(path.join(root, backupId, 'manifest.json')), 'top-level manifest on the claim').to.equal(true);
    const files = fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.some((e) => e.parentPath.includes(`${path.sep}archive`)), 'archived log segments on the claim').to.equal(true);
    const clear = files.filter((e) => fs.readFileSync(path.join(e.parentPath, e.name)).includes(Buffer.from(MARKER)));
    expect(clear.map((e) => e.name), 'no value in clear in the backup or the archive').to.deep.equal([]);
    // The recoverability window is read through the nodes too.
    await waitForStatus(env, ns, CLUSTER, 'status.firstRecoverabilityPoint from the claim', (c) => typeof (c.status as { firstRecoverabilityPoint?: unknown } | undefined)?.firstRecoverabilityPoint === 'string', 60000);
  });

  it('a new cluster with spec.bootstrap.fromBackup and the keyring restores every key from the claim', async () => {
    expect(backupId, 'the backup of the first test').to.not.equal('');
    const name = 'pv-restored';
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, name, { shards: 1, replicasPerShard: 0, encryption: { keySecretRef: { name: 'enc-keys' } }, bootstrap: { fromBackup: { name: 'to-pvc' } } }));
    await waitForStatus(env, ns, name, 'the restored cluster Ready with 1/1 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '1/1', 240000);
    const pod = (await listPods(env, ns, NODES(name)))[0]! as Pod & { status?: { initContainerStatuses?: Array<{ name: string; state?: { terminated?: { exitCode?: number } } }> } };
    expect((pod.status?.initContainerStatuses ?? []).map((c) => [c.name, c.state?.terminated?.exitCode])).to.deep.equal([['restore', 0]]);
    const keys = [...written.keys()];
    const got = await withClient(name, (c) => Promise.all(keys.map((k) => c.get(k))));
    expect(new Map(keys.map((k, i) => [k, got[i]]))).to.deep.equal(written);
  });

  it('the same restore without spec.encryption refuses: the restore fails naming the missing keyring, the cluster never serves', async () => {
    const name = 'pv-nokey';
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, name, { shards: 1, replicasPerShard: 0, bootstrap: { fromBackup: { name: 'to-pvc' } } }));
    const failed = await waitFor('the restore init container to fail', async () => {
      const pod = (await listPods(env, ns, NODES(name)))[0] as (Pod & { status?: { initContainerStatuses?: Array<{ name: string; restartCount?: number; lastState?: { terminated?: { exitCode?: number } }; state?: { terminated?: { exitCode?: number } } }> } }) | undefined;
      const s = pod?.status?.initContainerStatuses?.find((c) => c.name === 'restore');
      const code = s?.state?.terminated?.exitCode ?? s?.lastState?.terminated?.exitCode;
      return code !== undefined && code !== 0 && pod;
    }, { timeoutMs: 120000, intervalMs: 250 });
    const logs = await env.podLogs(ns, failed.metadata!.name!);
    expect(logs).to.match(/restore failed/).and.match(/no encryption keyring is configured \(--encryption-key-file\)/);
    const c = await getCluster(env, ns, name);
    expect(c.status?.phase, 'never Ready').to.not.equal('Ready');
    await env.kubectl(['delete', 'iriscluster', name, '-n', ns, '--wait=false']);
  });
});
