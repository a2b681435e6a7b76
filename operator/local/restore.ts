/**
 * `irisctl local up --restore-from URL [--backup ID] [--shards N]`: a NEW
 * local cluster whose primaries start with a backup's data. Before any node
 * starts, each new shard's primary data directory is loaded with the rows
 * of the slots the new cluster's first map gives it (the same even split
 * bootstrapMap makes), verified as they load (node/backup/restore.ts);
 * replicas then copy their primary by full resync. Refuses a directory that
 * already holds a cluster; on any failure the loaded directories are
 * removed, so no partially restored cluster ever starts.
 */
import fs from 'node:fs';
import { evenSlotRanges } from '../../common/cluster-map.js';
import { parseDestination, s3OptionsFromEnv, type S3Options } from '../../common/backup/destination-url.js';
import { openDestination } from '../../common/backup/open-destination.js';
import { latestBackupId, readClusterManifest, readShardManifests, restoreBackup, type RestoreResult } from '../../node/backup/restore.js';
import { planArchiveReplay, replayArchive } from '../../node/backup/archive-replay.js';
import type { BackupDestination } from '../../common/backup/destination.js';
import { nodeName } from '../core/naming.js';
import { clusterPaths, nodeDataDir } from './layout.js';
import type { Keyring } from '../../node/crypto/keyring.js';

export interface LocalRestoreOptions {
  readonly dir: string;
  readonly cluster: string;
  readonly shards: number;
  readonly from: string;
  readonly backupId?: string;
  readonly s3?: S3Options;
  readonly env?: NodeJS.ProcessEnv;
  readonly say: (line: string) => void;
  readonly now?: () => number;
  /** Point-in-time restore (ms since the epoch): the newest backup finished by then, then the archived log up to it. */
  readonly pointInTime?: number;
  /** Encryption at rest: decrypts the backup's chunks and archived batches; restored values stay encrypted (null: none). */
  readonly keyring?: Keyring | null;
}

export class LocalRestoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalRestoreError';
  }
}

export async function restoreLocalCluster(opts: LocalRestoreOptions): Promise<RestoreResult> {
  const paths = clusterPaths(opts.dir);
  if (fs.existsSync(paths.controllerState) || (fs.existsSync(paths.nodesDir) && fs.readdirSync(paths.nodesDir).length > 0)) {
    throw new LocalRestoreError(`${paths.dir} already holds a cluster: --restore-from only creates a new one (choose another --dir, or remove this one with \`irisctl local down --dir ${opts.dir}\` and delete the directory)`);
  }
  const spec = parseDestination(opts.from, opts.from.startsWith('s3://') ? s3OptionsFromEnv(opts.env ?? process.env, opts.s3 ?? {}) : {});
  const dest = openDestination(spec);
  const ranges = evenSlotRanges(opts.shards);
  const targets = ranges.map((r, i) => ({ slots: [r], dataDir: nodeDataDir(opts.dir, nodeName(opts.cluster, i, 0)) }));
  try {
    const pit = opts.pointInTime;
    const id = opts.backupId ?? (pit !== undefined ? await backupFinishedBy(dest, pit) : await latestBackupId(dest));
    if (id === null) {
      throw new LocalRestoreError(pit !== undefined
        ? `${dest.description} holds no complete backup finished at or before ${new Date(pit).toISOString()}: the recoverability window starts at the oldest backup`
        : `${dest.description} holds no complete backup (no <id>/manifest.json)`);
    }
    const shardManifests = await readShardManifests(dest, await readClusterManifest(dest, id));
    // A hole in the archive fails here, before anything is loaded.
    const plans = await planArchiveReplay(dest, shardManifests);
    const segmentsTotal = [...plans.values()].reduce((n, p) => n + p.length, 0);
    opts.say(`restoring backup ${id} from ${dest.description} into ${opts.shards} shards${segmentsTotal > 0 || pit !== undefined ? `, then ${segmentsTotal} archived log segments${pit !== undefined ? ` up to ${new Date(pit).toISOString()}` : ''}` : ''}`);
    let last = 0;
    const result = await restoreBackup(dest, id, targets, (opts.now ?? Date.now)(), (p) => {
      const t = Date.now();
      if (t - last < 1000 && p.shardsDone < p.shardsTotal) return;
      last = t;
      opts.say(`restore: ${p.keys} keys, ${p.bytes} bytes read (${p.shardsDone}/${p.shardsTotal} source shards verified)`);
    }, opts.keyring ?? null);
    opts.say(`restored ${result.keysRestored} keys (${result.keysExpired} expired ones left out) from backup ${id}; checksums and per-slot digests verified`);
    if (segmentsTotal > 0) {
      let lastSay = 0;
      const replay = await replayArchive(dest, shardManifests, targets, pit ?? null, (opts.now ?? Date.now)(), (p) => {
        const t = Date.now();
        if (t - lastSay < 1000 && p.segmentsDone < p.segmentsTotal) return;
        lastSay = t;
        opts.say(`replay ${p.shard}: ${p.segmentsDone}/${p.segmentsTotal} segments, ${p.entries} log entries`);
      }, opts.keyring ?? null);
      const times = Object.entries(replay.lastCommitByShard).map(([s, t]) => `${s} ${t === null ? 'nothing after the backup' : `to ${new Date(t).toISOString()}`}`);
      opts.say(`replayed ${replay.entries} log entries from ${replay.segments} archived segments (checksums verified; ${times.join(', ')}); ${replay.expiredRemoved} keys expired since were removed`);
    }
    return result;
  } catch (err) {
    // Nothing half-loaded may start.
    for (const t of targets) await fs.promises.rm(t.dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    dest.close();
  }
}

/** The newest complete backup that finished at or before `t` (its snapshot holds nothing later), or null. */
async function backupFinishedBy(dest: BackupDestination, t: number): Promise<string | null> {
  const ids = (await dest.list('')).map((o) => o.key).filter((k) => /^[^/]+\/manifest\.json$/.test(k)).map((k) => k.slice(0, k.indexOf('/'))).sort().reverse();
  for (const id of ids) {
    const m = await readClusterManifest(dest, id);
    if (Date.parse(m.finishedAt) <= t) return id;
  }
  return null;
}
