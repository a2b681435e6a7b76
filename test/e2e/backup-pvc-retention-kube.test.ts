/**
 * Retention on a pvc destination on Kubernetes (issue #15): an IrisCluster
 * with spec.backup on a ReadWriteMany claim, archiving its log, a schedule
 * every 5 seconds (the sixth, leading cron field) and retention 2, takes
 * more than 2 scheduled backups while a client writes. The operator, which
 * reaches the claim only through a node's /admin/backup-volume: deletes the
 * older backups' directories on the claim and their IrisBackup objects,
 * keeps the 2 newest; deletes the archived log segments no kept backup can
 * use (core/archive-retention.ts) and keeps those the oldest kept backup
 * needs: a restore from it with the real restore code, replaying the
 * archive left on the claim, has every acknowledged write; and the
 * cluster's status shows the window from the oldest kept backup's finish
 * to the last archived write. Then another namespace restores from that
 * claim: a pod mounts only claims of its own namespace, so the volume is
 * re-bound there (a PersistentVolume on the same directory, as a second PV
 * on the same NFS export would be) and a new IrisCluster names it in
 * spec.bootstrap.fromBackup.destination with the backup id: every
 * acknowledged write is there.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { parseDestination } from '../../common/backup/destination-url.js';
import { openDestination } from '../../common/backup/open-destination.js';
import type { BackupDestination } from '../../common/backup/destination.js';
import { parseSegmentKey, type SegmentName } from '../../common/backup/segment.js';
import { evenSlotRanges } from '../../common/cluster-map.js';
import { readClusterManifest, readShardManifests } from '../../node/backup/restore.js';
import { restoreFromBackup } from '../../node/backup/restore-run.js';
import { openDatabase } from '../../node/engine/database.js';
import { decodeValue } from '../../node/engine/codec.js';
import { waitFor } from '../support/wait.js';
import { STORAGE_CLASS } from '../support/kube/kubelet/provisioner.js';
import { createNamespace, deleteNamespace, listPods, type KubeEnv, type Pod } from './helpers.js';
import { deployOperator, diagnostics, installCrds, irisClusterManifest, operatorNamespace, waitForStatus } from './operator-support.js';

const CLUSTER = 'rt';
const CLAIM = 'backups';
const SUBDIR = 'iris/rt';
const KEEP = 2;
const NODES = `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`;

interface IrisBackupObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { phase?: string; backupId?: string; completionTime?: string };
}
interface WindowStatus {
  firstRecoverabilityPoint?: string | null;
  lastArchivedTime?: string | null;
}
type Segment = SegmentName & { key: string };

describe('e2e: retention of scheduled backups and of the log archive on a pvc destination', function () {
  this.timeout(300000);
  let env: KubeEnv;
  let ns: string;
  // Acknowledged writes, and every write sent (one that failed may still have landed): each key is written once.
  const written = new Map<string, string>();
  const sent = new Map<string, string>();
  /** The oldest backup retention kept (the first test's). */
  let oldestKept = '';

  operatorNamespace('backup-retention', CLUSTER, (e, n) => {
    env = e;
    ns = n;
  });

  const backupSpec = (schedule: string): Record<string, unknown> => ({
    schedule, retention: KEEP, archive: { enabled: true, segmentSeconds: 1 }, destination: { pvc: { claimName: CLAIM, path: SUBDIR } },
  });
  const scheduled = async (): Promise<IrisBackupObject[]> => (await env.rest.get<{ items: IrisBackupObject[] }>(`/apis/irisdb.io/v1alpha1/namespaces/${ns}/irisbackups`)).items
    .filter((b) => b.metadata?.labels?.['irisdb.io/scheduled'] === 'true');

  /** The host directory behind the claim (the test kubelet's volumes are hostPath PersistentVolumes): what every node pod mounts. */
  async function volumeDir(): Promise<string> {
    const pvc = await env.rest.get<{ spec?: { volumeName?: string } }>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${CLAIM}`);
    const pv = await env.rest.get<{ spec?: { hostPath?: { path: string } } }>(`/api/v1/persistentvolumes/${pvc.spec!.volumeName!}`);
    return pv.spec!.hostPath!.path;
  }
  const claimDir = async (): Promise<string> => path.join(await volumeDir(), SUBDIR);

  async function segments(dest: BackupDestination): Promise<Segment[]> {
    return (await dest.list('archive/')).flatMap((o) => {
      const n = parseSegmentKey(o.key);
      return n === null ? [] : [{ ...n, key: o.key }];
    });
  }

  it('keeps the newest 2 scheduled backups (objects and files), the archive from the oldest kept one on, and shows the window from it', async () => {
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: CLAIM, namespace: ns },
      spec: { accessModes: ['ReadWriteMany'], storageClassName: STORAGE_CLASS, resources: { requests: { storage: '1Gi' } } },
    }));
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 1, replicasPerShard: 0, backup: backupSpec('*/5 * * * * *') }));
    await waitForStatus(env, ns, CLUSTER, 'phase Ready with 1/1 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '1/1', 240000);
    const root = await claimDir();
    const dest = openDestination(parseDestination(`file://${root}`));
    const pod = (await listPods(env, ns, NODES))[0]!;
    const seed = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
    const client = new Cluster([{ host: seed.host, port: seed.port }], { maxRedirections: 16 });
    client.on('error', () => {});
    let n = 0;
    const writeSome = async (count: number): Promise<void> => {
      const batch = Array.from({ length: count }, () => [`rt:${n}`, `v-${n++}`] as const);
      for (const [k, v] of batch) sent.set(k, v);
      await Promise.all(batch.map(([k, v]) => client.set(k, v)));
      for (const [k, v] of batch) written.set(k, v);
    };
    try {
      // Every scheduled backup seen Completed, by object name; every archive segment seen on the claim.
      const seen = new Map<string, { id: string; completedAt: number }>();
      const seenSegments = new Map<string, Segment>();
      // A few writes per poll: the archive grows between backups (segments of 1 s), so older segments exist for retention to delete.
      await waitFor(`more than ${KEEP} scheduled backups completed and the oldest ones deleted`, async () => {
        await writeSome(5);
        const now = await scheduled();
        for (const b of now) {
          if (b.status?.phase === 'Completed' && !seen.has(b.metadata!.name!)) seen.set(b.metadata!.name!, { id: b.status.backupId!, completedAt: Date.parse(b.status.completionTime!) });
        }
        for (const s of await segments(dest)) seenSegments.set(s.key, s);
        const listed = new Set(now.map((b) => b.metadata!.name!));
        return seen.size >= KEEP + 2 && [...seen.keys()].filter((name) => !listed.has(name)).length >= 2;
      }, { timeoutMs: 120000, intervalMs: 250 });
      // Stop the schedule (retention stays on), so the checks below see a settled destination.
      await env.kubectl(['patch', 'irisclusters', CLUSTER, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { backup: backupSpec('0 0 1 1 *') } })]);
      const kept = await waitFor(`exactly ${KEEP} Completed scheduled IrisBackups and none running`, async () => {
        const now = await scheduled();
        for (const b of now) {
          if (b.status?.phase === 'Completed' && !seen.has(b.metadata!.name!)) seen.set(b.metadata!.name!, { id: b.status.backupId!, completedAt: Date.parse(b.status.completionTime!) });
        }
        return now.length === KEEP && now.every((b) => b.status?.phase === 'Completed') && now;
      }, { timeoutMs: 60000, intervalMs: 250 });
      await writeSome(20);
      // One last write after every other was acknowledged: once the archive holds a batch committed at or after this time, it holds them all (one log, in order).
      const markerAt = Date.now();
      await writeSome(1);

      // The IrisBackup objects of the deleted backups are gone, and so are their directories on the claim.
      const keptIds = kept.map((b) => b.status!.backupId!).sort();
      const deleted = [...seen].filter(([name]) => !kept.some((b) => b.metadata?.name === name));
      expect(deleted.length, 'scheduled backups retention deleted').to.be.at.least(2);
      for (const [name, { id }] of deleted) {
        expect(await env.rest.find(`/apis/irisdb.io/v1alpha1/namespaces/${ns}/irisbackups/${name}`), `IrisBackup ${name}`).to.equal(null);
        expect(fs.existsSync(path.join(root, id)), `directory of ${id} on the claim`).to.equal(false);
      }
      for (const id of keptIds) expect(fs.existsSync(path.join(root, id, 'manifest.json')), `manifest of kept ${id}`).to.equal(true);
      const onClaim = fs.readdirSync(root).filter((d) => d.startsWith('backup-')).sort();
      expect(onClaim, 'backup directories on the claim').to.deep.equal(keptIds);

      // The archive: what no kept backup can replay goes (the shard's newest segment always stays); the rest is there.
      const oldest = keptIds[0]!;
      oldestKept = oldest;
      const oldestManifest = await readClusterManifest(dest, oldest);
      const floor = new Map((await readShardManifests(dest, oldestManifest)).map((m) => [m.shard, m.endSeq]));
      const status = await waitFor('the window from the oldest kept backup, the archive past the last write, no unusable segment left', async () => {
        const c = await env.rest.get<{ status?: WindowStatus }>(`/apis/irisdb.io/v1alpha1/namespaces/${ns}/irisclusters/${CLUSTER}`);
        const segs = await segments(dest);
        const newest = new Map<string, number>();
        for (const s of segs) newest.set(s.shard, Math.max(newest.get(s.shard) ?? 0, s.lastSeq));
        const unusable = segs.filter((s) => s.lastSeq <= floor.get(s.shard)! && s.lastSeq !== newest.get(s.shard));
        const w = c.status;
        return unusable.length === 0 && w?.firstRecoverabilityPoint === oldestManifest.finishedAt
          && typeof w.lastArchivedTime === 'string' && Date.parse(w.lastArchivedTime) >= markerAt && { w, segs };
      }, { timeoutMs: 60000, intervalMs: 250 });
      const gone = [...seenSegments.values()].filter((s) => s.lastSeq <= floor.get(s.shard)! && !status.segs.some((x) => x.key === s.key));
      expect(gone.length, 'segments from before the oldest kept backup deleted').to.be.greaterThan(0);
      // The window starts after every deleted backup (completionTime is to the second, the manifest's finish to the millisecond).
      const lastDeleted = Math.max(...deleted.map(([, d]) => d.completedAt));
      expect(Date.parse(status.w.firstRecoverabilityPoint!)).to.be.at.least(lastDeleted);

      // What is left is enough: the oldest kept backup plus the archive on the claim restore every acknowledged write.
      const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'iris-kube-retention-'));
      try {
        const r = await restoreFromBackup({ dest, targets: [{ slots: [evenSlotRanges(1)[0]!], dataDir: dir }], backupId: oldest, pointInTime: null, now: Date.now, keyring: null });
        expect(r.replay, 'the archive was replayed from the oldest kept backup').to.not.equal(null);
        expect(r.replay!.segments).to.be.greaterThan(0);
        const { db } = openDatabase(dir, 'batch');
        try {
          const rows = db.prepare('SELECT key, flags, value FROM kv').all() as Array<{ key: Buffer; flags: number; value: Buffer }>;
          const got = new Map(rows.map((row) => [row.key.toString(), decodeValue(row.value, row.flags, row.key).toString()]));
          const lost = [...written].filter(([k, v]) => got.get(k) !== v).map(([k]) => k);
          expect(lost, 'acknowledged writes missing or different after the restore').to.deep.equal([]);
          const unknown = [...got].filter(([k, v]) => sent.get(k) !== v).map(([k]) => k);
          expect(unknown, 'restored keys no client sent').to.deep.equal([]);
          expect(written.size, 'acknowledged writes').to.be.greaterThan(100);
        } finally {
          db.close();
        }
      } finally {
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    } finally {
      client.disconnect();
      seed.close();
      dest.close();
    }
  });

  it('another namespace restores from the claim re-bound there (spec.bootstrap.fromBackup.destination): every acknowledged write', async () => {
    expect(oldestKept, 'the backup kept by the first test').to.not.equal('');
    const dir = await volumeDir();
    const other = await createNamespace(env, 'backup-rebound');
    const pvName = `${other}-rebound`;
    const name = 'moved';
    try {
      await installCrds(env, other);
      await deployOperator(env, other);
      // The same directory as a second PersistentVolume, pre-bound to a claim of the other namespace; Retain: deleting it leaves the backups.
      await env.kubectl(['apply', '-f', '-'], JSON.stringify({
        apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pvName },
        spec: {
          capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: '',
          hostPath: { path: dir }, claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: other, name: 'rebound' },
        },
      }));
      await env.kubectl(['apply', '-f', '-'], JSON.stringify({
        apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'rebound', namespace: other },
        spec: { accessModes: ['ReadWriteMany'], storageClassName: '', volumeName: pvName, resources: { requests: { storage: '1Gi' } } },
      }));
      await waitFor('the re-bound claim to be Bound', async () => (await env.rest.get<{ status?: { phase?: string } }>(`/api/v1/namespaces/${other}/persistentvolumeclaims/rebound`)).status?.phase === 'Bound', { timeoutMs: 60000, intervalMs: 200 });
      await env.kubectl(['apply', '-f', '-'], irisClusterManifest(other, name, {
        shards: 2, replicasPerShard: 0,
        bootstrap: { fromBackup: { destination: { pvc: { claimName: 'rebound', path: SUBDIR } }, backupId: oldestKept } },
      }));
      await waitForStatus(env, other, name, 'the restored cluster Ready with 2/2 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '2/2', 240000).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await diagnostics(env, other, name)}`);
      });
      const pods = await listPods(env, other, `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${name}`);
      for (const p of pods as Array<Pod & { status?: { initContainerStatuses?: Array<{ name: string; state?: { terminated?: { exitCode?: number } } }> } }>) {
        expect((p.status?.initContainerStatuses ?? []).map((c) => [c.name, c.state?.terminated?.exitCode]), p.metadata?.name).to.deep.equal([['restore', 0]]);
      }
      const seed = await env.podEndpoint(other, pods[0]!.metadata!.name!, 6379);
      const client = new Cluster([{ host: seed.host, port: seed.port }], { maxRedirections: 16 });
      client.on('error', () => {});
      try {
        const keys = [...written.keys()];
        const got = await Promise.all(keys.map((k) => client.get(k)));
        const lost = keys.filter((k, i) => got[i] !== written.get(k));
        expect(lost, 'acknowledged writes missing or different in the other namespace').to.deep.equal([]);
        expect(client.nodes('master').length).to.equal(2);
      } finally {
        client.disconnect();
        seed.close();
      }
      // Nothing checks a destination given directly until the restore reads it: a backup id that is not there fails the init container, naming it.
      const missing = 'backup-20000101T000000Z-1';
      await env.kubectl(['apply', '-f', '-'], irisClusterManifest(other, 'nobackup', {
        shards: 1, replicasPerShard: 0, bootstrap: { fromBackup: { destination: { pvc: { claimName: 'rebound', path: SUBDIR } }, backupId: missing } },
      }));
      const failed = await waitFor('the restore init container to fail', async () => {
        const p = (await listPods(env, other, 'app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=nobackup'))[0] as (Pod & { status?: { initContainerStatuses?: Array<{ name: string; lastState?: { terminated?: { exitCode?: number } }; state?: { terminated?: { exitCode?: number } } }> } }) | undefined;
        const st = p?.status?.initContainerStatuses?.find((c) => c.name === 'restore');
        const code = st?.state?.terminated?.exitCode ?? st?.lastState?.terminated?.exitCode;
        return code !== undefined && code !== 0 && p;
      }, { timeoutMs: 120000, intervalMs: 250 });
      expect(await env.podLogs(other, failed.metadata!.name!)).to.match(/restore failed/).and.include(`backup ${missing} has no manifest: it does not exist or never completed`);
    } finally {
      await deleteNamespace(env, other);
      await env.rest.delete(`/api/v1/persistentvolumes/${pvName}`).catch(() => undefined);
    }
  });
});
