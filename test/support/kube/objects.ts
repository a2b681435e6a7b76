/**
 * The shapes the harness and the e2e specs read from the API server, loosely
 * typed (tests look at a few fields of many kinds), and the REST references
 * of the resources the test kubelet serves that the operator never touches.
 * Requests go through the operator's own client (operator/kube/client.ts).
 */
import type { ResourceRef } from '../../../operator/kube/paths.js';

/** The subset of a Kubernetes object every helper relies on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    ownerReferences?: unknown[];
    finalizers?: string[];
    creationTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface KubeList<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

/** A resource of the core group (v1), e.g. coreResource('configmaps'). */
export function coreResource(plural: string): ResourceRef {
  return { group: '', version: 'v1', plural };
}

export const NODES = coreResource('nodes');
export const PERSISTENT_VOLUMES = coreResource('persistentvolumes');
export const SERVICE_ACCOUNTS = coreResource('serviceaccounts');
export const STORAGE_CLASSES: ResourceRef = { group: 'storage.k8s.io', version: 'v1', plural: 'storageclasses' };
