/**
 * One shard's backup, run on the node that holds the snapshot (docs/backup.md):
 * a consistent read through a second, read-only SQLite connection
 * (SnapshotReader, the full resync's reader) at a known sequence, the rows of
 * the slots this shard owns, expired rows left out, cut into chunks that
 * are compressed on zlib's thread pool and uploaded one by one; the shard
 * manifest (digests, counts, chunk checksums) goes up LAST. The read yields
 * to the event loop between chunks, so clients are served meanwhile.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { keySlot, SLOT_COUNT } from '../../common/slot.js';
import { rangesToSlots, type SlotRange } from '../../common/cluster-map.js';
import type { BackupDestination } from '../../common/backup/destination.js';
import { BACKUP_FORMAT_VERSION, backupKeys, type ChunkCompression, type ChunkEntry, type ShardManifest } from '../../common/backup/manifest.js';
import { decodeValue } from '../engine/codec.js';
import type { StoredRow } from '../engine/types.js';
import { DigestAccumulator } from '../replication/digest.js';
import { encodeRows } from '../replication/row-codec.js';
import { SnapshotReader } from '../replication/snapshot.js';
import { encodeChunkHeader } from './chunk-codec.js';
import { compressPayload } from './chunk-compress.js';

/** One synchronous read slice: a few milliseconds of work. */
const PAGE_BYTES = 128 * 1024;
const PAGE_ROWS = 1000;

export interface ShardBackupInput {
  readonly backupId: string;
  readonly cluster: string;
  readonly shard: string;
  readonly node: string;
  readonly slots: readonly SlotRange[];
  readonly mapEpoch: number;
  readonly shardEpoch: number;
  readonly dbFile: string;
  readonly compression: ChunkCompression;
  readonly chunkBytes: number;
  /** Read pace limit (bytes of rows per second), null: none. */
  readonly maxBytesPerSecond?: number | null;
  readonly destination: BackupDestination;
  readonly now: () => number;
}

export interface ShardBackupProgress {
  seq: number | null;
  keysTotal: number;
  keysDone: number;
  bytes: number;
  chunks: number;
}

export async function runShardBackup(input: ShardBackupInput, progress: ShardBackupProgress): Promise<{ key: string; sha256: string; manifest: ShardManifest }> {
  const startedAt = new Date(input.now()).toISOString();
  const wanted = new Uint8Array(SLOT_COUNT);
  for (const s of rangesToSlots(input.slots)) wanted[s] = 1;
  const reader = new SnapshotReader(input.dbFile);
  // One clock reading for the whole snapshot: a key is in or out consistently.
  const now = input.now();
  const digests = new DigestAccumulator();
  const chunks: ChunkEntry[] = [];
  let keys = 0;
  let bytes = 0;
  let rawBytes = 0;
  try {
    progress.seq = reader.seq;
    progress.keysTotal = reader.totalKeys;
    let rows: StoredRow[] = [];
    let rowBytesSoFar = 0;
    let readBytes = 0;
    const startedMs = performance.now();
    for (let end = false; !end;) {
      // Small synchronous slices, the event loop served between them; a chunk gathers several.
      const page = reader.next(PAGE_BYTES, PAGE_ROWS);
      end = page === null;
      for (const r of page ?? []) {
        const slot = keySlot(r.key);
        if (wanted[slot] !== 1 || (r.expiresAt !== null && r.expiresAt <= now)) continue;
        digests.add(slot, r.key, decodeValue(r.value, r.flags, r.key), r.expiresAt);
        rows.push(r);
        rowBytesSoFar += r.key.length + r.value.length + 32;
      }
      for (const r of page ?? []) readBytes += r.key.length + r.value.length + 32;
      progress.keysDone += page?.length ?? 0;
      const wait = paceDelayMs(readBytes, performance.now() - startedMs, input.maxBytesPerSecond ?? null);
      if (!end) await new Promise((resolve) => (wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve)));
      if (rows.length === 0 || (!end && rowBytesSoFar < input.chunkBytes)) continue;
      const full = rows;
      rows = [];
      rowBytesSoFar = 0;
      const raw = encodeRows(full);
      const payload = await compressPayload(raw, input.compression);
      const body = Buffer.concat([encodeChunkHeader({ compression: input.compression, rows: full.length, rawBytes: raw.length }), payload]);
      const key = backupKeys.chunk(input.backupId, input.shard, chunks.length + 1);
      await input.destination.put(key, body);
      chunks.push({ key, sha256: sha256(body), bytes: body.length, rawBytes: raw.length, keys: full.length });
      keys += full.length;
      bytes += body.length;
      rawBytes += raw.length;
      progress.bytes = bytes;
      progress.chunks = chunks.length;
    }
  } finally {
    reader.close();
  }
  const manifest: ShardManifest = {
    formatVersion: BACKUP_FORMAT_VERSION,
    backupId: input.backupId, cluster: input.cluster, shard: input.shard, node: input.node,
    slots: input.slots, mapEpoch: input.mapEpoch, shardEpoch: input.shardEpoch,
    startSeq: progress.seq ?? 0, endSeq: progress.seq ?? 0,
    keys, slotDigests: digests.result(), compression: input.compression, chunks, bytes, rawBytes,
    startedAt, finishedAt: new Date(input.now()).toISOString(),
  };
  const text = Buffer.from(JSON.stringify(manifest, null, 1));
  const key = backupKeys.shardManifest(input.backupId, input.shard);
  // Last: a manifest exists only once every chunk it lists does.
  await input.destination.put(key, text);
  return { key, sha256: sha256(text), manifest };
}

/** How long to pause so that `bytes` read in `elapsedMs` stays within `rate` bytes/s (0: go on). Pure. */
export function paceDelayMs(bytes: number, elapsedMs: number, rate: number | null): number {
  if (rate === null || rate <= 0) return 0;
  return Math.max(0, Math.min(MAX_PAUSE_MS, (bytes / rate) * 1000 - elapsedMs));
}

const MAX_PAUSE_MS = 1000;

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
