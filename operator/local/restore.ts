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
import { latestBackupId, restoreBackup, type RestoreResult } from '../../node/backup/restore.js';
import { nodeName } from '../core/naming.js';
import { clusterPaths, nodeDataDir } from './layout.js';

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
    const id = opts.backupId ?? (await latestBackupId(dest));
    if (id === null) throw new LocalRestoreError(`${dest.description} holds no complete backup (no <id>/manifest.json)`);
    opts.say(`restoring backup ${id} from ${dest.description} into ${opts.shards} shards`);
    let last = 0;
    const result = await restoreBackup(dest, id, targets, (opts.now ?? Date.now)(), (p) => {
      const t = Date.now();
      if (t - last < 1000 && p.shardsDone < p.shardsTotal) return;
      last = t;
      opts.say(`restore: ${p.keys} keys, ${p.bytes} bytes read (${p.shardsDone}/${p.shardsTotal} source shards verified)`);
    });
    opts.say(`restored ${result.keysRestored} keys (${result.keysExpired} expired ones left out) from backup ${id}; checksums and per-slot digests verified`);
    return result;
  } catch (err) {
    // Nothing half-loaded may start.
    for (const t of targets) await fs.promises.rm(t.dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    dest.close();
  }
}
