/**
 * The IrisBackup custom resource (irisdb.io/v1alpha1) as the operator reads
 * and writes it, and the backup settings of an IrisCluster's spec. Types and
 * names only.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { ResourceType } from '../paths.js';

export const IRISBACKUPS: ResourceType = { group: 'irisdb.io', version: 'v1alpha1', plural: 'irisbackups', kind: 'IrisBackup' };

/** On the IrisBackup objects the schedule creates (retention deletes only these). */
export const LABEL_SCHEDULED = 'irisdb.io/scheduled';
/** On every IrisBackup the operator made or took up: the backup id in the controller's record. */
export const ANNOTATION_BACKUP_ID = 'irisdb.io/backup-id';

export interface S3DestinationSpec {
  readonly bucket: string;
  readonly prefix?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly secretRef?: { readonly name: string };
}

export interface BackupDestinationSpec {
  readonly s3?: S3DestinationSpec;
  readonly pvc?: { readonly claimName: string; readonly path?: string };
}

/** IrisCluster spec.backup */
export interface ClusterBackupSpec {
  readonly schedule: string;
  readonly retention?: number;
  readonly destination: BackupDestinationSpec;
  /** Continuous archiving of every shard's log to the destination (point-in-time restore). */
  readonly archive?: { readonly enabled?: boolean; readonly segmentSeconds?: number };
}

export type IrisBackupPhase = 'Pending' | 'Running' | 'Completed' | 'Failed';

export interface IrisBackupStatus {
  readonly phase?: IrisBackupPhase;
  readonly backupId?: string;
  readonly destination?: string;
  readonly startTime?: string;
  readonly completionTime?: string;
  readonly message?: string;
  readonly bytes?: number;
  readonly keys?: number;
  readonly shardsDone?: number;
  readonly shardsTotal?: number;
  /** shardsDone/shardsTotal (printer column). */
  readonly shards?: string;
}

export interface IrisBackup {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: { readonly cluster: string; readonly destination?: BackupDestinationSpec; readonly maxBytesPerSecond?: number };
  status?: IrisBackupStatus;
}

/** The default retention of spec.backup (the CRD's default). */
export const DEFAULT_RETENTION = 7;

/** IrisCluster spec.backup (typed here, next to the IrisBackup it creates, rather than in the shared IrisClusterSpec). */
export function clusterBackupSpec(spec: object | undefined): ClusterBackupSpec | null {
  return (spec as { backup?: ClusterBackupSpec } | undefined)?.backup ?? null;
}
