/**
 * spec.bootstrap.fromBackup with a destination instead of an IrisBackup
 * name (issue #15): a backup another namespace took, reached through S3 or
 * through a claim re-bound in this namespace (pods mount only claims of
 * their own namespace). Pure: the source recorded, the restore init
 * container and the claim mount it gives the pods.
 */
import { expect } from 'chai';
import { ANNOTATION_BOOTSTRAP_SOURCE, resolveBootstrapSource } from '../../operator/kube/backup/bootstrap-source.js';
import { statefulSet } from '../../operator/kube/build/statefulset.js';
import type { IrisCluster, IrisClusterSpec } from '../../operator/kube/iris-cluster.js';

const cr = (fromBackup: Record<string, unknown>, shards = 2): IrisCluster => ({ metadata: { name: 'moved', namespace: 'b', uid: 'u9' }, spec: { shards, bootstrap: { fromBackup } } as IrisClusterSpec });

describe('operator: spec.bootstrap.fromBackup.destination (a backup of another namespace)', () => {
  it('resolves a pvc destination and backupId without any IrisBackup: the claim in this namespace, the id as given', () => {
    const src = resolveBootstrapSource(cr({ destination: { pvc: { claimName: 'rebound', path: '/iris//prod/' } }, backupId: 'backup-20261206T030000Z-1', pointInTime: '2026-12-06T04:00:00Z' }), null);
    expect(src).to.deep.equal({
      backup: '', url: 'file:///var/lib/irisdb-backups/rebound/iris/prod', backupId: 'backup-20261206T030000Z-1', secretName: null, claimName: 'rebound', pointInTime: '2026-12-06T04:00:00Z', shards: 2,
    });
  });

  it('an s3 destination without backupId: the newest backup there (empty id), its Secret in this namespace', () => {
    expect(resolveBootstrapSource(cr({ destination: { s3: { bucket: 'b', prefix: 'iris/prod', endpoint: 'http://s3:9000', region: 'eu-1', secretRef: { name: 'creds' } } } }), null)).to.deep.equal({
      backup: '', url: 's3://b/iris/prod', backupId: '', endpoint: 'http://s3:9000', region: 'eu-1', secretName: 'creds', pointInTime: null, shards: 2,
    });
  });

  it('refuses a destination path leaving the volume, and a fromBackup with neither name nor destination', () => {
    expect(() => resolveBootstrapSource(cr({ destination: { pvc: { claimName: 'rebound', path: 'a/../..' } } }), null)).to.throw(/pvc\.path may not contain/);
    expect(() => resolveBootstrapSource(cr({ pointInTime: '2026-12-06T04:00:00Z' }), null)).to.throw(/needs name \(an IrisBackup\) or destination/);
  });

  it('the pods mount the claim and the restore init container reads the backup from it', () => {
    const src = resolveBootstrapSource(cr({ destination: { pvc: { claimName: 'rebound' } }, backupId: 'backup-1' }), null);
    const resource: IrisCluster = { ...cr({ destination: { pvc: { claimName: 'rebound' } }, backupId: 'backup-1' }), metadata: { name: 'moved', namespace: 'b', uid: 'u9', annotations: { [ANNOTATION_BOOTSTRAP_SOURCE]: JSON.stringify(src) } } };
    const t = statefulSet(resource, 0, 2).spec!.template;
    const init = t.spec!.initContainers!;
    const env = Object.fromEntries(init[0]!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).to.deep.include({ IRIS_RESTORE_FROM: 'file:///var/lib/irisdb-backups/rebound', IRIS_RESTORE_BACKUP_ID: 'backup-1', IRIS_RESTORE_SHARD: '0/2' });
    expect(t.spec!.volumes!.filter((v) => v.persistentVolumeClaim !== undefined).map((v) => v.persistentVolumeClaim!.claimName)).to.include('rebound');
    expect(init[0]!.volumeMounts!.map((m) => m.mountPath)).to.include('/var/lib/irisdb-backups/rebound');
  });
});
