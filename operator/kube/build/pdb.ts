/** A PodDisruptionBudget per shard: voluntary evictions take at most one member of a shard at a time. Pure. */
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { IrisCluster } from '../iris-cluster.js';
import { LABEL_SHARD, clusterLabels, pdbName, shardSelector } from '../names.js';
import { ownerReference } from './owner.js';

export function podDisruptionBudget(cr: IrisCluster, shardIndex: number): V1PodDisruptionBudget {
  const cluster = cr.metadata.name ?? '';
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: pdbName(cluster, shardIndex), namespace: cr.metadata.namespace,
      labels: { ...clusterLabels(cluster), [LABEL_SHARD]: String(shardIndex) }, ownerReferences: [ownerReference(cr)],
    },
    spec: { maxUnavailable: 1, selector: { matchLabels: shardSelector(cluster, shardIndex) } },
  };
}
