/**
 * A whole restore into new data directories, shared by `irisctl local up
 * --restore-from` (operator/local/restore.ts) and the Kubernetes init
 * container (node/bootstrap/restore-at-start.ts): pick the backup (the one
 * named, else the newest finished by the point in time, else the newest),
 * check it finished by the point in time, plan the archive replay (a hole
 * fails here, before anything is loaded), load the backup, then replay the
 * archived log up to the point in time. Cleaning up after a failure is the
 * caller's (what may be removed differs).
 */
import type { BackupDestination } from '../../common/backup/destination.js';
import type { Keyring } from '../crypto/keyring.js';
import { planArchiveReplay, replayArchive, type ReplayProgress, type ReplayResult } from './archive-replay.js';
import {
  latestBackupId, readClusterManifest, readShardManifests, restoreBackup, RestoreError,
  type RestoreProgress, type RestoreResult, type RestoreTarget,
} from './restore.js';

export interface RestoreRunOptions {
  readonly dest: BackupDestination;
  readonly targets: readonly RestoreTarget[];
  /** null: chosen by the point in time, or the newest. */
  readonly backupId: string | null;
  /** ms since the epoch; null: the end of the archive. */
  readonly pointInTime: number | null;
  readonly now: () => number;
  /** Encryption at rest: decrypts chunks and archived batches (null: none). */
  readonly keyring: Keyring | null;
  /** Once the backup is chosen and the replay planned, before anything is loaded. */
  readonly onPlanned?: (p: { backupId: string; segments: number }) => void;
  readonly onLoadProgress?: (p: RestoreProgress) => void;
  readonly onReplayProgress?: (p: ReplayProgress) => void;
}

export interface RestoreRunResult {
  readonly backupId: string;
  readonly loaded: RestoreResult;
  /** null: no archived segment to replay. */
  readonly replay: ReplayResult | null;
}

export async function restoreFromBackup(o: RestoreRunOptions): Promise<RestoreRunResult> {
  const { dest, pointInTime: pit } = o;
  const id = o.backupId ?? (pit !== null ? await backupFinishedBy(dest, pit) : await latestBackupId(dest));
  if (id === null) {
    throw new RestoreError(dest.description, pit !== null
      ? `holds no complete backup finished at or before ${new Date(pit).toISOString()}: the recoverability window starts at the oldest backup`
      : 'holds no complete backup (no <id>/manifest.json)');
  }
  const cluster = await readClusterManifest(dest, id);
  // Its snapshot may hold writes after the point in time: never a sound start.
  if (pit !== null && Date.parse(cluster.finishedAt) > pit) {
    throw new RestoreError(`${dest.description}/${id}`, `finished at ${cluster.finishedAt}, after the point in time ${new Date(pit).toISOString()}: restore from an older backup`);
  }
  const shards = await readShardManifests(dest, cluster);
  const segments = [...(await planArchiveReplay(dest, shards)).values()].reduce((n, p) => n + p.length, 0);
  o.onPlanned?.({ backupId: id, segments });
  const loaded = await restoreBackup(dest, id, o.targets, o.now(), o.onLoadProgress, o.keyring);
  const replay = segments > 0 ? await replayArchive(dest, shards, o.targets, pit, o.now(), o.onReplayProgress, o.keyring) : null;
  return { backupId: id, loaded, replay };
}

/** The newest complete backup that finished at or before `t` (its snapshot holds nothing later), or null. */
export async function backupFinishedBy(dest: BackupDestination, t: number): Promise<string | null> {
  const ids = (await dest.list('')).map((o) => o.key).filter((k) => /^[^/]+\/manifest\.json$/.test(k)).map((k) => k.slice(0, k.indexOf('/'))).sort().reverse();
  for (const id of ids) {
    const m = await readClusterManifest(dest, id);
    if (Date.parse(m.finishedAt) <= t) return id;
  }
  return null;
}
