/**
 * Live slot migration (docs/architecture.md §4): the records each side keeps durably and
 * the shapes the admin API returns. Types only.
 *
 * The source primary drives a migration through stages, each persisted
 * before it acts, so a restart resumes where it stopped:
 *   prepare → copying → fence → flipped → cleanup → done   (or aborted)
 * The target keeps an import record per migration id:
 *   importing → flipped   (or aborted)
 */
import type { ClusterMap, SlotRange } from './cluster-map.js';

export type MigrationStage = 'prepare' | 'copying' | 'fence' | 'flipped' | 'cleanup' | 'done' | 'aborted';
export const MIGRATION_STAGES: readonly MigrationStage[] = ['prepare', 'copying', 'fence', 'flipped', 'cleanup', 'done', 'aborted'];

export type ImportState = 'importing' | 'flipped' | 'aborted';

/** What the source keeps (meta table) for one migration. */
export interface MigrationRecord {
  readonly id: string;
  readonly slots: readonly SlotRange[];
  /** This node (the source primary) and its shard. */
  readonly source: string;
  readonly sourceShard: string;
  /** The target shard's primary when the migration was (re)prepared, and the shard. */
  readonly target: string;
  readonly targetShard: string;
  readonly stage: MigrationStage;
  /** Raised by every prepare: frames of an older attempt are ignored by the target. */
  readonly attempt: number;
  /** The map epoch both sides agreed on at prepare (the flip checks it is unchanged). */
  readonly mapEpoch: number;
  /** The map the target installed at the flip (stage flipped and after). */
  readonly newMap: ClusterMap | null;
  /** Flips the target refused or that could not be confirmed, in a row. */
  readonly flipFailures: number;
  readonly keysCopied: number;
  readonly bytesCopied: number;
  readonly entriesForwarded: number;
  /** Keys deleted from this node after the flip. */
  readonly keysDeleted: number;
  readonly startedAt: number;
  readonly updatedAt: number;
  /** Why the migration stopped (or the last problem it recovered from). */
  readonly error: string | null;
}

/** What the target keeps for one incoming migration. */
export interface ImportRecord {
  readonly id: string;
  readonly slots: readonly SlotRange[];
  readonly source: string;
  readonly sourceShard: string;
  readonly targetShard: string;
  readonly attempt: number;
  readonly mapEpoch: number;
  readonly state: ImportState;
  readonly keysImported: number;
  readonly bytesImported: number;
  readonly entriesApplied: number;
  readonly startedAt: number;
  readonly updatedAt: number;
}

/** GET /admin/cluster/migrations/{id} (source side). */
export interface MigrationStatus {
  readonly id: string;
  readonly slots: readonly SlotRange[];
  readonly source: string;
  readonly target: string;
  readonly targetShard: string;
  readonly stage: MigrationStage;
  /** A task is working on it now; false: stopped (see error) or finished. */
  readonly running: boolean;
  readonly attempt: number;
  readonly keysCopied: number;
  readonly bytesCopied: number;
  readonly entriesForwarded: number;
  readonly keysDeleted: number;
  /** Writes to the migrating slots waiting to be forwarded (bytes), while copying. */
  readonly backlogBytes: number;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly error: string | null;
}

/** GET /admin/cluster/migrations */
export interface MigrationList {
  readonly migrations: readonly MigrationStatus[];
  /** Migrations into this node. */
  readonly imports: readonly ImportRecord[];
}

/** POST /admin/cluster/migrations */
export interface MigrationRequest {
  readonly id: string;
  readonly slots: readonly SlotRange[];
  readonly targetShard: string;
}

export const TERMINAL_STAGES: ReadonlySet<MigrationStage> = new Set(['done', 'aborted']);
