/**
 * `irisdb-node --restore-from URL --restore-shard i/n …`: loads this node's
 * data directory from a backup (and the archived log, up to
 * --restore-point-in-time) and exits without serving: the init container
 * of a Kubernetes cluster created with spec.bootstrap.fromBackup
 * (operator/kube/build/bootstrap-pod-parts.ts). Only the node named by
 * --restore-node (its shard's first primary) loads, and only into a data
 * directory without a database, so a restarted pod never loads twice;
 * replicas copy their primary by full resync. The loading and checking are
 * node/backup's (restoreFromBackup, shared with `irisctl local up
 * --restore-from`: checksums, chunk framing, per-slot digests); they
 * route every slot of the new cluster, so the rows of the other shards go
 * to scratch directories that are removed. On any
 * failure the data directory is emptied and the process exits 1: the init
 * container is run again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { parseDestination, s3OptionsFromEnv } from '../../common/backup/destination-url.js';
import { openDestination } from '../../common/backup/open-destination.js';
import { restoreFromBackup } from '../backup/restore-run.js';
import { DB_FILE_NAME } from '../engine/database.js';
import { readKeyringFile } from '../crypto/keyring-store.js';
import { restoreShardSpec, shardSlots } from './restore-shard-spec.js';

export interface RestoreAtStartConfig {
  readonly nodeName: string;
  readonly dataDir: string;
  readonly restoreFrom: string;
  readonly restoreBackupId: string;
  readonly restorePointInTime: string;
  readonly restoreShard: string;
  readonly restoreNode: string;
  /** Encryption at rest: the keyring an encrypted backup and archive need (also used to store replayed values); '' off. */
  readonly encryptionKeyFile?: string;
}

/** Exit code: 0 loaded or nothing to do, 1 failed (the message is logged). */
export async function restoreAtStart(c: RestoreAtStartConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env, now: () => number = Date.now): Promise<number> {
  let spec;
  try {
    spec = restoreShardSpec(c);
  } catch (err) {
    logger.error('restore refused', { err: (err as Error).message });
    return 1;
  }
  if (c.restoreNode !== '' && c.restoreNode !== c.nodeName) {
    logger.info('restore: not this node\'s job (it copies its primary once the cluster starts)', { node: c.nodeName, restoreNode: c.restoreNode });
    return 0;
  }
  if (fs.existsSync(path.join(c.dataDir, DB_FILE_NAME))) {
    logger.info('restore: the data directory already holds a database; nothing loaded', { dataDir: c.dataDir });
    return 0;
  }
  const dest = openDestination(parseDestination(spec.from, spec.from.startsWith('s3://') ? s3OptionsFromEnv(env, {}) : {}));
  const scratch = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-restore-'));
  const targets = shardSlots(spec).map((slots, i) => ({ slots, dataDir: i === spec.shard ? c.dataDir : path.join(scratch, `shard-${i}`) }));
  try {
    const keyring = c.encryptionKeyFile === undefined || c.encryptionKeyFile === '' ? null : readKeyringFile(c.encryptionKeyFile);
    let last = 0;
    const run = await restoreFromBackup({
      dest, targets, backupId: spec.backupId ?? null, pointInTime: spec.pointInTime, now, keyring,
      onPlanned: ({ backupId, segments }) => {
        logger.info('restore started', { backup: backupId, destination: dest.description, shard: `${spec.shard}/${spec.shards}`, segments, pointInTime: spec.pointInTime === null ? null : new Date(spec.pointInTime).toISOString() });
      },
      onLoadProgress: (p) => {
        if (Date.now() - last < 5000 && p.shardsDone < p.shardsTotal) return;
        last = Date.now();
        logger.info('restore progress', { keys: p.keys, bytes: p.bytes, sourceShardsVerified: `${p.shardsDone}/${p.shardsTotal}` });
      },
    });
    const result = run.loaded;
    logger.info('restore finished', { backup: run.backupId, keysLoaded: result.perTarget[spec.shard], keysInBackup: result.keysInBackup, keysExpired: result.keysExpired, logEntriesReplayed: run.replay?.entries ?? 0 });
    return 0;
  } catch (err) {
    // Nothing half-loaded may start: the next run begins from an empty directory.
    for (const f of [DB_FILE_NAME, `${DB_FILE_NAME}-wal`, `${DB_FILE_NAME}-shm`]) await fs.promises.rm(path.join(c.dataDir, f), { force: true });
    logger.error('restore failed; the data directory was emptied', { err: (err as Error).message });
    return 1;
  } finally {
    dest.close();
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}
