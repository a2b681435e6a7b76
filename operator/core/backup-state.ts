/**
 * A cluster backup as the controller records it (ControllerState.backups):
 * the destination (never its credentials), the map it was taken under, and
 * each shard's progress. Committed before every node call, so a restarted
 * controller resumes it or fails it; it is Completed only once the
 * top-level manifest, written after every shard manifest was checked, is
 * stored. Types only.
 */
import type { ClusterMap } from '../../common/cluster-map.js';
import type { DestinationSpec } from '../../common/backup/destination-url.js';
import type { ChunkCompression } from '../../common/backup/manifest.js';

export type BackupPhase = 'Running' | 'Completed' | 'Failed';

export interface BackupShardRecord {
  readonly shard: string;
  readonly state: 'pending' | 'running' | 'done';
  /** The node taking the snapshot (a streaming replica when there is one). */
  readonly node: string | null;
  /** Snapshot jobs started for this shard (a failed or lost one is retried up to MAX_BACKUP_ATTEMPTS). */
  readonly attempts: number;
  readonly manifest: { readonly key: string; readonly sha256: string } | null;
  readonly seq: number | null;
  readonly keys: number;
  readonly keysTotal: number;
  readonly bytes: number;
  readonly lastError: string | null;
  /** When the current job was last seen making progress (or started). */
  readonly seenAt: number;
}

export interface BackupRecord {
  readonly id: string;
  readonly destination: DestinationSpec;
  readonly compression: ChunkCompression;
  /** Uncompressed bytes per chunk asked of the nodes (absent: their default, 4 MiB). */
  readonly chunkBytes?: number;
  /** Read pace limit per node (bytes of rows per second), absent: none. */
  readonly maxBytesPerSecond?: number;
  readonly phase: BackupPhase;
  readonly map: ClusterMap;
  readonly shards: readonly BackupShardRecord[];
  readonly message: string | null;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
  /** Started by the backup schedule (retention applies to these only). */
  readonly scheduled?: boolean;
}
