/**
 * spec.tls.certManager: the cert-manager.io/v1 Certificate the operator
 * creates and owns for a cluster. cert-manager writes the key pair (and the
 * issuer's CA as ca.crt) into the same <cluster>-tls Secret the pods mount
 * with an operator-issued certificate, for the same DNS names, with server
 * and client auth (the bus runs mutual TLS). Pure.
 */
import type { CertManagerSpec, IrisCluster } from '../iris-cluster.js';
import { clusterLabels } from '../names.js';
import type { ResourceType } from '../paths.js';
import { ownerReference } from './owner.js';
import { certificateHosts, issuedTlsSecretName } from './tls-secret.js';

export const CERTIFICATES: ResourceType = { group: 'cert-manager.io', version: 'v1', plural: 'certificates', kind: 'Certificate' };
/** Where the API server lists cert-manager's kinds (discovery: readable by every authenticated user). */
export const CERT_MANAGER_DISCOVERY = '/apis/cert-manager.io/v1';

export interface CertificateSpec {
  readonly secretName: string;
  readonly dnsNames: readonly string[];
  readonly usages: readonly string[];
  readonly issuerRef: { readonly name: string; readonly kind: string; readonly group: string };
  readonly duration?: string;
  readonly renewBefore?: string;
  readonly secretTemplate: { readonly labels: Readonly<Record<string, string>> };
}

export interface CertificateCondition { readonly type: string; readonly status: string; readonly reason?: string; readonly message?: string }

export interface Certificate {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly ownerReferences?: ReadonlyArray<{ readonly uid: string; readonly kind: string }>;
  };
  readonly spec: CertificateSpec;
  readonly status?: { readonly conditions?: readonly CertificateCondition[]; readonly notAfter?: string };
}

/** The Certificate's name: the Secret's, so `kubectl get certificate,secret` pairs them. */
export function certManagerCertificateName(cluster: string): string {
  return issuedTlsSecretName(cluster);
}

export function certificateSpec(cluster: string, namespace: string, cm: CertManagerSpec): CertificateSpec {
  return {
    secretName: issuedTlsSecretName(cluster),
    dnsNames: certificateHosts(cluster, namespace),
    // Nodes are servers to clients and both ends of a bus link (mutual TLS).
    usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
    issuerRef: { name: cm.issuerRef.name, kind: cm.issuerRef.kind ?? 'Issuer', group: cm.issuerRef.group ?? 'cert-manager.io' },
    ...(cm.duration !== undefined ? { duration: cm.duration } : {}),
    ...(cm.renewBefore !== undefined ? { renewBefore: cm.renewBefore } : {}),
    secretTemplate: { labels: clusterLabels(cluster) },
  };
}

export function desiredCertificate(cr: IrisCluster, cm: CertManagerSpec): Certificate {
  const cluster = cr.metadata.name ?? '';
  const namespace = cr.metadata.namespace ?? '';
  return {
    apiVersion: `${CERTIFICATES.group}/${CERTIFICATES.version}`,
    kind: CERTIFICATES.kind,
    metadata: { name: certManagerCertificateName(cluster), namespace, labels: clusterLabels(cluster), ownerReferences: [ownerReference(cr)] },
    spec: certificateSpec(cluster, namespace, cm),
  };
}

/** Whether `current` already asks cert-manager for what `desired` does (fields cert-manager or users add are left alone). */
export function certificateUpToDate(current: Certificate, desired: Certificate): boolean {
  const keys = Object.keys(desired.spec) as Array<keyof CertificateSpec>;
  const absent = (['duration', 'renewBefore'] as const).filter((k) => desired.spec[k] === undefined && current.spec?.[k] !== undefined);
  return absent.length === 0 && keys.every((k) => JSON.stringify(current.spec?.[k]) === JSON.stringify(desired.spec[k]));
}

/** The spec to write over `current`'s: ours, plus any other field it has (privateKey, subject...). */
export function updatedCertificate(current: Certificate, desired: Certificate): Certificate {
  const kept = { ...current.spec } as Record<string, unknown>;
  delete kept.duration;
  delete kept.renewBefore;
  return { ...desired, metadata: { ...desired.metadata, resourceVersion: current.metadata.resourceVersion }, spec: { ...kept, ...desired.spec } as CertificateSpec };
}

export function ownedByCluster(cert: Certificate, cr: IrisCluster): boolean {
  return (cert.metadata.ownerReferences ?? []).some((o) => o.kind === 'IrisCluster' && o.uid === (cr.metadata.uid ?? ''));
}

/** What the Certificate's Ready condition says, for a "waiting" message. */
export function certificateReadiness(cert: Certificate | null): string {
  const ready = cert?.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready === undefined) return 'cert-manager has not reported on it yet (is its controller running?)';
  return `Ready=${ready.status}${ready.reason !== undefined ? ` ${ready.reason}` : ''}${ready.message !== undefined ? `: ${ready.message}` : ''}`;
}
