/**
 * Names and labels of the objects the operator makes for one IrisCluster.
 * Node names (= pod names) come from the core (core/naming.ts); everything
 * else is derived here. Pure.
 */

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_SHARD = 'irisdb.io/shard';
export const LABEL_ROLE = 'irisdb.io/role';
/** Set by the StatefulSet controller on every pod: the revision it was made from. */
export const LABEL_REVISION = 'controller-revision-hash';
/** On each StatefulSet: hash of the IrisCluster spec its template was built from. */
export const ANNOTATION_SPEC_HASH = 'irisdb.io/spec-hash';

export const APP_NAME = 'irisdb';
export const MANAGER = 'irisdb-operator';
export const CONTAINER = 'node';
export const DATA_VOLUME = 'data';
export const TOKEN_KEY = 'token';

export const PORTS = { resp: 6379, http: 8080, bus: 16379 } as const;

export function tokenSecretName(cluster: string): string {
  return `${cluster}-token`;
}

export function headlessServiceName(cluster: string): string {
  return `${cluster}-nodes`;
}

export function clientServiceName(cluster: string): string {
  return cluster;
}

export function statefulSetName(cluster: string, shardIndex: number): string {
  return `${cluster}-shard-${shardIndex}`;
}

export function pdbName(cluster: string, shardIndex: number): string {
  return `${cluster}-shard-${shardIndex}`;
}

/** Labels on every object of the cluster. */
export function clusterLabels(cluster: string): Record<string, string> {
  return { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: cluster, [LABEL_MANAGED_BY]: MANAGER };
}

/** Labels of one shard's pods (and its StatefulSet's selector). */
export function shardSelector(cluster: string, shardIndex: number): Record<string, string> {
  return { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: cluster, [LABEL_SHARD]: String(shardIndex) };
}

/** Labels selecting every node pod of the cluster. */
export function clusterSelector(cluster: string): Record<string, string> {
  return { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: cluster };
}

/** "a=b,c=d" */
export function selectorString(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The shard index of a StatefulSet name of `cluster`, or null. */
export function parseStatefulSetName(cluster: string, name: string): number | null {
  const prefix = `${cluster}-shard-`;
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : null;
}
