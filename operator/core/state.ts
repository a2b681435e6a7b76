/**
 * What the controller records durably (a file for the local cluster, the
 * custom resource's status on Kubernetes): the shards, their epochs and
 * members, the cluster map it published, and the progress of every long
 * operation. Progress is written before the controller acts on it, so a
 * controller that restarts resumes from here. Types only.
 */
import type { ClusterMap, SlotRange } from '../../common/cluster-map.js';
import type { ClusterSpec } from './spec.js';
import type { SyncRecord } from './sync-plan.js';
import type { BackupRecord } from './backup-state.js';
import type { BackupScheduleRecord } from './backup-schedule.js';

export const STATE_VERSION = 1;

export interface ControllerState {
  readonly version: typeof STATE_VERSION;
  /** Cluster name: the prefix of node names. */
  readonly cluster: string;
  readonly spec: ClusterSpec;
  readonly shards: readonly ShardState[];
  /** The map the controller last published (null before bootstrap). Slot ownership lives here. */
  readonly map: ClusterMap | null;
  /** The rebalance or rescale under way (at most one). */
  readonly operation: RebalanceOp | null;
  /** Counter for operation and migration ids. */
  readonly nextId: number;
  /** Cluster backups, newest last (absent in records written before backups existed). */
  readonly backups?: readonly BackupRecord[];
  /** Scheduled backups and their retention (absent or null: none). */
  readonly backupSchedule?: BackupScheduleRecord | null;
}

export interface ShardState {
  /** "shard-<index>" */
  readonly id: string;
  readonly index: number;
  /** The shard's replication epoch: the highest the controller has recorded for it. */
  readonly epoch: number;
  /** Node names, the primary included. */
  readonly members: readonly string[];
  /** The primary the nodes and the published map were told about. */
  readonly currentPrimary: string;
  /**
   * The primary chosen by a failover or switchover, recorded before any node
   * is told (CloudNativePG's targetPrimary): differs from currentPrimary
   * exactly while a change of primary is in flight.
   */
  readonly targetPrimary: string;
  readonly failover: FailoverProgress | null;
  /**
   * What a failover may rely on: every acknowledged write is on at least
   * sync.acks of sync.replicas; and the change of the primary's declared
   * replicas in flight (core/sync-plan.ts).
   */
  readonly sync: SyncRecord;
  /** Scale-in: the shard's slots are being moved away; its nodes go once it owns nothing. */
  readonly leaving: boolean;
}

/**
 * A change of primary. failover: the primary is gone; switchover: planned,
 * the primary still answers and hands over without losing a write.
 *
 * failover stages:   fence → promote → publish
 *   fence:   survivors re-pointed at the old primary at fenceEpoch (their streams stop), positions read,
 *            candidate chosen under the quorum rule, targetPrimary recorded
 *   promote: candidate made primary at promoteEpoch, the others its replicas
 *   publish: map with the new primary pushed, currentPrimary recorded
 * switchover stages: restrict → catchup → promote → publish
 *   restrict: the primary counts only the candidate's acknowledgements (same epoch)
 *   catchup:  wait until the candidate has everything the primary wrote before restrict
 *   then the old primary is demoted at promoteEpoch and the candidate promoted
 */
export interface FailoverProgress {
  readonly kind: 'failover' | 'switchover';
  readonly id: string;
  readonly oldPrimary: string;
  /** Why it started (a missed heartbeat count, the platform reporting the process gone, a user request). */
  readonly reason: string;
  readonly stage: FailoverStage;
  readonly fenceEpoch: number;
  readonly promoteEpoch: number;
  /** Chosen candidate (null until chosen). For a switchover, the requested or chosen replica. */
  readonly candidate: string | null;
  /** The replicas the new primary counts from the start (in sync before, and answered the fence). */
  readonly inSync: readonly string[];
  /** Switchover: the primary's last sequence when it started counting only the candidate. */
  readonly catchupSeq: number | null;
  /** Why it cannot go on right now (quorum not reached, candidate loading...); null while progressing. */
  readonly blocked: string | null;
  readonly startedAt: number;
  readonly updatedAt: number;
}

export type FailoverStage = 'fence' | 'restrict' | 'catchup' | 'promote' | 'publish';

/** One slot move between shards (a live migration). */
export interface SlotMove {
  readonly slots: readonly SlotRange[];
  readonly from: string;
  readonly to: string;
}

/**
 * A rescale or rebalance: add shards (their nodes start and join the map
 * with no slots), move slots one migration at a time, then drop the
 * leaving shards from the map and delete their nodes.
 */
export interface RebalanceOp {
  readonly kind: 'rebalance';
  readonly id: string;
  /** What the user asked, for status ("scale shards 3 → 4"). */
  readonly reason: string;
  readonly stage: 'add' | 'migrate' | 'remove';
  /** The shards that own slots when it is done. */
  readonly shardsAfter: readonly string[];
  readonly moves: readonly SlotMove[];
  /** Moves finished. */
  readonly done: number;
  /** The migration of moves[done], once started on the source primary. */
  readonly migration: MigrationRef | null;
  readonly keysMoved: number;
  readonly bytesMoved: number;
  readonly startedAt: number;
  readonly updatedAt: number;
  /** The last problem it recovered from or is waiting on. */
  readonly error: string | null;
}

export interface MigrationRef {
  readonly id: string;
  /** The source shard's primary that runs it (its record lives there). */
  readonly sourceNode: string;
  /** The source shard's epoch when it started: a failover since means the record is gone with the old primary. */
  readonly sourceEpoch: number;
}
