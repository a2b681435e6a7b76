/**
 * What slot migration needs from the node, as small surfaces the runtime
 * wires: the keyspace and its commits, the meta table, the database file
 * (for snapshot reads), the replication log (committed writes), the
 * cluster state (map, fences) and the replication role.
 */
import type { SqliteKeyspace } from '../engine/keyspace.js';
import type { MetaStore } from '../engine/open.js';
import type { CommitScheduler } from '../engine/types.js';
import type { Logger } from '../../common/logger.js';
import type { CommittedListener } from '../replication/log.js';
import type { MigrationMetrics } from './metrics.js';
import type { ClusterState } from '../cluster/types.js';
import type { BusTlsFiles } from '../tls/bus-transport.js';

export interface MigrationReplication {
  role(): 'primary' | 'replica';
  /** Replicas a write waits for on this primary (min(minSyncReplicas, declared replicas)). */
  effectiveMinSyncReplicas(): number;
  /** Resolves with how many replicas acknowledged everything written so far, once `n` have or at the timeout. */
  waitForReplicas(n: number, timeoutMs: number): Promise<number>;
}

export interface MigrationOptions {
  /** How long the source keeps writes fenced waiting for the target's flip before it asks the target what happened. */
  fenceTimeoutMs: number;
  /** TEST ONLY: hold the fence this long before flushing and sending the flip (crash-while-fenced tests). 0 in production. */
  testFenceHoldMs: number;
}

export interface MigrationDeps {
  /** This node's name (the map's node name). */
  readonly name: string;
  /** The cluster secret (the admin token): this node proves it knows it on peers' buses, never sends it. */
  readonly token: string;
  /** tlsCluster: connections to peers' buses use mutual TLS with these files. */
  readonly busTls?: BusTlsFiles | undefined;
  readonly keyspace: SqliteKeyspace;
  readonly commits: CommitScheduler;
  readonly meta: MetaStore;
  /** The SQLite database file (a second, read-only connection reads snapshots). */
  readonly dbFile: string;
  /** Commits the write journal's batch so that a snapshot of dbFile holds every committed turn (absent: nothing to do). */
  readonly commitNow?: () => void;
  subscribeCommitted(listener: CommittedListener): () => void;
  /** Runs keyspace writes marked in the log as this migration's, not a client's (ReplicationLog.asMigration). */
  asMigration<T>(fn: () => T): T;
  readonly cluster: ClusterState;
  readonly replication: MigrationReplication;
  readonly logger: Logger;
  readonly metrics: MigrationMetrics;
  readonly options: MigrationOptions;
  now(): number;
}

export const DEFAULT_FENCE_TIMEOUT_MS = 5000;
