/**
 * One shard's backup, run on the node that holds the snapshot (docs/backup.md):
 * a consistent read through a second, read-only SQLite connection
 * (SnapshotReader, the full resync's reader) at a known sequence, the rows of
 * the slots this shard owns, expired rows left out, cut into compressed
 * chunks that are uploaded one by one; the shard manifest (digests, counts,
 * chunk checksums) goes up LAST. The reading, digesting and compressing run
 * in a child process at a lower CPU priority (snapshot-worker.ts): the
 * node's own thread only uploads, so clients and the replication apply are
 * served as before.
 */
import { createHash } from 'node:crypto';
import type { SlotRange } from '../../common/cluster-map.js';
import type { BackupDestination } from '../../common/backup/destination.js';
import { BACKUP_FORMAT_VERSION, backupKeys, type ChunkCompression, type ChunkEntry, type ShardManifest } from '../../common/backup/manifest.js';
import type { SlotDigest } from '../../common/replication.js';
import type { SnapshotWorkerData } from './snapshot-worker.js';
import { readSnapshotInProcess, type SnapshotChunk } from './snapshot-process.js';
import type { Keyring } from '../crypto/keyring.js';
import { sealObjectWith } from '../crypto/object-envelope.js';

/** Chunks the worker may build ahead of the uploads: overlaps the two, bounds memory. */
const CHUNKS_AHEAD = 2;
export const DEFAULT_BACKUP_NICENESS = 10;

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
  readonly destination: BackupDestination;
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
  const slotDigests = await readInWorker(input, progress, async (c) => {
    const key = backupKeys.chunk(input.backupId, input.shard, chunks.length + 1);
    const body = sealObjectWith(input.keyring ?? null, 'backup', key, Buffer.from(c.body.buffer, c.body.byteOffset, c.body.byteLength));
    await input.destination.put(key, body);
    chunks.push({ key, sha256: sha256(body), bytes: body.length, rawBytes: c.rawBytes, keys: c.keys });
    keys += c.keys;
    bytes += body.length;
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
    startedAt, finishedAt: new Date(input.now()).toISOString(),
  };
  const text = Buffer.from(JSON.stringify(manifest, null, 1));
  const key = backupKeys.shardManifest(input.backupId, input.shard);
  // Last: a manifest exists only once every chunk it lists does.
  await input.destination.put(key, text);
  return { key, sha256: sha256(text), manifest };
}

/** Runs the snapshot reader to its end, uploading each chunk (in order, one at a time) with `upload`; the slot digests. */
function readInWorker(input: ShardBackupInput, progress: ShardBackupProgress, upload: (c: SnapshotChunk) => Promise<void>): Promise<SlotDigest[]> {
  const data: SnapshotWorkerData = {
    dbFile: input.dbFile, slots: input.slots, now: input.now(), compression: input.compression, chunkBytes: input.chunkBytes,
    maxBytesPerSecond: input.maxBytesPerSecond ?? null, niceness: input.niceness ?? DEFAULT_BACKUP_NICENESS,
    keys: input.keyring?.keys ?? null,
  };
  return readSnapshotInProcess(data, CHUNKS_AHEAD, progress, upload);
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
