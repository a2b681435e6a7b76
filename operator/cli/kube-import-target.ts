/**
 * How `irisctl --kube CLUSTER import|export` reaches an IrisCluster's nodes
 * (issue #19): the addresses from the operator's record (its cluster map),
 * with spec.tls the CA to verify them against — --cacert FILE, else ca.crt
 * of the TLS Secret the pods mount (the user's spec.tls.secretRef, or the
 * operator's <cluster>-tls, then its <cluster>-ca) — and, when neither
 * --target-password-file nor IRISDB_PASSWORD gives a password, the
 * default user's password from spec.auth.secretRef. Reading a Secret needs
 * `get secrets` in the namespace; without it, --cacert and IRISDB_PASSWORD
 * do the same. The decisions are pure; Secrets are read through `secrets`.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { authSecretRef, secretText } from '../kube/build/auth-secret.js';
import { CA_CERT_KEY, caSecretName, operatorIssuesCertificate, podTlsSecretName } from '../kube/build/tls-secret.js';
import type { IrisCluster } from '../kube/iris-cluster.js';
import { nodeServerName } from '../kube/reconcile/node-https.js';
import { targetNodesOfMap, type TargetNodes } from '../import/target.js';
import type { TargetCredentials } from '../import/target-credentials.js';
import { CliError } from './errors.js';
import { recordOf } from './kube-view.js';

/** Reads a Secret of the IrisCluster's namespace: null when it does not exist; CliError when not allowed. */
export type SecretReader = (name: string) => Promise<V1Secret | null>;

/** Where the CA comes from. Pure. */
export type CaSource =
  | { readonly kind: 'none' }
  | { readonly kind: 'file'; readonly file: string }
  /** The first of these Secrets with a ca.crt. */
  | { readonly kind: 'secrets'; readonly names: readonly string[] };

export function caSourceOf(cr: IrisCluster, cacert: string | null): CaSource {
  const cluster = cr.metadata.name ?? '';
  const spec = cr.spec ?? {};
  const mounted = podTlsSecretName(cluster, spec);
  if (mounted === null) {
    if (cacert !== null) throw new CliError(`--cacert: IrisCluster ${cr.metadata.namespace ?? ''}/${cluster} has no spec.tls (its nodes speak plain RESP and HTTP)`, 2);
    return { kind: 'none' };
  }
  if (cacert !== null) return { kind: 'file', file: cacert };
  return { kind: 'secrets', names: operatorIssuesCertificate(spec) ? [mounted, caSecretName(cluster)] : [mounted] };
}

/** The CA's PEM, or null when TLS is off. */
export async function resolveKubeCa(cr: IrisCluster, cacert: string | null, secrets: SecretReader, readFile: (file: string) => string): Promise<string | null> {
  const src = caSourceOf(cr, cacert);
  if (src.kind === 'none') return null;
  if (src.kind === 'file') {
    try {
      return readFile(src.file);
    } catch (err) {
      throw new CliError(`--cacert: cannot read ${src.file}: ${(err as Error).message}`, 2);
    }
  }
  for (const name of src.names) {
    const s = await secrets(name);
    const pem = s === null ? null : secretText(s, CA_CERT_KEY);
    if (pem !== null && pem.trim() !== '') return pem;
  }
  throw new CliError(`no ${CA_CERT_KEY} in Secret ${src.names.join(' or ')} of namespace ${cr.metadata.namespace ?? ''}: give the CA of the nodes' certificates with --cacert FILE`);
}

/** The default user's password from spec.auth.secretRef, or null without one. */
export async function kubeDefaultCredentials(cr: IrisCluster, secrets: SecretReader): Promise<TargetCredentials | null> {
  const ref = authSecretRef(cr.spec ?? {});
  if (ref === null) return null;
  const s = await secrets(ref.name);
  const password = s === null ? null : secretText(s, ref.key);
  if (password === null || password === '') {
    throw new CliError(`spec.auth.secretRef: Secret ${ref.name} has no key "${ref.key}": give the password with --target-password-file FILE or IRISDB_PASSWORD`);
  }
  return { user: 'default', password };
}

/** The nodes an import writes to (an export reads from), from the IrisCluster's record; caPem with spec.tls. Pure. */
export function kubeTargetNodes(cr: IrisCluster, label: string, caPem: string | null): TargetNodes {
  const map = recordOf(cr)?.map ?? null;
  if (map === null) throw new CliError(`${label} has no cluster map in its status yet: wait until it is Ready (irisctl --kube ${cr.metadata.name ?? ''} status)`);
  // Nodes are reached by pod IP, which certificates do not name: verified for the client Service's name, as the operator does.
  const tls = caPem === null ? null : { caPem, serverName: nodeServerName(cr.metadata.name ?? '', cr.metadata.namespace ?? '') };
  return targetNodesOfMap(map, tls);
}
