/**
 * One shard's backup, run on the node that holds the snapshot (docs/backup.md):
 * a consistent read through a second, read-only SQLite connection
 * (SnapshotReader, the full resync's reader) at a known sequence, the rows of
 * the slots this shard owns, expired rows left out, cut into compressed
 * chunks that are stored one by one; the shard manifest (digests, counts,
 * chunk checksums) goes up LAST, from the node. The reading, digesting,
 * compressing and the chunks' uploads run in a child process at a lower CPU
 * priority (snapshot-worker.ts): the node's own thread only records what
 * was stored, so clients and the replication apply are served as before.
 */
import type { SlotRange } from '../../common/cluster-map.js';
import type { BackupDestination } from '../../common/backup/destination.js';
import { BACKUP_FORMAT_VERSION, backupKeys, type ChunkCompression, type ChunkEntry, type ShardManifest } from '../../common/backup/manifest.js';
import type { SnapshotWorkerData } from './snapshot-worker.js';
import { readSnapshotInProcess } from './snapshot-process.js';
import type { Keyring } from '../crypto/keyring.js';
import { sha256 } from './chunk-store.js';
import type { JobDestination } from './job-destination.js';

export const DEFAULT_BACKUP_NICENESS = 10;
/** Percent of one core the snapshot process may use (--backup-cpu-percent; docs/backup.md "CPU budget"). */
export const DEFAULT_BACKUP_CPU_PERCENT = 10;

export interface ShardBackupInput {
  readonly backupId: string;
  readonly cluster: string;
  readonly shard: string;
  readonly node: string;
  readonly slots: readonly SlotRange[];
  readonly mapEpoch: number;
  readonly shardEpoch: number;
  readonly dbFile: string;
  /** Commits the write journal's batch first, so the snapshot holds every acknowledged write (absent: nothing to do). */
  readonly commitNow?: () => void;
  readonly compression: ChunkCompression;
  readonly chunkBytes: number;
  /** Read pace limit (bytes of rows per second), null: none. */
  readonly maxBytesPerSecond?: number | null;
  /** Nice value of the reading thread (0: the node's own; default 10). */
  readonly niceness?: number;
  /** CPU budget of the snapshot process, percent of one core (100: none; default DEFAULT_BACKUP_CPU_PERCENT). */
  readonly cpuPercent?: number;
  /** Where the shard manifest goes (the node's handle on `chunkDestination`). */
  readonly destination: BackupDestination;
  /** The same destination as the job names it: the snapshot process opens it to store the chunks. */
  readonly chunkDestination: JobDestination;
  readonly now: () => number;
  /** Encryption at rest: chunks are sealed with its active key and values decrypted for the digests (null: off). */
  readonly keyring?: Keyring | null;
}

export interface ShardBackupProgress {
  seq: number | null;
  keysTotal: number;
  keysDone: number;
  bytes: number;
  chunks: number;
  /** The reading thread's nice value once it runs (null: not lowered). */
  niceness?: number | null;
}

export async function runShardBackup(input: ShardBackupInput, progress: ShardBackupProgress): Promise<{ key: string; sha256: string; manifest: ShardManifest }> {
  input.commitNow?.();
  const startedAt = new Date(input.now()).toISOString();
  const chunks: ChunkEntry[] = [];
  let keys = 0;
  let bytes = 0;
  let rawBytes = 0;
  const { slotDigests, cpu } = await readInProcess(input, progress, (c) => {
    chunks.push(c);
    keys += c.keys;
    bytes += c.bytes;
    rawBytes += c.rawBytes;
    progress.bytes = bytes;
    progress.chunks = chunks.length;
  });
  const manifest: ShardManifest = {
    formatVersion: BACKUP_FORMAT_VERSION,
    backupId: input.backupId, cluster: input.cluster, shard: input.shard, node: input.node,
    slots: input.slots, mapEpoch: input.mapEpoch, shardEpoch: input.shardEpoch,
    startSeq: progress.seq ?? 0, endSeq: progress.seq ?? 0,
    keys, slotDigests, compression: input.compression, chunks, bytes, rawBytes,
    ...(input.keyring != null ? { encryptionKeyId: input.keyring.active.id } : {}),
    snapshotCpu: { cpuSeconds: round3(cpu.cpuSeconds), seconds: round3(cpu.seconds), cpuPercent: cpu.cpuPercent },
    startedAt, finishedAt: new Date(input.now()).toISOString(),
  };
  const text = Buffer.from(JSON.stringify(manifest, null, 1));
  const key = backupKeys.shardManifest(input.backupId, input.shard);
  // Last: a manifest exists only once every chunk it lists does.
  await input.destination.put(key, text);
  return { key, sha256: sha256(text), manifest };
}

/** Runs the snapshot process to its end (`stored` called for each chunk, in order); the slot digests. */
function readInProcess(input: ShardBackupInput, progress: ShardBackupProgress, stored: (c: ChunkEntry) => void): ReturnType<typeof readSnapshotInProcess> {
  const data: SnapshotWorkerData = {
    backupId: input.backupId, shard: input.shard, destination: input.chunkDestination,
    dbFile: input.dbFile, slots: input.slots, now: input.now(), compression: input.compression, chunkBytes: input.chunkBytes,
    maxBytesPerSecond: input.maxBytesPerSecond ?? null, niceness: input.niceness ?? DEFAULT_BACKUP_NICENESS, cpuPercent: input.cpuPercent ?? DEFAULT_BACKUP_CPU_PERCENT,
    keys: input.keyring?.keys ?? null,
  };
  return readSnapshotInProcess(data, progress, stored);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
