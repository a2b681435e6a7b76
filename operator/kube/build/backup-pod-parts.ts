/**
 * What a node pod needs for backups to the cluster's spec.backup
 * destination: the S3 credentials as environment variables from the
 * destination's Secret (secretKeyRef, so they never pass through the
 * operator or the admin API), and, with spec.backup.archive.enabled, the
 * log archive settings (--archive-destination and its segment time, the
 * endpoint and region for the node's S3 client). The bucket, prefix,
 * endpoint and region of backups are not here: the controller sends them
 * with each snapshot request, so changing them needs no restart. Changing
 * the Secret's name or the archive settings rolls the pods (the template
 * changes). A pvc destination's claim is
 * mounted into every container of the pods, the restore init container
 * included (withBackupVolumes), at /var/lib/irisdb-backups/<claim>, with
 * --backup-volume so the operator reaches it through the node. The S3
 * Secret is also mounted as files into the node container
 * (--s3-credentials-dir), read for each upload: rotating its contents
 * reaches the running nodes through the kubelet's refresh of the volume,
 * with no restart. Pure.
 */
import type { V1Container, V1EnvVar, V1PodTemplateSpec, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from '../backup/credentials.js';
import { BACKUP_VOLUMES_ROOT, backupClaimMount, resolveDestination } from '../backup/destination.js';
import { clusterBackupSpec } from '../backup/iris-backup.js';
import { bootstrapSourceOf } from '../backup/bootstrap-source.js';
import type { IrisCluster } from '../iris-cluster.js';
import { CONTAINER } from '../names.js';

export interface BackupPodParts {
  readonly env: V1EnvVar[];
}

export function backupPodParts(spec: object): BackupPodParts {
  const backup = clusterBackupSpec(spec);
  const secret = backup?.destination.s3?.secretRef?.name;
  const env: V1EnvVar[] = secret === undefined ? [] : [ACCESS_KEY_ID, SECRET_ACCESS_KEY].map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: secret, key } } }));
  // The same keys as files, read for each upload: rotating the Secret reaches running nodes (the variables stay for the spec hash).
  if (secret !== undefined) env.push({ name: 'IRIS_S3_CREDENTIALS_DIR', value: S3_CREDENTIALS_MOUNT });
  const claim = backup?.destination.pvc?.claimName;
  if (claim !== undefined) env.push({ name: 'IRIS_BACKUP_VOLUME', value: BACKUP_VOLUMES_ROOT });
  if (backup !== null && backup.archive?.enabled === true) {
    const d = resolveDestination(backup.destination, 'spec.backup.destination');
    env.push(
      { name: 'IRIS_ARCHIVE_DESTINATION', value: d.url },
      { name: 'IRIS_ARCHIVE_SEGMENT_SECONDS', value: String(backup.archive.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS) },
      ...(d.s3.endpoint !== undefined ? [{ name: 'AWS_ENDPOINT_URL_S3', value: d.s3.endpoint }] : []),
      ...(d.s3.region !== undefined ? [{ name: 'AWS_REGION', value: d.s3.region }] : []),
    );
  }
  return { env };
}

/** Where the node container mounts the backup Secret (--s3-credentials-dir). */
export const S3_CREDENTIALS_MOUNT = '/etc/irisdb/s3-credentials';
const S3_CREDENTIALS_VOLUME = 'backup-s3-credentials';
/** Owner and group may read (the pod's fsGroup is the node's group); nobody else. */
const SECRET_MODE = 0o440;

/** The node's default (--archive-segment-seconds). */
export const DEFAULT_SEGMENT_SECONDS = 60;

/** For the spec hash: the pods' backup settings, undefined when there are none. */
export function backupPodHashPart(spec: object): V1EnvVar[] | undefined {
  // Without the credentials directory, which follows from the Secret already: clusters made before it keep their hash.
  const env = backupPodParts(spec).env.filter((e) => e.name !== 'IRIS_S3_CREDENTIALS_DIR');
  const claim = clusterBackupSpec(spec)?.destination.pvc?.claimName;
  // The claim is a volume, not in the environment: changing it must roll the pods too.
  if (claim !== undefined) env.push({ name: 'backup-claim', value: claim });
  return env.length === 0 ? undefined : env;
}

/** The claims the pods mount: spec.backup's pvc destination and the one spec.bootstrap.fromBackup restores from. */
export function backupClaims(cr: IrisCluster): string[] {
  const claims = [clusterBackupSpec(cr.spec)?.destination.pvc?.claimName, bootstrapSourceOf(cr)?.claimName ?? undefined];
  return [...new Set(claims.filter((c): c is string => c !== undefined))];
}

/** `template` with each backup claim as a volume, mounted into every container and init container. */
export function withBackupVolumes(template: V1PodTemplateSpec, cr: IrisCluster): V1PodTemplateSpec {
  const claims = backupClaims(cr);
  const secret = clusterBackupSpec(cr.spec)?.destination.s3?.secretRef?.name;
  const podSpec = template.spec;
  if ((claims.length === 0 && secret === undefined) || podSpec === undefined) return template;
  const volumes: V1Volume[] = claims.map((claimName, i) => ({ name: `backup-claim-${i}`, persistentVolumeClaim: { claimName } }));
  const claimMounts: V1VolumeMount[] = claims.map((claim, i) => ({ name: `backup-claim-${i}`, mountPath: backupClaimMount(claim) }));
  if (secret !== undefined) {
    volumes.push({ name: S3_CREDENTIALS_VOLUME, secret: { secretName: secret, items: [ACCESS_KEY_ID, SECRET_ACCESS_KEY].map((key) => ({ key, path: key })), defaultMode: SECRET_MODE } });
  }
  const mount = (c: V1Container): V1Container => {
    const mounts = c.name === CONTAINER && secret !== undefined ? [...claimMounts, { name: S3_CREDENTIALS_VOLUME, mountPath: S3_CREDENTIALS_MOUNT, readOnly: true }] : claimMounts;
    const current = (c.volumeMounts ?? []).filter((m) => !m.name.startsWith('backup-claim-') && m.name !== S3_CREDENTIALS_VOLUME);
    // Before /tmp, which stays last (see pod-template.ts).
    const tmp = current.findIndex((m) => m.mountPath === '/tmp');
    return { ...c, volumeMounts: tmp < 0 ? [...current, ...mounts] : [...current.slice(0, tmp), ...mounts, ...current.slice(tmp)] };
  };
  return {
    ...template,
    spec: {
      ...podSpec,
      volumes: [...(podSpec.volumes ?? []), ...volumes],
      containers: podSpec.containers.map(mount),
      ...(podSpec.initContainers !== undefined ? { initContainers: podSpec.initContainers.map(mount) } : {}),
    },
  };
}
