/**
 * The IrisCluster custom resource (irisdb.io/v1alpha1) as the operator reads
 * and writes it, and the pure translations between it and the core: the
 * core's ClusterSpec from the resource's spec (with the CRD's defaults, so a
 * resource stored before a default existed reads the same), and the
 * defaults of every pod-template setting.
 */
import type { TlsStatus } from './reconcile/tls-status.js';
import type { V1Affinity, V1ObjectMeta, V1ResourceRequirements, V1Toleration, V1TopologySpreadConstraint } from '@kubernetes/client-node';
import type { ClusterSpec, DataDurability } from '../core/spec.js';
import type { ControllerState } from '../core/state.js';
import type { RequestStatus } from './request.js';

export interface IrisClusterSpec {
  readonly shards?: number;
  readonly replicasPerShard?: number;
  readonly image?: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  readonly storage?: { readonly size?: string | number; readonly storageClassName?: string };
  readonly resources?: V1ResourceRequirements;
  readonly replication?: {
    readonly minSyncReplicas?: number;
    readonly fsync?: 'always' | 'batch';
    readonly ackTimeoutMs?: number;
    /** The core's dataDurability (required | preferred); default required. */
    readonly dataDurability?: DataDurability;
  };
  readonly failover?: { readonly heartbeatMs?: number; readonly failureThreshold?: number };
  readonly scheduling?: {
    readonly affinity?: V1Affinity;
    readonly tolerations?: readonly V1Toleration[];
    readonly nodeSelector?: Readonly<Record<string, string>>;
    readonly topologySpreadConstraints?: readonly V1TopologySpreadConstraint[];
  };
  readonly paused?: boolean;
  /** The default user's password, from the user's Secret (build/auth-secret.ts). */
  readonly auth?: {
    readonly secretRef?: { readonly name: string; readonly key?: string };
    /** An aclfile (Redis's format) with the cluster's ACL users. */
    readonly aclSecretRef?: { readonly name: string; readonly key?: string };
  };
  /** TLS on RESP and the bus: the user's kubernetes.io/tls Secret, or the operator's CA without one (build/tls-secret.ts). */
  readonly tls?: { readonly enabled?: boolean; readonly secretRef?: { readonly name: string }; readonly certManager?: CertManagerSpec };
  /** Encryption at rest: the keyring file in a Secret, mounted into the pods (build/encryption-pod-parts.ts). */
  readonly encryption?: { readonly keySecretRef: { readonly name: string; readonly key?: string } };
}

/** spec.tls.certManager: a cert-manager Certificate the operator owns, from this issuer (build/cert-manager-certificate.ts). */
export interface CertManagerSpec {
  readonly issuerRef: { readonly name: string; readonly kind?: 'Issuer' | 'ClusterIssuer'; readonly group?: string };
  /** Go durations as cert-manager takes them ("2160h"); cert-manager's defaults when absent. */
  readonly duration?: string;
  readonly renewBefore?: string;
}

/** metav1.Condition */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export interface ShardStatus {
  readonly id: string;
  /** "0-5460,10923-10930" */
  readonly slots: string;
  readonly slotCount: number;
  readonly primary: string;
  /** The primary answers heartbeats as primary (absent in statuses written before it existed). */
  readonly primaryUp?: boolean;
  readonly targetPrimary: string;
  readonly epoch: number;
  readonly replicas: readonly ReplicaStatus[];
  /** "failover failover-3 at stage promote", absent when none. */
  readonly failover?: string;
}

export interface ReplicaStatus {
  readonly name: string;
  readonly lagOps?: number;
  readonly lagMs?: number;
  /** streaming, full_sync, connecting... or "down". */
  readonly link: string;
}

export interface MigrationProgress {
  readonly operation: string;
  readonly stage: string;
  readonly movesDone: number;
  readonly movesTotal: number;
  readonly slotsDone: number;
  readonly slotsTotal: number;
  readonly keysMoved: number;
}

export type ResourcePhase = 'Bootstrapping' | 'Ready' | 'Degraded' | 'Unavailable' | 'Deleting';

/** The status the operator writes, apart from controllerState. */
export interface IrisClusterViewStatus {
  readonly phase: ResourcePhase;
  readonly conditions: readonly Condition[];
  readonly observedGeneration: number;
  readonly shards: readonly ShardStatus[];
  /** null removes it (merge patch). */
  readonly migration: MigrationProgress | null;
  readonly readyNodes: number;
  readonly nodes: number;
  /** "readyNodes/nodes", for the printer column. */
  readonly ready: string;
}

export interface IrisClusterStatus extends Partial<IrisClusterViewStatus> {
  /** The core's durable record (StateStore). */
  readonly controllerState?: ControllerState;
  /** The last request made through the irisdb.io/request annotation and what became of it (reconcile/requests.ts). */
  readonly request?: RequestStatus;
  /** spec.tls: expiries and the operator CA's rotation (reconcile/tls-status.ts). */
  readonly tls?: TlsStatus;
}

export interface IrisCluster {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: IrisClusterSpec;
  status?: IrisClusterStatus;
}

export const DEFAULTS = {
  shards: 3,
  replicasPerShard: 1,
  image: 'irisdb/node:0.1.0',
  storageSize: '1Gi',
  minSyncReplicas: 1,
  fsync: 'always',
  ackTimeoutMs: 2000,
  heartbeatMs: 500,
  failureThreshold: 3,
  dataDurability: 'required',
} as const;

/** The core's spec for this resource (validated by the core when it starts a cluster or scales). */
export function clusterSpecOf(spec: IrisClusterSpec | undefined): ClusterSpec {
  return {
    shards: spec?.shards ?? DEFAULTS.shards,
    replicasPerShard: spec?.replicasPerShard ?? DEFAULTS.replicasPerShard,
    minSyncReplicas: spec?.replication?.minSyncReplicas ?? DEFAULTS.minSyncReplicas,
    heartbeatMs: spec?.failover?.heartbeatMs ?? DEFAULTS.heartbeatMs,
    failureThreshold: spec?.failover?.failureThreshold ?? DEFAULTS.failureThreshold,
    dataDurability: spec?.replication?.dataDurability ?? DEFAULTS.dataDurability,
  };
}

/** The settings a running cluster takes from the spec without a restart. */
export type LiveSettings = Pick<ClusterSpec, 'minSyncReplicas' | 'dataDurability' | 'heartbeatMs' | 'failureThreshold'>;

/** The spec's live settings when any differs from what the controller runs with (`have`); null when all match. */
export function settingsChange(want: ClusterSpec, have: ClusterSpec): LiveSettings | null {
  const settings: LiveSettings = {
    minSyncReplicas: want.minSyncReplicas, dataDurability: want.dataDurability, heartbeatMs: want.heartbeatMs, failureThreshold: want.failureThreshold,
  };
  return (Object.keys(settings) as Array<keyof LiveSettings>).some((k) => have[k] !== settings[k]) ? settings : null;
}

/** "namespace/name" */
export function clusterKey(c: Pick<IrisCluster, 'metadata'>): string {
  return `${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`;
}
