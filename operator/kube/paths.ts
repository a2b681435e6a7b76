/**
 * REST paths of the resources the operator touches. Pure.
 */

/** Where a resource is served: all a REST path needs. */
export interface ResourceRef {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

export interface ResourceType extends ResourceRef {
  readonly kind: string;
}

export const PODS: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod' };
export const SERVICES: ResourceType = { group: '', version: 'v1', plural: 'services', kind: 'Service' };
export const SECRETS: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
export const EVENTS: ResourceType = { group: '', version: 'v1', plural: 'events', kind: 'Event' };
export const PVCS: ResourceType = { group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim' };
export const STATEFULSETS: ResourceType = { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet' };
export const PDBS: ResourceType = { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' };
export const LEASES: ResourceType = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' };
export const IRISCLUSTERS: ResourceType = { group: 'irisdb.io', version: 'v1alpha1', plural: 'irisclusters', kind: 'IrisCluster' };

export function apiVersionOf(t: ResourceType): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

/**
 * The path of a collection (no name) or an object, in a namespace or across
 * all of them (namespace undefined), optionally a subresource ("status").
 */
export function resourcePath(t: ResourceRef, namespace?: string, name?: string, sub?: string): string {
  const root = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  const tail = name === undefined ? '' : `/${encodeURIComponent(name)}${sub === undefined ? '' : `/${sub}`}`;
  return `${root}${ns}/${t.plural}${tail}`;
}
