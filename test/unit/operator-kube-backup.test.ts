/**
 * IrisBackup on Kubernetes (operator/kube/backup/, issue #15) as plain data:
 * the destination of spec.backup / an IrisBackup, spec.backup's schedule
 * and retention as the core's schedule, the status an object shows for its
 * record (phase and progress), which object starts and which record a
 * Pending object takes up after a crash, the objects of scheduled backups
 * and their removal once the core's retention deleted the backup, and the
 * node pod's credentials.
 */
import { expect } from 'chai';
import type { BackupRecord } from '../../operator/core/backup-state.js';
import { newBackupRecord } from '../../operator/core/backup-step.js';
import { retentionVictims, parseCron } from '../../operator/core/backup-schedule.js';
import { evenSlotRanges, type ClusterMap } from '../../common/cluster-map.js';
import { backupIdOf, lastBackupOf, planBackups, scheduledObjectName, statusFromRecord } from '../../operator/kube/backup/backup-plan.js';
import { BackupSpecError, resolveDestination, scheduleEnv, volumeRelativePath } from '../../operator/kube/backup/destination.js';
import { ANNOTATION_BACKUP_ID, LABEL_SCHEDULED, clusterBackupSpec, type IrisBackup } from '../../operator/kube/backup/iris-backup.js';
import { cronOf, scheduleOf } from '../../operator/kube/backup/schedule-spec.js';
import { backupPodHashPart, backupPodParts } from '../../operator/kube/build/backup-pod-parts.js';
import { podTemplate } from '../../operator/kube/build/pod-template.js';
import type { IrisCluster, IrisClusterSpec } from '../../operator/kube/iris-cluster.js';
import fc from 'fast-check';
import { ANNOTATION_BOOTSTRAP_SOURCE, ANNOTATION_DESTINATION, bootstrapSourceOf, resolveBootstrapSource } from '../../operator/kube/backup/bootstrap-source.js';
import { statefulSet } from '../../operator/kube/build/statefulset.js';
import { podSpecHash } from '../../operator/kube/build/spec-hash.js';
import { BackupStep } from '../../operator/kube/backup/backup-step.js';
import { parseDestination, type DestinationSpec } from '../../common/backup/destination-url.js';
import type { BackupDestination } from '../../common/backup/destination.js';
import type { KubeClient } from '../../operator/kube/client.js';
import { parsePointInTime, parseRestoreShard, RestoreSettingError } from '../../node/bootstrap/restore-shard-spec.js';

const T0 = Date.parse('2026-12-06T10:00:00Z');

function map(shards: number): ClusterMap {
  return { epoch: 1, shards: evenSlotRanges(shards).map((r, i) => ({ id: `shard-${i}`, primary: `iris-shard-${i}-0`, replicas: [], slots: [r] })) } as unknown as ClusterMap;
}

function record(id: string, at: number, patch: Partial<BackupRecord> = {}): BackupRecord {
  return { ...newBackupRecord(id, { kind: 's3', url: 's3://backups/iris', bucket: 'backups', prefix: 'iris', s3: {} }, 'gzip', map(2), at), ...patch };
}

function object(name: string, created: number, patch: Partial<IrisBackup> = {}): IrisBackup {
  return { metadata: { name, namespace: 'db', uid: `uid-${name}`, creationTimestamp: new Date(created).toISOString() as unknown as Date }, spec: { cluster: 'iris' }, ...patch };
}

describe('operator/kube/backup', () => {
  describe('destination', () => {
    it('makes the s3 URL from bucket and prefix, keeps endpoint and region, names the secretRef, never a credential', () => {
      const d = resolveDestination({ s3: { bucket: 'backups', prefix: '/iris/prod/', endpoint: 'http://127.0.0.1:8333', region: 'eu-west-1', secretRef: { name: 's3-creds' } } }, 'x');
      expect(d).to.deep.equal({ url: 's3://backups/iris/prod', s3: { endpoint: 'http://127.0.0.1:8333', region: 'eu-west-1', forcePathStyle: true }, secretName: 's3-creds', claimName: null });
      expect(resolveDestination({ s3: { bucket: 'b' } }, 'x')).to.deep.equal({ url: 's3://b', s3: { forcePathStyle: false }, secretName: null, claimName: null });
      expect(scheduleEnv(d)).to.deep.equal({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:8333', AWS_REGION: 'eu-west-1' });
      expect(JSON.stringify(scheduleEnv(d))).to.not.match(/SECRET|ACCESS_KEY/);
    });

    it('a pvc destination is a file:// URL on the claim where the node pods mount it (claimName, path); a missing one or a .. path is refused', () => {
      expect(resolveDestination({ pvc: { claimName: 'backups' } }, 'x')).to.deep.equal({ url: 'file:///var/lib/irisdb-backups/backups', s3: {}, secretName: null, claimName: 'backups' });
      const d = resolveDestination({ pvc: { claimName: 'backups', path: '/iris/prod/' } }, 'x');
      expect(d.url).to.equal('file:///var/lib/irisdb-backups/backups/iris/prod');
      // What the operator sends through a node's /admin/backup-volume: relative to the nodes' --backup-volume.
      expect(volumeRelativePath(d.url)).to.equal('backups/iris/prod');
      expect(volumeRelativePath('file:///elsewhere')).to.equal(null);
      expect(() => resolveDestination({ pvc: { claimName: 'b', path: 'a/../../etc' } }, 'IrisBackup x spec.destination')).to.throw(BackupSpecError, /\.\. segments/);
      expect(() => resolveDestination(undefined, 'IrisBackup x')).to.throw(BackupSpecError, /no destination/);
    });

    it('pvc paths (property): a path without . or .. segments lands below the claim\'s mount, and volumeRelativePath gives claim/path back; any . or .. segment is refused', () => {
      const segment = fc.stringMatching(/^[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,11}$/).filter((x) => x !== '.' && x !== '..');
      fc.assert(fc.property(fc.array(segment, { maxLength: 4 }), fc.boolean(), fc.boolean(), (segs, lead, trail) => {
        const given = `${lead ? '/' : ''}${segs.join(trail ? '//' : '/')}${trail && segs.length > 0 ? '/' : ''}`;
        const d = resolveDestination({ pvc: { claimName: 'c', path: given } }, 'x');
        expect(d.url).to.equal(`file:///var/lib/irisdb-backups/c${segs.length === 0 ? '' : `/${segs.join('/')}`}`);
        expect(volumeRelativePath(d.url)).to.equal(['c', ...segs].join('/'));
      }));
      fc.assert(fc.property(fc.array(segment, { maxLength: 3 }), fc.constantFrom('.', '..'), fc.nat(3), (segs, bad, at) => {
        const parts = [...segs];
        parts.splice(Math.min(at, parts.length), 0, bad);
        expect(() => resolveDestination({ pvc: { claimName: 'c', path: parts.join('/') } }, 'x')).to.throw(BackupSpecError);
      }));
    });

    it('pvc: every container of the pods mounts the claim (the restore init container too), the nodes get --backup-volume and archive there; the hash follows the claim', () => {
      const spec = { shards: 1, backup: { schedule: '@daily', archive: { enabled: true }, destination: { pvc: { claimName: 'backups', path: 'p' } } } } as IrisClusterSpec;
      const env = Object.fromEntries(backupPodParts(spec).env.map((e) => [e.name, e.value]));
      expect(env).to.deep.equal({ IRIS_BACKUP_VOLUME: '/var/lib/irisdb-backups', IRIS_ARCHIVE_DESTINATION: 'file:///var/lib/irisdb-backups/backups/p', IRIS_ARCHIVE_SEGMENT_SECONDS: '60' });
      const t = statefulSet({ metadata: { name: 'iris', namespace: 'db', uid: 'u' }, spec }, 0, 1).spec!.template.spec!;
      expect(t.volumes).to.deep.include({ name: 'backup-claim-0', persistentVolumeClaim: { claimName: 'backups' } });
      const mounts = t.containers[0]!.volumeMounts!;
      expect(mounts).to.deep.include({ name: 'backup-claim-0', mountPath: '/var/lib/irisdb-backups/backups' });
      expect(mounts[mounts.length - 1]!.mountPath, '/tmp stays last').to.equal('/tmp');
      const other = { shards: 1, backup: { schedule: '@daily', archive: { enabled: true }, destination: { pvc: { claimName: 'other', path: 'p' } } } } as IrisClusterSpec;
      expect(podSpecHash(other)).to.not.equal(podSpecHash(spec));
      // A restored cluster mounts the claim its backup is on, in the restore init container as well.
      const done: IrisBackup = { metadata: { name: 'b1', namespace: 'db' }, spec: { cluster: 'iris', destination: { pvc: { claimName: 'old', path: 'x' } } }, status: { phase: 'Completed', backupId: 'backup-1', destination: 'file:///var/lib/irisdb-backups/old/x' } };
      const cr: IrisCluster = { metadata: { name: 'r', namespace: 'db', uid: 'u2' }, spec: { shards: 1, bootstrap: { fromBackup: { name: 'b1' } } } as IrisClusterSpec };
      const src = resolveBootstrapSource(cr, done);
      expect(src).to.deep.include({ url: 'file:///var/lib/irisdb-backups/old/x', claimName: 'old', secretName: null });
      const rt = statefulSet({ ...cr, metadata: { ...cr.metadata, annotations: { [ANNOTATION_BOOTSTRAP_SOURCE]: JSON.stringify(src) } } }, 0, 1).spec!.template.spec!;
      expect(rt.initContainers![0]!.volumeMounts).to.deep.include({ name: 'backup-claim-0', mountPath: '/var/lib/irisdb-backups/old' });
      expect(rt.volumes).to.deep.include({ name: 'backup-claim-0', persistentVolumeClaim: { claimName: 'old' } });
    });
  });

  describe('spec.backup schedule and retention', () => {
    it('turns the CronJob macros into expressions the core parses, and defaults retention to 7', () => {
      for (const m of ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']) expect(() => parseCron(cronOf(m)), m).to.not.throw();
      expect(cronOf('@daily')).to.equal('0 0 * * *');
      expect(cronOf('*/5 * * * *')).to.equal('*/5 * * * *');
      const spec = clusterBackupSpec({ backup: { schedule: '@hourly', destination: { s3: { bucket: 'b' } } } })!;
      expect(scheduleOf(spec, 's3://b')).to.deep.equal({ cron: '0 * * * *', destination: 's3://b', keep: 7 });
      expect(scheduleOf({ ...spec, retention: 2 }, 's3://b').keep).to.equal(2);
      expect(clusterBackupSpec({})).to.equal(null);
    });

    it('retention: once the core deletes the oldest scheduled backups, their IrisBackup objects go too (and only scheduled ones)', () => {
      const recs = [1, 2, 3].map((i) => record(`backup-${i}`, T0 + i * 60_000, { scheduled: true, phase: 'Completed', finishedAt: T0 + i * 60_000 + 5000 }));
      const manual = record('backup-9', T0, { phase: 'Completed', finishedAt: T0 + 1000 });
      const victims = retentionVictims([...recs, manual], 1);
      expect(victims).to.deep.equal(['backup-1', 'backup-2']);
      const kept = [...recs, manual].filter((r) => !victims.includes(r.id));
      const objs = [...recs.map((r) => object(scheduledObjectName('iris', r.id), r.startedAt, {
        metadata: { name: scheduledObjectName('iris', r.id), labels: { [LABEL_SCHEDULED]: 'true' }, annotations: { [ANNOTATION_BACKUP_ID]: r.id } },
      })), object('manual', T0 - 1000, { status: { phase: 'Completed', backupId: 'backup-9' } })];
      const plan = planBackups(objs, kept);
      expect(plan.remove).to.deep.equal([scheduledObjectName('iris', 'backup-1'), scheduledObjectName('iris', 'backup-2')]);
      expect(plan.createFor).to.deep.equal([]);
    });

    it('a scheduled record without an object gets one, named after the cluster and the backup id', () => {
      const rec = record('backup-20261206T030000Z-7', T0, { scheduled: true });
      const plan = planBackups([], [rec]);
      expect(plan.createFor.map((r) => r.id)).to.deep.equal([rec.id]);
      expect(scheduledObjectName('iris', rec.id)).to.equal('iris-backup-20261206t030000z-7');
    });
  });

  describe('status from the record (phase and progress)', () => {
    it('Running with shards done, keys and bytes; Completed and Failed with their time and message', () => {
      const r = record('backup-1', T0);
      const running: BackupRecord = { ...r, shards: [{ ...r.shards[0]!, state: 'done', keys: 10, bytes: 100 }, { ...r.shards[1]!, state: 'running', keys: 4, bytes: 30 }] };
      const s = statusFromRecord(running);
      expect(s).to.deep.include({ phase: 'Running', backupId: 'backup-1', destination: 's3://backups/iris', keys: 14, bytes: 130, shardsDone: 1, shardsTotal: 2, shards: '1/2', startTime: '2026-12-06T10:00:00Z' });
      expect(s.message).to.match(/1\/2 shards done, 14 keys/);
      expect(s).to.not.have.property('completionTime');
      const done = statusFromRecord({ ...running, phase: 'Completed', finishedAt: T0 + 7000, message: '14 keys, 130 bytes in 2 shards' });
      expect(done).to.deep.include({ phase: 'Completed', completionTime: '2026-12-06T10:00:07Z', message: '14 keys, 130 bytes in 2 shards' });
      expect(statusFromRecord({ ...running, phase: 'Failed', finishedAt: T0 + 1, message: 'shard shard-1: 3 attempts failed' }).phase).to.equal('Failed');
    });

    it('an object is never Completed unless its record is: a lost record of a Running backup fails it', () => {
      const o = object('b1', T0, { status: { phase: 'Running', backupId: 'backup-1' } });
      const plan = planBackups([o], []);
      expect(plan.statuses).to.have.length(1);
      expect(plan.statuses[0]!.status.phase).to.equal('Failed');
      expect(plan.statuses[0]!.status.message).to.match(/no record of backup backup-1/);
      // A finished one whose record was trimmed keeps its status.
      expect(planBackups([object('b2', T0, { status: { phase: 'Completed', backupId: 'backup-2' } })], []).statuses).to.deep.equal([]);
    });
  });

  describe('which backup starts', () => {
    it('marks new objects Pending and starts the oldest of the cluster, none while a backup runs', () => {
      const a = object('a', T0 + 2000);
      const b = object('b', T0 + 1000);
      const plan = planBackups([a, b], []);
      expect(plan.start?.metadata.name).to.equal('b');
      expect(plan.statuses.map((s) => [s.name, s.status.phase])).to.deep.equal([['b', 'Pending'], ['a', 'Pending']]);
      expect(planBackups([a, b], [record('backup-1', T0 - 60_000, { scheduled: true })]).start).to.equal(null);
      // A Failed one (bad destination) is not started again.
      expect(planBackups([object('c', T0, { status: { phase: 'Failed', message: 'x' } })], []).start).to.equal(null);
    });

    it('after a crash between starting a backup and writing the object, the object takes up its record', () => {
      const o = object('a', T0);
      const rec = record('backup-5', T0 + 800);
      const plan = planBackups([o], [rec]);
      expect(plan.start).to.equal(null);
      expect(plan.statuses[0]).to.deep.include({ name: 'a' });
      expect(plan.statuses[0]!.status).to.deep.include({ phase: 'Running', backupId: 'backup-5' });
      // A record from before the object existed is not its backup.
      expect(planBackups([o], [record('backup-4', T0 - 60_000, { phase: 'Completed', finishedAt: T0 - 50_000 })]).start?.metadata.name).to.equal('a');
      expect(backupIdOf(object('x', T0, { metadata: { name: 'x', annotations: { [ANNOTATION_BACKUP_ID]: 'backup-3' } } }))).to.equal('backup-3');
    });

    it('IrisCluster status.lastBackup names the newest backup and its object (spec.cluster)', () => {
      const recs = [record('backup-1', T0, { phase: 'Completed', finishedAt: T0 + 5000 }), record('backup-2', T0 + 60_000)];
      const objs = [object('nightly', T0, { spec: { cluster: 'iris' }, status: { backupId: 'backup-2' } })];
      expect(lastBackupOf(recs, objs)).to.deep.equal({ name: 'nightly', id: 'backup-2', time: '2026-12-06T10:01:00Z', phase: 'Running' });
      expect(lastBackupOf([], objs)).to.equal(null);
    });
  });

  describe('pod parts', () => {
    it('gives the nodes the secretRef\'s AWS keys as secretKeyRef variables, nothing without spec.backup', () => {
      const spec = { backup: { schedule: '@daily', destination: { s3: { bucket: 'b', secretRef: { name: 's3-creds' } } } } };
      expect(backupPodParts(spec).env).to.deep.equal([
        { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 's3-creds', key: 'AWS_ACCESS_KEY_ID' } } },
        { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 's3-creds', key: 'AWS_SECRET_ACCESS_KEY' } } },
        { name: 'IRIS_S3_CREDENTIALS_DIR', value: '/etc/irisdb/s3-credentials' },
      ]);
      expect(backupPodParts({}).env).to.deep.equal([]);
      expect(backupPodParts({ backup: { schedule: '@daily', destination: { s3: { bucket: 'b' } } } } as object).env).to.deep.equal([]);
      const env = podTemplate('iris', 0, spec as IrisClusterSpec).spec!.containers[0]!.env!;
      expect(env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')?.valueFrom?.secretKeyRef?.name).to.equal('s3-creds');
      expect(env.some((e) => e.value !== undefined && /s3-creds/.test(e.value))).to.equal(false);
    });

    it('mounts the backup Secret as files into the node container (--s3-credentials-dir: rotation without a restart), not into the restore init container', () => {
      const spec = { shards: 1, backup: { schedule: '@daily', destination: { s3: { bucket: 'b', secretRef: { name: 's3-creds' } } } } } as IrisClusterSpec;
      const t = statefulSet({ metadata: { name: 'iris', namespace: 'db', uid: 'u' }, spec }, 0, 1).spec!.template.spec!;
      expect(t.volumes).to.deep.include({ name: 'backup-s3-credentials', secret: { secretName: 's3-creds', items: [{ key: 'AWS_ACCESS_KEY_ID', path: 'AWS_ACCESS_KEY_ID' }, { key: 'AWS_SECRET_ACCESS_KEY', path: 'AWS_SECRET_ACCESS_KEY' }], defaultMode: 0o440 } });
      expect(t.containers[0]!.volumeMounts).to.deep.include({ name: 'backup-s3-credentials', mountPath: '/etc/irisdb/s3-credentials', readOnly: true });
      expect(t.containers[0]!.env).to.deep.include({ name: 'IRIS_S3_CREDENTIALS_DIR', value: '/etc/irisdb/s3-credentials' });
      // The hash of a cluster made before the credentials directory existed is unchanged: upgrading the operator restarts nothing.
      expect(backupPodHashPart(spec)!.map((e) => e.name)).to.deep.equal(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
    });
  });

  describe('before the controller starts', () => {
    // An operator restarted mid-backup resumes the record; the controller's first tick may finalize it before the step's first pass.
    it('prepare: spec.backup\'s Secret keys and endpoint reach the runner\'s opener and environment (CI stop 25: "Could not load credentials")', async () => {
      const opened: DestinationSpec[] = [];
      const step = new BackupStep('op-1', (spec) => {
        opened.push(spec);
        return { description: spec.url } as unknown as BackupDestination;
      });
      const reads: string[] = [];
      const b64 = (x: string): string => Buffer.from(x).toString('base64');
      const client = { find: async (p: string) => (reads.push(p), { data: { AWS_ACCESS_KEY_ID: b64('id-1'), AWS_SECRET_ACCESS_KEY: b64('secret-1') } }) } as unknown as KubeClient;
      const cr = { spec: { backup: { schedule: '@daily', destination: { s3: { bucket: 'backups', prefix: 'p', endpoint: 'http://127.0.0.1:8333', secretRef: { name: 's3-creds' } } } } } };
      const d = await step.prepare(client, 'db', cr);
      expect(d?.url).to.equal('s3://backups/p');
      expect(reads).to.deep.equal(['/api/v1/namespaces/db/secrets/s3-creds']);
      expect(step.env).to.deep.equal({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:8333' });
      step.credentials.opener(parseDestination('s3://backups/p', { endpoint: 'http://127.0.0.1:8333', forcePathStyle: true }));
      expect(opened[0]!.kind === 's3' && opened[0]!.s3.credentials).to.deep.equal({ accessKeyId: 'id-1', secretAccessKey: 'secret-1' });
      // Without spec.backup: nothing read, the environment emptied.
      expect(await step.prepare(client, 'db', { spec: {} })).to.equal(null);
      expect(step.env).to.deep.equal({});
      expect(reads.length).to.equal(1);
    });

    it('prepareRunning: a Running IrisBackup with a destination of its own gets the Secret\'s keys under its URL too', async () => {
      const opened: DestinationSpec[] = [];
      const step = new BackupStep('op-1', (spec) => {
        opened.push(spec);
        return { description: spec.url } as unknown as BackupDestination;
      });
      const b64 = (x: string): string => Buffer.from(x).toString('base64');
      const secret = { data: { AWS_ACCESS_KEY_ID: b64('id-1'), AWS_SECRET_ACCESS_KEY: b64('secret-1') } };
      const own = { s3: { bucket: 'other', prefix: 'x', secretRef: { name: 's3-creds' } } };
      const items = [
        object('mine', T0, { spec: { cluster: 'iris', destination: own }, status: { phase: 'Running' } }),
        object('done', T0, { spec: { cluster: 'iris', destination: { s3: { bucket: 'third', secretRef: { name: 's3-creds' } } } }, status: { phase: 'Completed' } }),
        object('theirs', T0, { spec: { cluster: 'other-cluster', destination: { s3: { bucket: 'fourth', secretRef: { name: 's3-creds' } } } }, status: { phase: 'Running' } }),
      ];
      const reads: string[] = [];
      const client = {
        find: async (p: string) => (reads.push(p), secret),
        get: async () => ({ items }),
      } as unknown as KubeClient;
      await step.prepareRunning(client, 'db', 'iris');
      expect(reads).to.deep.equal(['/api/v1/namespaces/db/secrets/s3-creds']);
      step.credentials.opener(parseDestination('s3://other/x', {}));
      step.credentials.opener(parseDestination('s3://third', {}));
      expect(opened.map((o) => (o.kind === 's3' ? o.s3.credentials?.accessKeyId ?? null : null))).to.deep.equal(['id-1', null]);
    });

    it('prepare: a missing Secret is an error naming it (the runner logs it and the step retries)', async () => {
      const step = new BackupStep('op-1');
      const client = { find: async () => null } as unknown as KubeClient;
      const cr = { spec: { backup: { schedule: '@daily', destination: { s3: { bucket: 'b', secretRef: { name: 'gone' } } } } } };
      let err: unknown = null;
      await step.prepare(client, 'db', cr).catch((e: unknown) => (err = e));
      expect(String(err)).to.match(/Secret db\/gone.*not found|not found.*Secret db\/gone/);
    });
  });

  describe('pod parts: log archive and the spec hash', () => {
    it('with spec.backup.archive enabled, the nodes archive to the destination with its segmentSeconds, endpoint and region', () => {
      const spec = { backup: { schedule: '@daily', archive: { enabled: true, segmentSeconds: 5 }, destination: { s3: { bucket: 'b', prefix: 'iris', endpoint: 'http://s3:9000', region: 'eu-1', secretRef: { name: 's3-creds' } } } } };
      const env = Object.fromEntries(backupPodParts(spec).env.map((e) => [e.name, e.value ?? e.valueFrom]));
      expect(env).to.deep.include({ IRIS_ARCHIVE_DESTINATION: 's3://b/iris', IRIS_ARCHIVE_SEGMENT_SECONDS: '5', AWS_ENDPOINT_URL_S3: 'http://s3:9000', AWS_REGION: 'eu-1' });
      const off = backupPodParts({ backup: { ...spec.backup, archive: { enabled: false } } }).env.map((e) => e.name);
      expect(off).to.deep.equal(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'IRIS_S3_CREDENTIALS_DIR']);
      expect(backupPodParts({ backup: { ...spec.backup, archive: { enabled: true } } }).env.find((e) => e.name === 'IRIS_ARCHIVE_SEGMENT_SECONDS')?.value).to.equal('60');
    });

    it('the spec hash (which rolls the pods) changes with the Secret and the archive, and not for a cluster without spec.backup', () => {
      const base: IrisClusterSpec = { shards: 2 };
      const withSecret = (name: string, archive = false): IrisClusterSpec => ({ ...base, backup: { schedule: '@daily', archive: { enabled: archive }, destination: { s3: { bucket: 'b', secretRef: { name } } } } } as IrisClusterSpec);
      expect(podSpecHash(withSecret('a'))).to.not.equal(podSpecHash(base));
      expect(podSpecHash(withSecret('a'))).to.not.equal(podSpecHash(withSecret('b')));
      expect(podSpecHash(withSecret('a'))).to.not.equal(podSpecHash(withSecret('a', true)));
      // Only the bucket or the schedule changed: no restart (each backup request carries them).
      const other = { ...withSecret('a'), backup: { schedule: '@hourly', destination: { s3: { bucket: 'c', secretRef: { name: 'a' } } } } } as IrisClusterSpec;
      expect(podSpecHash(other)).to.equal(podSpecHash(withSecret('a')));
      expect(podSpecHash({ ...base, backup: { schedule: '@daily', destination: { s3: { bucket: 'b' } } } } as IrisClusterSpec)).to.equal(podSpecHash(base));
    });
  });

  describe('spec.bootstrap.fromBackup', () => {
    const cr = (fromBackup: Record<string, unknown>, shards = 3): IrisCluster => ({ metadata: { name: 'restored', namespace: 'db', uid: 'u2' }, spec: { shards, bootstrap: { fromBackup } } as IrisClusterSpec });
    const done: IrisBackup = {
      metadata: { name: 'nightly', namespace: 'db' }, spec: { cluster: 'iris', destination: { s3: { bucket: 'b', prefix: 'p', endpoint: 'http://s3:9000', secretRef: { name: 's3-creds' } } } },
      status: { phase: 'Completed', backupId: 'backup-7', destination: 's3://b/p', completionTime: '2026-12-06T03:00:10Z' },
    };

    it('resolves a Completed IrisBackup to the restore the nodes run (fromBackup name, pointInTime, shard count)', () => {
      expect(resolveBootstrapSource(cr({ name: 'nightly', pointInTime: '2026-12-06T04:00:00Z' }), done)).to.deep.equal({
        backup: 'nightly', url: 's3://b/p', backupId: 'backup-7', endpoint: 'http://s3:9000', secretName: 's3-creds', pointInTime: '2026-12-06T04:00:00Z', shards: 3,
      });
      // An object without spec.destination: the one recorded when it was taken.
      const recorded: IrisBackup = { ...done, spec: { cluster: 'iris' }, metadata: { ...done.metadata, annotations: { [ANNOTATION_DESTINATION]: JSON.stringify({ s3: { bucket: 'b', prefix: 'p' } }) } } };
      expect(resolveBootstrapSource(cr({ name: 'nightly' }), recorded)).to.deep.include({ url: 's3://b/p', secretName: null, pointInTime: null });
    });

    it('waits for a missing or unfinished IrisBackup, refuses a pointInTime before the backup finished', () => {
      expect(() => resolveBootstrapSource(cr({ name: 'nightly' }), null)).to.throw(/not found/);
      expect(() => resolveBootstrapSource(cr({ name: 'nightly' }), { ...done, status: { phase: 'Running' } })).to.throw(/is Running, not Completed/);
      expect(() => resolveBootstrapSource(cr({ name: 'nightly', pointInTime: '2026-12-06T02:00:00Z' }), done)).to.throw(/after pointInTime/);
    });

    it('gives each shard of the new cluster a restore init container for its first pod; later shards get none', () => {
      const src = resolveBootstrapSource(cr({ name: 'nightly' }, 2), done);
      const resource: IrisCluster = { ...cr({ name: 'nightly' }, 2), metadata: { name: 'restored', namespace: 'db', uid: 'u2', annotations: { [ANNOTATION_BOOTSTRAP_SOURCE]: JSON.stringify(src) } } };
      expect(bootstrapSourceOf(resource)).to.deep.equal(src);
      const t = statefulSet(resource, 1, 2).spec!.template;
      const init = t.spec!.initContainers!;
      expect(init.map((c) => c.name)).to.deep.equal(['restore']);
      const env = Object.fromEntries(init[0]!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
      expect(env).to.deep.include({ IRIS_RESTORE_FROM: 's3://b/p', IRIS_RESTORE_BACKUP_ID: 'backup-7', IRIS_RESTORE_SHARD: '1/2', IRIS_RESTORE_NODE: 'restored-shard-1-0', AWS_ENDPOINT_URL_S3: 'http://s3:9000' });
      expect(env.AWS_SECRET_ACCESS_KEY).to.deep.equal({ secretKeyRef: { name: 's3-creds', key: 'AWS_SECRET_ACCESS_KEY' } });
      expect(init[0]!.volumeMounts).to.deep.equal(t.spec!.containers[0]!.volumeMounts);
      expect(statefulSet(resource, 2, 2).spec!.template.spec!.initContainers ?? []).to.deep.equal([]);
      expect(statefulSet({ ...resource, metadata: { name: 'restored', namespace: 'db' } }, 0, 2).spec!.template.spec!.initContainers ?? []).to.deep.equal([]);
    });

    it('the node parses --restore-shard i/n and --restore-point-in-time strictly', () => {
      fc.assert(fc.property(fc.integer({ min: 1, max: 1024 }), fc.nat(), (n, k) => {
        const i = k % n;
        expect(parseRestoreShard(`${i}/${n}`)).to.deep.equal({ shard: i, shards: n });
      }));
      fc.assert(fc.property(fc.string(), (t) => {
        try {
          const r = parseRestoreShard(t);
          expect(r.shard).to.be.lessThan(r.shards);
        } catch (err) {
          expect(err).to.be.instanceOf(RestoreSettingError);
        }
      }));
      for (const bad of ['3/3', '0/0', '1', 'a/b', '0/1025']) expect(() => parseRestoreShard(bad), bad).to.throw(RestoreSettingError);
      expect(parsePointInTime('2026-12-06T10:30:00Z')).to.equal(Date.parse('2026-12-06T10:30:00Z'));
      expect(parsePointInTime('2026-12-06T10:30:00.5+01:00')).to.equal(Date.parse('2026-12-06T09:30:00.5Z'));
      expect(parsePointInTime('')).to.equal(null);
      for (const bad of ['2026-12-06', '2026-12-06T10:30:00', 'yesterday']) expect(() => parsePointInTime(bad), bad).to.throw(RestoreSettingError);
    });
  });
});
