/**
 * One StatefulSet per shard (docs/architecture.md §5): Parallel pod management, OnDelete
 * updates (the operator restarts pods itself, replicas first, the primary
 * after a switchover), claims deleted with the pods they belong to when the
 * set shrinks or goes. Pure.
 */
import { withBackupVolumes } from './backup-pod-parts.js';
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { IrisCluster } from '../iris-cluster.js';
import { DEFAULTS } from '../iris-cluster.js';
import { ANNOTATION_SPEC_HASH, DATA_VOLUME, LABEL_SHARD, clusterLabels, headlessServiceName, shardSelector, statefulSetName } from '../names.js';
import { ownerReference } from './owner.js';
import { podTemplate } from './pod-template.js';
import { withBootstrap } from './bootstrap-pod-parts.js';
import { withEncryption } from './encryption-pod-parts.js';
import { podSpecHash } from './spec-hash.js';

export function statefulSet(cr: IrisCluster, shardIndex: number, replicas: number): V1StatefulSet {
  const cluster = cr.metadata.name ?? '';
  const spec = cr.spec ?? {};
  const storage = spec.storage ?? {};
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: statefulSetName(cluster, shardIndex),
      namespace: cr.metadata.namespace,
      labels: { ...clusterLabels(cluster), [LABEL_SHARD]: String(shardIndex) },
      annotations: { [ANNOTATION_SPEC_HASH]: podSpecHash(spec) },
      ownerReferences: [ownerReference(cr)],
    },
    spec: {
      replicas,
      serviceName: headlessServiceName(cluster),
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'OnDelete' },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' },
      selector: { matchLabels: shardSelector(cluster, shardIndex) },
      template: withBackupVolumes(withEncryption(withBootstrap(podTemplate(cluster, shardIndex, spec), cr, shardIndex), spec), cr),
      volumeClaimTemplates: [{
        metadata: { name: DATA_VOLUME, labels: shardSelector(cluster, shardIndex) },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: String(storage.size ?? DEFAULTS.storageSize) } },
          ...(storage.storageClassName !== undefined ? { storageClassName: storage.storageClassName } : {}),
        },
      }],
    },
  };
}

/**
 * `current` with the template (and spec-hash annotation) of `desired`:
 * replicas stay as the platform set them and the claim templates as they
 * were created (the API server refuses changes to them).
 */
export function withTemplateOf(current: V1StatefulSet, desired: V1StatefulSet): V1StatefulSet {
  return {
    ...current,
    metadata: {
      ...current.metadata,
      annotations: { ...(current.metadata?.annotations ?? {}), ...(desired.metadata?.annotations ?? {}) },
    },
    spec: { ...current.spec!, template: desired.spec!.template },
  };
}

/** The template must be rewritten: the spec it was built from changed. */
export function templateOutdated(current: V1StatefulSet, cr: IrisCluster): boolean {
  return current.metadata?.annotations?.[ANNOTATION_SPEC_HASH] !== podSpecHash(cr.spec ?? {});
}
