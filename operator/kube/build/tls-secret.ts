/**
 * spec.tls on Kubernetes: which kubernetes.io/tls Secret (tls.crt, tls.key,
 * ca.crt) the pods mount — the user's (spec.tls.secretRef) or, without one,
 * the server certificate the operator issues from a CA of its own (or
 * cert-manager issues, with spec.tls.certManager), each kept in a Secret
 * owned by the cluster (or by its Certificate) — and the names that
 * certificate is valid for. Pure.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { IrisCluster, IrisClusterSpec } from '../iris-cluster.js';
import { clientServiceName, clusterLabels, headlessServiceName } from '../names.js';
import { ownerReference } from './owner.js';

export const TLS_CERT_KEY = 'tls.crt';
export const TLS_KEY_KEY = 'tls.key';
export const CA_CERT_KEY = 'ca.crt';
export const CA_KEY_KEY = 'ca.key';
/** The CA a rotation moves to, kept in <cluster>-ca beside the current one until every pod serves its certificate. */
export const NEXT_CA_CERT_KEY = 'next-ca.crt';
export const NEXT_CA_KEY_KEY = 'next-ca.key';
/** On <cluster>-ca: why the last CA rotation started (a request's annotation text, or the CA's expiry). */
export const CA_ROTATION_REASON_ANNOTATION = 'irisdb.io/ca-rotation-reason';
/** On <cluster>-tls: when the operator last wrote its ca.crt (RFC 3339). */
export const CA_BUNDLE_WRITTEN_ANNOTATION = 'irisdb.io/ca-bundle-written-at';
export const TLS_VOLUME = 'tls';
export const TLS_MOUNT = '/etc/irisdb/tls';

/** The operator-issued server certificate of a cluster without spec.tls.secretRef. */
export function issuedTlsSecretName(cluster: string): string {
  return `${cluster}-tls`;
}

/** The operator's CA of one cluster (its key never leaves this Secret and the operator). */
export function caSecretName(cluster: string): string {
  return `${cluster}-ca`;
}

export function tlsEnabled(spec: IrisClusterSpec): boolean {
  return spec.tls?.enabled === true;
}

/** The Secret the pods mount, or null when TLS is off. */
export function podTlsSecretName(cluster: string, spec: IrisClusterSpec): string | null {
  if (!tlsEnabled(spec)) return null;
  return spec.tls?.secretRef?.name ?? issuedTlsSecretName(cluster);
}

/** Whether the operator issues the certificate (TLS on, neither secretRef nor certManager). */
export function operatorIssuesCertificate(spec: IrisClusterSpec): boolean {
  return tlsEnabled(spec) && spec.tls?.secretRef === undefined && spec.tls?.certManager === undefined;
}

/** Whether cert-manager issues the certificate, into the same <cluster>-tls Secret (build/cert-manager-certificate.ts). */
export function certManagerIssuesCertificate(spec: IrisClusterSpec): boolean {
  return tlsEnabled(spec) && spec.tls?.secretRef === undefined && spec.tls?.certManager !== undefined;
}

/**
 * The DNS names clients and peers reach the nodes by: each pod through the
 * headless Service (<pod>.<cluster>-nodes[.<ns>[.svc[.cluster.local]]], one
 * wildcard label = the pod name) and the client Service. No IP addresses:
 * pod IPs change; clients that connect by IP give the Service name as SNI.
 */
export function certificateHosts(cluster: string, namespace: string): string[] {
  const out: string[] = [];
  for (const svc of [clientServiceName(cluster), headlessServiceName(cluster)]) {
    const names = [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.cluster.local`];
    out.push(...names);
    if (svc === headlessServiceName(cluster)) out.push(...names.map((n) => `*.${n}`));
  }
  return out;
}

function owned(cr: IrisCluster, name: string, type: string, data: Record<string, string>, annotations?: Record<string, string>): V1Secret {
  const cluster = cr.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type,
    metadata: { name, namespace: cr.metadata.namespace, labels: clusterLabels(cluster), ownerReferences: [ownerReference(cr)], ...(annotations === undefined ? {} : { annotations }) },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
  };
}

/** The cluster's CA and, during a rotation, the CA it moves to (with why the rotation started). */
export function caSecret(cr: IrisCluster, pem: { cert: string; key: string }, next?: { cert: string; key: string } | null, rotationReason?: string): V1Secret {
  const data = { [CA_CERT_KEY]: pem.cert, [CA_KEY_KEY]: pem.key, ...(next ? { [NEXT_CA_CERT_KEY]: next.cert, [NEXT_CA_KEY_KEY]: next.key } : {}) };
  return owned(cr, caSecretName(cr.metadata.name ?? ''), 'Opaque', data, rotationReason === undefined ? undefined : { [CA_ROTATION_REASON_ANNOTATION]: rotationReason });
}

/** The pods' Secret; `ca` is the trust bundle (one CA, or old + new during a rotation), `bundleWrittenAt` when it was last changed. */
export function issuedTlsSecret(cr: IrisCluster, pem: { cert: string; key: string; ca: string }, bundleWrittenAt?: string): V1Secret {
  return owned(cr, issuedTlsSecretName(cr.metadata.name ?? ''), 'kubernetes.io/tls', { [TLS_CERT_KEY]: pem.cert, [TLS_KEY_KEY]: pem.key, [CA_CERT_KEY]: pem.ca },
    bundleWrittenAt === undefined ? undefined : { [CA_BUNDLE_WRITTEN_ANNOTATION]: bundleWrittenAt });
}
