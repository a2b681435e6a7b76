/**
 * spec.auth on Kubernetes: the user's Secrets hold the `default` user's
 * password in clear and/or an aclfile; the pods never see them. The
 * operator writes the cluster's aclfile — SHA-256 digests only, in Redis's
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
export const DEFAULT_ACLFILE_KEY = 'users.acl';

export function aclSecretName(cluster: string): string {
  return `${cluster}-acl`;
}

/** The user's Secret and key holding the password, or null without spec.auth. */
export function authSecretRef(spec: IrisClusterSpec): { readonly name: string; readonly key: string } | null {
  const ref = spec.auth?.secretRef;
  if (ref === undefined) return null;
  return { name: ref.name, key: ref.key ?? DEFAULT_PASSWORD_KEY };
}

/** The user's Secret and key holding an aclfile, or null without spec.auth.aclSecretRef. */
export function aclSecretRefOf(spec: IrisClusterSpec): { readonly name: string; readonly key: string } | null {
  const ref = spec.auth?.aclSecretRef;
  if (ref === undefined) return null;
  return { name: ref.name, key: ref.key ?? DEFAULT_ACLFILE_KEY };
}

/** The pods get an aclfile: spec.auth has a password, an aclfile, or both. */
export function authEnabled(spec: IrisClusterSpec): boolean {
  return authSecretRef(spec) !== null || aclSecretRefOf(spec) !== null;
}

/**
 * The cluster's aclfile text before the node's parser checks it: the user's
 * aclfile, and with a password the default user's line from it in place
 * of any the file has.
 */
export function composeAclFile(userFile: string | null, password: string | null): string {
  const lines = (userFile ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const kept = password === null ? lines : lines.filter((l) => !/^user\s+default(\s|$)/.test(l));
  return [...kept.map((l) => `${l}\n`), ...(password === null ? [] : [aclFileFor(password)])].join('');
}

/** Redis's aclfile for one password: the default user, every permission, the password as its digest. */
export function aclFileFor(password: string): string {
  const digest = crypto.createHash('sha256').update(password, 'utf8').digest('hex');
  return `user default on #${digest} ~* &* +@all\n`;
}

/** The Secret the pods mount, holding `aclText` (already checked and with digests only: reconcile/auth-acl.ts). */
export function aclSecret(cr: IrisCluster, aclText: string): V1Secret {
  const cluster = cr.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: aclSecretName(cluster), namespace: cr.metadata.namespace, labels: clusterLabels(cluster), ownerReferences: [ownerReference(cr)] },
    data: { [ACL_KEY]: Buffer.from(aclText, 'utf8').toString('base64') },
  };
}

/** A key of a Secret read from the API as text; null when the key is absent. */
export function secretText(secret: V1Secret, key: string): string | null {
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
  return secret.stringData?.[key] ?? null;
}
