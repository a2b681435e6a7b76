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
 * changes); rotating the Secret's contents needs a restart of the pods
 * (environment variables are read at start). Pure.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from '../backup/credentials.js';
import { BackupSpecError, resolveDestination } from '../backup/destination.js';
import { clusterBackupSpec } from '../backup/iris-backup.js';

export interface BackupPodParts {
  readonly env: V1EnvVar[];
}

export function backupPodParts(spec: object): BackupPodParts {
  const backup = clusterBackupSpec(spec);
  const secret = backup?.destination.s3?.secretRef?.name;
  const env: V1EnvVar[] = secret === undefined ? [] : [ACCESS_KEY_ID, SECRET_ACCESS_KEY].map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: secret, key } } }));
  if (backup?.archive?.enabled === true) {
    try {
      const d = resolveDestination(backup.destination, 'spec.backup.destination');
      env.push(
        { name: 'IRIS_ARCHIVE_DESTINATION', value: d.url },
        { name: 'IRIS_ARCHIVE_SEGMENT_SECONDS', value: String(backup.archive.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS) },
        ...(d.s3.endpoint !== undefined ? [{ name: 'AWS_ENDPOINT_URL_S3', value: d.s3.endpoint }] : []),
        ...(d.s3.region !== undefined ? [{ name: 'AWS_REGION', value: d.s3.region }] : []),
      );
    } catch (err) {
      // A pvc destination: the CRD refuses it; nothing to archive to.
      if (!(err instanceof BackupSpecError)) throw err;
    }
  }
  return { env };
}

/** The node's default (--archive-segment-seconds). */
export const DEFAULT_SEGMENT_SECONDS = 60;

/** For the spec hash: the pods' backup settings, undefined when there are none. */
export function backupPodHashPart(spec: object): V1EnvVar[] | undefined {
  const env = backupPodParts(spec).env;
  return env.length === 0 ? undefined : env;
}
