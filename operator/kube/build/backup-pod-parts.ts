/**
 * What a node pod needs for backups to the cluster's spec.backup
 * destination: the S3 credentials as environment variables from the
 * destination's Secret (secretKeyRef, so they never pass through the
 * operator or the admin API). The endpoint, region, bucket and prefix are
 * not here: the controller sends them with each snapshot request, so
 * changing them needs no restart; changing the Secret's name rolls the pods
 * (the template changes), and so does rotating its contents (environment
 * variables are read at start: restart the pods). Pure.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from '../backup/credentials.js';
import { clusterBackupSpec } from '../backup/iris-backup.js';

export interface BackupPodParts {
  readonly env: V1EnvVar[];
}

export function backupPodParts(spec: object): BackupPodParts {
  const secret = clusterBackupSpec(spec)?.destination.s3?.secretRef?.name;
  if (secret === undefined) return { env: [] };
  return {
    env: [ACCESS_KEY_ID, SECRET_ACCESS_KEY].map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: secret, key } } })),
  };
}
