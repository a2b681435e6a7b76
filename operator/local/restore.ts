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
import type { RestoreResult } from '../../node/backup/restore.js';
import { restoreFromBackup } from '../../node/backup/restore-run.js';
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
    let last = 0;
    let lastSay = 0;
    const run = await restoreFromBackup({
      dest, targets, backupId: opts.backupId ?? null, pointInTime: pit ?? null, now: opts.now ?? Date.now, keyring: opts.keyring ?? null,
      onPlanned: ({ backupId, segments }) => {
        opts.say(`restoring backup ${backupId} from ${dest.description} into ${opts.shards} shards${segments > 0 || pit !== undefined ? `, then ${segments} archived log segments${pit !== undefined ? ` up to ${new Date(pit).toISOString()}` : ''}` : ''}`);
      },
      onLoadProgress: (p) => {
        const t = Date.now();
        if (t - last < 1000 && p.shardsDone < p.shardsTotal) return;
        last = t;
        opts.say(`restore: ${p.keys} keys, ${p.bytes} bytes read (${p.shardsDone}/${p.shardsTotal} source shards verified)`);
      },
      onReplayProgress: (p) => {
        const t = Date.now();
        if (t - lastSay < 1000 && p.segmentsDone < p.segmentsTotal) return;
        lastSay = t;
        opts.say(`replay ${p.shard}: ${p.segmentsDone}/${p.segmentsTotal} segments, ${p.entries} log entries`);
      },
    });
    const result = run.loaded;
    opts.say(`restored ${result.keysRestored} keys (${result.keysExpired} expired ones left out) from backup ${run.backupId}; checksums and per-slot digests verified`);
    const replay = run.replay;
    if (replay !== null) {
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
