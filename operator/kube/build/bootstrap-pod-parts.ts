/**
 * The restore init container of a cluster created with
 * spec.bootstrap.fromBackup: the node image run with --restore-from
 * (node/bootstrap/restore-at-start.ts), which loads the shard's first pod's
 * empty data volume from the backup (and the archived log, up to the point
 * in time) and exits; the node container starts only after it. Its S3
 * endpoint, region and credentials (secretKeyRef) are its own, apart from
 * the node's. From the bootstrap source the operator recorded on the
 * IrisCluster (backup/bootstrap-source.ts); shards beyond those the cluster
 * was created with get none. Pure.
 */
import type { V1EnvVar, V1PodTemplateSpec } from '@kubernetes/client-node';
import { nodeName } from '../../core/naming.js';
import { bootstrapSourceOf } from '../backup/bootstrap-source.js';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from '../backup/credentials.js';
import type { IrisCluster } from '../iris-cluster.js';
import { CONTAINER } from '../names.js';
import { DATA_DIR } from './pod-template.js';

export const RESTORE_CONTAINER = 'restore';

export function withBootstrap(template: V1PodTemplateSpec, cr: IrisCluster, shardIndex: number): V1PodTemplateSpec {
  const src = bootstrapSourceOf(cr);
  const node = template.spec?.containers.find((c) => c.name === CONTAINER);
  if (src === null || shardIndex >= src.shards || node === undefined) return template;
  const cluster = cr.metadata.name ?? '';
  const env: V1EnvVar[] = [
    { name: 'IRIS_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'IRIS_RESTORE_FROM', value: src.url },
    { name: 'IRIS_RESTORE_BACKUP_ID', value: src.backupId },
    { name: 'IRIS_RESTORE_POINT_IN_TIME', value: src.pointInTime ?? '' },
    { name: 'IRIS_RESTORE_SHARD', value: `${shardIndex}/${src.shards}` },
    { name: 'IRIS_RESTORE_NODE', value: nodeName(cluster, shardIndex, 0) },
    ...(src.endpoint !== undefined ? [{ name: 'AWS_ENDPOINT_URL_S3', value: src.endpoint }] : []),
    ...(src.region !== undefined ? [{ name: 'AWS_REGION', value: src.region }] : []),
    ...(src.secretName !== null ? [ACCESS_KEY_ID, SECRET_ACCESS_KEY].map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: src.secretName!, key } } })) : []),
  ];
  return {
    ...template,
    spec: {
      ...template.spec!,
      initContainers: [...(template.spec!.initContainers ?? []), {
        name: RESTORE_CONTAINER, image: node.image,
        ...(node.imagePullPolicy !== undefined ? { imagePullPolicy: node.imagePullPolicy } : {}),
        args: ['--data-dir', DATA_DIR], env,
        resources: node.resources ?? {}, securityContext: node.securityContext, volumeMounts: node.volumeMounts,
      }],
    },
  };
}
