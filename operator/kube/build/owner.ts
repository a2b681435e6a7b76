/** The owner reference every object of a cluster carries, so deleting the IrisCluster deletes them (garbage collector). Pure. */
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { IrisCluster } from '../iris-cluster.js';
import { IRISCLUSTERS, apiVersionOf } from '../paths.js';

export function ownerReference(cr: Pick<IrisCluster, 'metadata'>): V1OwnerReference {
  return {
    apiVersion: apiVersionOf(IRISCLUSTERS), kind: IRISCLUSTERS.kind,
    name: cr.metadata.name ?? '', uid: cr.metadata.uid ?? '',
    controller: true, blockOwnerDeletion: true,
  };
}
