/**
 * spec.auth: reads the password from the user's Secret and writes the
 * cluster's aclfile Secret from it (build/auth-secret.ts) when it differs,
 * so a rotated password reaches the nodes' volumes without a restart. A
 * missing Secret or key, or an empty password, is an error: the pods keep
 * waiting for the aclfile Secret rather than run without authentication.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { aclSecret, authSecretRef, secretText } from '../build/auth-secret.js';
import type { KubeClient } from '../client.js';
import { OperatorError } from '../errors.js';
import type { IrisCluster } from '../iris-cluster.js';
import { SECRETS, resourcePath } from '../paths.js';
import { applyOwned } from './apply.js';

/** 'created' | 'updated' (the password changed) | 'unchanged', or null without spec.auth. */
export async function ensureAclSecret(client: KubeClient, cr: IrisCluster): Promise<'created' | 'updated' | 'unchanged' | null> {
  const ref = authSecretRef(cr.spec ?? {});
  if (ref === null) return null;
  const ns = cr.metadata.namespace ?? '';
  const secret = await client.find<V1Secret>(resourcePath(SECRETS, ns, ref.name));
  const what = `Secret ${ns}/${ref.name}`;
  if (secret === null) throw new OperatorError('not found: spec.auth.secretRef names it; the pods wait until it exists', what);
  const password = secretText(secret, ref.key);
  if (password === null) throw new OperatorError(`has no key "${ref.key}" (spec.auth.secretRef.key)`, what);
  if (password === '') throw new OperatorError(`key "${ref.key}" is empty: an empty password would turn authentication off`, what);
  return applyOwned(client, resourcePath(SECRETS, ns), aclSecret(cr, password));
}
