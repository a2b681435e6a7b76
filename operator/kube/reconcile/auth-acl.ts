/**
 * spec.auth: reads the password and/or aclfile from the user's Secrets and
 * writes the cluster's aclfile Secret from them (build/auth-secret.ts)
 * when it differs, so a rotated password or an edited aclfile reaches the
 * nodes' volumes without a restart. The text is checked with the node's
 * own aclfile parser first (a node refuses to start on a file that does not
 * parse) and written back in its canonical form, where every password is a
 * SHA-256 digest. A missing Secret or key, an empty password or a file that
 * does not parse is an error: running pods keep the last good aclfile and
 * new pods wait, rather than run without authentication.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { formatAclFile, parseAclFile } from '../../../node/acl/aclfile.js';
import { catalogFromTable, type CommandCatalog } from '../../../node/acl/catalog.js';
import { createCommandTable } from '../../../node/commands/table.js';
import { aclSecret, aclSecretRefOf, authSecretRef, composeAclFile, secretText } from '../build/auth-secret.js';
import type { KubeClient } from '../client.js';
import { OperatorError, errorText } from '../errors.js';
import type { IrisCluster } from '../iris-cluster.js';
import { SECRETS, resourcePath } from '../paths.js';
import { applyOwned } from './apply.js';

/** The node's command catalog (ACL categories of every command), built on first use. */
export class AclChecker {
  private catalog: CommandCatalog | null = null;

  /** The canonical aclfile (digests only), or an Error saying why `text` does not parse. */
  canonical(text: string): string {
    this.catalog ??= catalogFromTable(createCommandTable());
    return formatAclFile(parseAclFile(text, this.catalog).values());
  }
}

export async function secretKey(client: KubeClient, ns: string, ref: { name: string; key: string }, field: string): Promise<string> {
  const secret = await client.find<V1Secret>(resourcePath(SECRETS, ns, ref.name));
  const what = `Secret ${ns}/${ref.name}`;
  if (secret === null) throw new OperatorError(`not found: ${field} names it; the pods wait until it exists`, what);
  const value = secretText(secret, ref.key);
  if (value === null) throw new OperatorError(`has no key "${ref.key}" (${field}.key)`, what);
  return value;
}

/** 'created' | 'updated' (the users changed) | 'unchanged', or null without spec.auth. */
export async function ensureAclSecret(client: KubeClient, cr: IrisCluster, checker: AclChecker): Promise<'created' | 'updated' | 'unchanged' | null> {
  const spec = cr.spec ?? {};
  const passwordRef = authSecretRef(spec);
  const fileRef = aclSecretRefOf(spec);
  if (passwordRef === null && fileRef === null) return null;
  const ns = cr.metadata.namespace ?? '';
  const password = passwordRef === null ? null : await secretKey(client, ns, passwordRef, 'spec.auth.secretRef');
  if (password === '') throw new OperatorError(`key "${passwordRef!.key}" is empty: an empty password would turn authentication off`, `Secret ${ns}/${passwordRef!.name}`);
  const userFile = fileRef === null ? null : await secretKey(client, ns, fileRef, 'spec.auth.aclSecretRef');
  let text: string;
  try {
    text = checker.canonical(composeAclFile(userFile, password));
  } catch (err) {
    throw new OperatorError(`key "${fileRef?.key}" is not a valid aclfile (${errorText(err)}); the nodes keep the last valid one`, `Secret ${ns}/${fileRef?.name}`);
  }
  return applyOwned(client, resourcePath(SECRETS, ns), aclSecret(cr, text));
}
