/**
 * The recoverability window as status reports it (docs/backup.md): from the
 * oldest complete backup's finish time (firstRecoverabilityPoint) to the
 * last archived write, per shard and for the whole cluster (the earliest of
 * the shards' last archived times: the latest point every shard reaches),
 * with how far each shard's archive is behind its primary. Pure: the window
 * read from the destination (node/backup/archive-window.ts) and the
 * primaries' log heads in, the status out; the local controller and the
 * Kubernetes operator both report it through this function.
 */
import type { ArchiveWindow } from '../../common/backup/window.js';

export interface ShardRecoverability {
  readonly shard: string;
  readonly segments: number;
  readonly lastArchivedSeq: number;
  readonly lastArchivedTime: string;
  /** The primary's last sequence minus the last archived one (null: the primary's position is not known). */
  readonly lagSequences: number | null;
  /**
   * Seconds since the last archived write when the primary holds writes the
   * archive lacks, else 0: at most this much acknowledged time would be
   * missing from a restore if the whole shard were lost now (null: unknown).
   */
  readonly lagSeconds: number | null;
}

export interface RecoverabilityStatus {
  readonly destination: string;
  readonly oldestBackup: string | null;
  readonly firstRecoverabilityPoint: string | null;
  /** The earliest of the shards' last archived times (null: a shard has nothing archived). */
  readonly lastArchivedTime: string | null;
  readonly shards: readonly ShardRecoverability[];
  /** When the destination was read. */
  readonly readAt: string;
  /** The last read's failure (the figures are then from the read before, if any). */
  readonly error: string | null;
}

/**
 * `heads`: each shard's primary's last sequence (absent or null: unknown);
 * `expectedShards`: the cluster's shards, so one that archived nothing makes
 * the cluster's lastArchivedTime null rather than being ignored.
 */
export function recoverabilityStatus(
  window: ArchiveWindow, heads: ReadonlyMap<string, number | null>, expectedShards: readonly string[], now: number, readAt: number, error: string | null = null,
): RecoverabilityStatus {
  const shards = window.shards.map((s): ShardRecoverability => {
    const head = heads.get(s.shard) ?? null;
    const lagSequences = head === null ? null : Math.max(0, head - s.lastArchivedSeq);
    const lagSeconds = lagSequences === null ? null : lagSequences === 0 ? 0 : Math.max(0, (now - Date.parse(s.lastArchivedTime)) / 1000);
    return { ...s, lagSequences, lagSeconds };
  });
  const archived = new Set(shards.map((s) => s.shard));
  const complete = shards.length > 0 && expectedShards.every((id) => archived.has(id));
  const times = shards.map((s) => s.lastArchivedTime).sort();
  return {
    destination: window.destination, oldestBackup: window.oldestBackup, firstRecoverabilityPoint: window.firstRecoverabilityPoint,
    lastArchivedTime: complete ? times[0]! : null, shards, readAt: new Date(readAt).toISOString(), error,
  };
}
