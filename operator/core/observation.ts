/**
 * What the controller sees of each node on a heartbeat (its admin API's
 * replication status, or the lack of an answer) joined with what the
 * platform reports, and the status it publishes (control API, `irisctl
 * status`, the custom resource's status). Types only.
 */
import type { RecoverabilityStatus } from './recoverability.js';
import type { SlotRange } from '../../common/cluster-map.js';
import type { MigrationStage } from '../../common/migration.js';
import type { ReplicationStatus } from '../../common/replication.js';
import type { WritesRefusedReason } from '../../common/writability.js';
import type { NodeEndpoint } from '../platform/types.js';
import type { ClusterSpec } from './spec.js';
import type { FailoverProgress } from './state.js';

export interface NodeObservation {
  readonly name: string;
  readonly shard: string;
  readonly endpoint: NodeEndpoint | null;
  /** The platform has the process (pod) running. */
  readonly running: boolean;
  /** The last heartbeat's answer; null when the last heartbeat got none. */
  readonly status: ReplicationStatus | null;
  /** Heartbeats in a row without an answer. */
  readonly missed: number;
  /** Epoch of the cluster map the node is known to have installed (null: unknown, push it). */
  readonly mapEpoch: number | null;
  /** Why the last heartbeat failed. */
  readonly error: string | null;
  /** Times the platform restarted it. */
  readonly restarts: number;
}

export type ClusterPhase = 'Bootstrapping' | 'Ready' | 'Degraded' | 'Unavailable';

export interface NodeView {
  readonly name: string;
  readonly role: 'primary' | 'replica' | 'unknown';
  /** Answered the last heartbeat. */
  readonly up: boolean;
  readonly host: string | null;
  readonly port: number | null;
  /** RESP TLS port of a node serving plain (`port`) and TLS side by side; absent otherwise. */
  readonly tlsPort?: number;
  readonly httpUrl: string | null;
  readonly epoch: number | null;
  readonly lastSeq: number | null;
  /** Replicas: operations and milliseconds behind the primary, as the primary reports it. */
  readonly lagOps: number | null;
  readonly lagMs: number | null;
  /** Replicas: their link to the primary (streaming, full_sync...); primaries: null. */
  readonly link: string | null;
  readonly restarts: number;
  readonly error: string | null;
}

export interface ShardView {
  readonly id: string;
  readonly slots: readonly SlotRange[];
  readonly slotCount: number;
  readonly epoch: number;
  readonly primary: string;
  readonly targetPrimary: string;
  readonly failover: FailoverProgress | null;
  readonly leaving: boolean;
  readonly nodes: readonly NodeView[];
  /** Set while the shard's primary refuses writes: why and since when, as the primary reports it (issue #13). */
  readonly writesRefused?: WritesRefused | null;
}

/** A shard's primary refusing writes (common/writability.ts). */
export interface WritesRefused {
  readonly reason: WritesRefusedReason;
  /** ISO 8601, the primary's clock. */
  readonly since: string;
  readonly detail: string;
}

export interface OperationView {
  readonly id: string;
  readonly kind: 'rebalance';
  readonly reason: string;
  readonly stage: 'add' | 'migrate' | 'remove';
  readonly movesDone: number;
  readonly movesTotal: number;
  readonly slotsDone: number;
  readonly slotsTotal: number;
  readonly keysMoved: number;
  readonly bytesMoved: number;
  /** The migration running now, as its source primary reports it. */
  readonly current: {
    readonly id: string;
    readonly from: string;
    readonly to: string;
    readonly slotCount: number;
    readonly stage: MigrationStage | 'starting';
    readonly keysCopied: number;
    readonly bytesCopied: number;
  } | null;
  readonly error: string | null;
}

/** GET /status on the control API; `irisctl status --json`. */
export interface ClusterStatus {
  readonly cluster: string;
  readonly phase: ClusterPhase;
  readonly spec: ClusterSpec;
  readonly mapEpoch: number;
  /** Slots assigned to some shard in the published map (16384 when complete). */
  readonly slotsAssigned: number;
  readonly shards: readonly ShardView[];
  readonly operation: OperationView | null;
  /** Human-readable reasons for anything not Ready (refusals to promote included). */
  readonly messages: readonly string[];
  readonly updatedAt: number;
  /** The backup/archive recoverability window, when the cluster archives its log (docs/backup.md). */
  readonly recoverability?: RecoverabilityStatus | null;
}
