/**
 * spec.auth on Kubernetes: the user's Secret holds the `default` user's
 * password in clear; the pods never see it. The operator writes the
 * cluster's aclfile — the password's SHA-256 digest only, in Redis's
 * aclfile format — into a Secret it owns, mounted into every pod as a
 * volume and given to the node as --aclfile. A rotated password reaches
 * the nodes without a restart: the operator rewrites the aclfile Secret,
 * the kubelet swaps the volume's files, the node reloads a changed aclfile
 * (node/acl/file-io.ts). Pure.
 */
import crypto from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { IrisCluster, IrisClusterSpec } from '../iris-cluster.js';
import { clusterLabels } from '../names.js';
import { ownerReference } from './owner.js';

export const ACL_KEY = 'users.acl';
export const AUTH_VOLUME = 'acl';
export const AUTH_MOUNT = '/etc/irisdb/acl';
export const ACL_FILE = `${AUTH_MOUNT}/${ACL_KEY}`;
export const DEFAULT_PASSWORD_KEY = 'password';

export function aclSecretName(cluster: string): string {
  return `${cluster}-acl`;
}

/** The user's Secret and key holding the password, or null without spec.auth. */
export function authSecretRef(spec: IrisClusterSpec): { readonly name: string; readonly key: string } | null {
  const ref = spec.auth?.secretRef;
  if (ref === undefined) return null;
  return { name: ref.name, key: ref.key ?? DEFAULT_PASSWORD_KEY };
}

/** Redis's aclfile for one password: the default user, every permission, the password as its digest. */
export function aclFileFor(password: string): string {
  const digest = crypto.createHash('sha256').update(password, 'utf8').digest('hex');
  return `user default on #${digest} ~* &* +@all\n`;
}

export function aclSecret(cr: IrisCluster, password: string): V1Secret {
  const cluster = cr.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: aclSecretName(cluster), namespace: cr.metadata.namespace, labels: clusterLabels(cluster), ownerReferences: [ownerReference(cr)] },
    data: { [ACL_KEY]: Buffer.from(aclFileFor(password), 'utf8').toString('base64') },
  };
}

/** A key of a Secret read from the API as text; null when the key is absent. */
export function secretText(secret: V1Secret, key: string): string | null {
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
  return secret.stringData?.[key] ?? null;
}
