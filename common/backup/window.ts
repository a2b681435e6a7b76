/** The recoverability window a backup destination holds (node/backup/archive-window.ts reads it; docs/backup.md). */

export interface ArchiveWindow {
  readonly destination: string;
  /** Oldest complete backup and when it finished: the first time a point-in-time restore can reach. */
  readonly oldestBackup: string | null;
  readonly firstRecoverabilityPoint: string | null;
  readonly shards: ReadonlyArray<{ readonly shard: string; readonly segments: number; readonly lastArchivedSeq: number; readonly lastArchivedTime: string }>;
}
