/** The Secret holding the cluster-internal admin token (nodes' /admin API); created once, never rotated by the operator. Pure. */
import type { V1Secret } from '@kubernetes/client-node';
import type { IrisCluster } from '../iris-cluster.js';
import { TOKEN_KEY, clusterLabels, tokenSecretName } from '../names.js';
import { ownerReference } from './owner.js';

export function tokenSecret(cr: IrisCluster, token: string): V1Secret {
  const cluster = cr.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: tokenSecretName(cluster), namespace: cr.metadata.namespace, labels: clusterLabels(cluster), ownerReferences: [ownerReference(cr)] },
    data: { [TOKEN_KEY]: Buffer.from(token, 'utf8').toString('base64') },
  };
}

/** The token in a Secret read from the API, or null if it has none. */
export function tokenOf(secret: V1Secret): string | null {
  const b64 = secret.data?.[TOKEN_KEY];
  if (b64 === undefined || b64 === '') return null;
  const token = Buffer.from(b64, 'base64').toString('utf8');
  return token === '' ? null : token;
}
