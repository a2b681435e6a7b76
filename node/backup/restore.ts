/**
 * Restore of a cluster backup into the data directories of a NEW cluster's
 * primaries (before any node starts), with any number of shards: every
 * row goes to the target shard that owns its slot. Everything is verified
 * on the way: each object's SHA-256 against its manifest, the chunk
 * framing, and at the end each source shard's per-slot digests (over every
 * row the backup holds, decoded values) against its manifest. Rows whose
 * TTL has passed by `now` are not loaded. On any failure the caller
 * discards the target directories (RestoreError names the object), so no
 * partially restored shard ever serves.
 */
import { createHash } from 'node:crypto';
import type { BackupDestination } from '../../common/backup/destination.js';
import { backupKeys, parseClusterManifest, parseShardManifest, type ClusterManifest, type ShardManifest } from '../../common/backup/manifest.js';
import { rangesToSlots, type SlotRange } from '../../common/cluster-map.js';
import type { SlotDigest } from '../../common/replication.js';
import { keySlot, SLOT_COUNT } from '../../common/slot.js';
import { decodeValue } from '../engine/codec.js';
import type { Keyring } from '../crypto/keyring.js';
import { openObject } from '../crypto/object-envelope.js';
import { openDatabase, type Db } from '../engine/database.js';
import { Statements } from '../engine/statements.js';
import { DigestAccumulator, diffDigests } from '../replication/digest.js';
import { decodeChunkRows, parseChunk } from './chunk-codec.js';
import { decompressPayload } from './chunk-compress.js';

export class RestoreError extends Error {
  constructor(readonly object: string, problem: string) {
    super(`restore failed at ${object}: ${problem}`);
    this.name = 'RestoreError';
  }
}

export interface RestoreTarget {
  /** The target shard's slots (the new cluster's first map). */
  readonly slots: readonly SlotRange[];
  /** Its primary's data directory (empty). */
  readonly dataDir: string;
}

export interface RestoreProgress {
  readonly shardsDone: number;
  readonly shardsTotal: number;
  readonly keys: number;
  readonly bytes: number;
}

export interface RestoreResult {
  readonly backupId: string;
  readonly keysInBackup: number;
  readonly keysRestored: number;
  /** Left out: their TTL had passed. */
  readonly keysExpired: number;
  readonly bytes: number;
  readonly perTarget: readonly number[];
}

/** The newest backup with a top-level manifest (ids sort by time), or null. */
export async function latestBackupId(dest: BackupDestination): Promise<string | null> {
  const manifests = (await dest.list('')).map((o) => o.key).filter((k) => /^[^/]+\/manifest\.json$/.test(k)).sort();
  const last = manifests[manifests.length - 1];
  return last === undefined ? null : last.slice(0, last.indexOf('/'));
}

export async function readClusterManifest(dest: BackupDestination, backupId: string): Promise<ClusterManifest> {
  const key = backupKeys.manifest(backupId);
  if ((await dest.head(key)) === null) {
    throw new RestoreError(`${dest.description}/${key}`, `backup ${backupId} has no manifest: it does not exist or never completed`);
  }
  return parseClusterManifest(await dest.get(key), `${dest.description}/${key}`);
}

export async function restoreBackup(
  dest: BackupDestination, backupId: string, targets: readonly RestoreTarget[], now: number,
  onProgress: (p: RestoreProgress) => void = () => undefined,
  /** Encryption at rest: decrypts encrypted values (to check digests); null: the backup must hold none. */
  keyring: Keyring | null = null,
): Promise<RestoreResult> {
  const where = (key: string): string => `${dest.description}/${key}`;
  // Every shard manifest is read and checked before anything is loaded.
  const shards = await readShardManifests(dest, await readClusterManifest(dest, backupId));
  const owner = new Int32Array(SLOT_COUNT).fill(-1);
  targets.forEach((t, i) => {
    for (const s of rangesToSlots(t.slots)) owner[s] = i;
  });
  const dbs = targets.map((t) => openDatabase(t.dataDir, 'batch'));
  const perTarget = targets.map(() => 0);
  let keysRestored = 0;
  let keysExpired = 0;
  let keysInBackup = 0;
  let bytes = 0;
  try {
    dbs.forEach((d, i) => {
      // Loading into data that is already there would mix two states.
      if ((d.db.prepare('SELECT COUNT(*) FROM kv').pluck().get() as number) > 0) throw new RestoreError(targets[i]!.dataDir, 'already holds data: a restore goes into empty data directories');
    });
    const inserts = dbs.map((o) => new Statements(o.db).insert);
    for (const [si, m] of shards.entries()) {
      const allowed = new Uint8Array(SLOT_COUNT);
      for (const s of rangesToSlots(m.slots)) allowed[s] = 1;
      const digests = new DigestAccumulator();
      let next: Promise<Buffer> | null = m.chunks.length > 0 ? getObject(dest, m.chunks[0]!.key) : null;
      for (const [ci, c] of m.chunks.entries()) {
        const body = await next!;
        // Fetch the next chunk while this one is checked and loaded.
        next = ci + 1 < m.chunks.length ? getObject(dest, m.chunks[ci + 1]!.key) : null;
        next?.catch(() => undefined);
        if (body.length !== c.bytes || sha256(body) !== c.sha256) throw new RestoreError(where(c.key), `its SHA-256 does not match shard manifest ${m.shard} (the chunk is corrupt)`);
        const { header, payload } = parseChunk(openObject(keyring, 'backup', c.key, body, `backup chunk ${where(c.key)}`), where(c.key));
        const rows = decodeChunkRows(await decompressPayload(payload, header.compression, where(c.key)), header, where(c.key));
        if (rows.length !== c.keys) throw new RestoreError(where(c.key), `holds ${rows.length} rows, the manifest says ${c.keys}`);
        const touched = new Set<number>();
        const load = (): void => {
          for (const r of rows) {
            const slot = keySlot(r.key);
            if (allowed[slot] !== 1) throw new RestoreError(where(c.key), `holds a key of slot ${slot}, which shard ${m.shard} did not own`);
            digests.add(slot, r.key, decodeValue(r.value, r.flags, r.key, keyring), r.expiresAt);
            if (r.expiresAt !== null && r.expiresAt <= now) {
              keysExpired++;
              continue;
            }
            const t = owner[slot]!;
            if (t === -1) throw new RestoreError(where(c.key), `slot ${slot} has no owner in the new cluster`);
            inserts[t]!.run(r.key, slot, r.flags, r.expiresAt, r.version, r.value);
            touched.add(t);
            perTarget[t]!++;
            keysRestored++;
          }
        };
        // One transaction per target per chunk: a chunk's rows go in together.
        for (const d of dbs) d.db.prepare('BEGIN').run();
        try {
          load();
          for (const d of dbs) d.db.prepare('COMMIT').run();
        } catch (err) {
          for (const d of dbs) if (d.db.inTransaction) d.db.prepare('ROLLBACK').run();
          throw err;
        }
        keysInBackup += rows.length;
        bytes += body.length;
        onProgress({ shardsDone: si, shardsTotal: shards.length, keys: keysInBackup, bytes });
      }
      const bad = diffDigests(digests.result(), m.slotDigests as SlotDigest[]);
      if (bad.length > 0) {
        throw new RestoreError(where(backupKeys.shardManifest(backupId, m.shard)), `per-slot digests differ from the manifest in ${bad.length} slots (first: ${bad.slice(0, 5).join(', ')})`);
      }
      onProgress({ shardsDone: si + 1, shardsTotal: shards.length, keys: keysInBackup, bytes });
    }
    for (const d of dbs) d.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    for (const d of dbs) closeQuietly(d.db);
  }
  return { backupId, keysInBackup, keysRestored, keysExpired, bytes, perTarget };
}

/** The shard manifests a cluster manifest lists, each checked against its SHA-256. */
export async function readShardManifests(dest: BackupDestination, cluster: ClusterManifest): Promise<ShardManifest[]> {
  const shards: ShardManifest[] = [];
  for (const s of cluster.shards) {
    const text = await getObject(dest, s.manifest);
    const where = `${dest.description}/${s.manifest}`;
    if (sha256(text) !== s.sha256) throw new RestoreError(where, 'its SHA-256 does not match the backup manifest (the object is corrupt or was replaced)');
    shards.push(parseShardManifest(text, where));
  }
  return shards;
}

export async function getObject(dest: BackupDestination, key: string): Promise<Buffer> {
  try {
    return await dest.get(key);
  } catch (err) {
    throw new RestoreError(`${dest.description}/${key}`, (err as Error).message);
  }
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function closeQuietly(db: Db): void {
  try {
    db.close();
  } catch {
    // Already failing: the directory is discarded anyway.
  }
}
