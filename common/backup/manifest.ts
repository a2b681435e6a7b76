/**
 * The backup format's manifests and object names (docs/backup.md). Per
 * shard: chunks, then `shard-<i>/manifest.json` written LAST; per backup:
 * the shard manifests, the cluster map, then the top-level `manifest.json`
 * written last. No manifest = an incomplete backup. Pure: types, names and
 * strict parsing (a manifest read back is never trusted unchecked).
 */
import { parseClusterMap, type ClusterMap, type SlotRange } from '../cluster-map.js';
import type { SlotDigest } from '../replication.js';
import { SLOT_COUNT } from '../slot.js';

export const BACKUP_FORMAT_VERSION = 1;

export type ChunkCompression = 'gzip' | 'brotli';

export interface ChunkEntry {
  /** Object key, relative to the destination root. */
  readonly key: string;
  /** SHA-256 of the stored (compressed) object, hex. */
  readonly sha256: string;
  readonly bytes: number;
  readonly rawBytes: number;
  readonly keys: number;
}

export interface ShardManifest {
  readonly formatVersion: typeof BACKUP_FORMAT_VERSION;
  readonly backupId: string;
  readonly cluster: string;
  readonly shard: string;
  /** The node the snapshot was read from. */
  readonly node: string;
  readonly slots: readonly SlotRange[];
  readonly mapEpoch: number;
  readonly shardEpoch: number;
  /** The snapshot is the shard's state at sequence endSeq (a full snapshot: startSeq = endSeq). */
  readonly startSeq: number;
  readonly endSeq: number;
  readonly keys: number;
  /** Digests over the rows written (expired rows are left out), decoded values. */
  readonly slotDigests: readonly SlotDigest[];
  readonly compression: ChunkCompression;
  /** Encryption at rest: the key id the chunks are sealed with (absent: stored in clear); a restore needs it in its keyring. */
  readonly encryptionKeyId?: string;
  /** What reading the snapshot cost the node's snapshot process (absent in backups of older versions): informational, never checked on restore. */
  readonly snapshotCpu?: { readonly cpuSeconds: number; readonly seconds: number; readonly cpuPercent: number };
  readonly chunks: readonly ChunkEntry[];
  readonly bytes: number;
  readonly rawBytes: number;
  readonly startedAt: string;
  readonly finishedAt: string;
}

export interface ClusterManifestShard {
  readonly shard: string;
  readonly manifest: string;
  /** SHA-256 of the shard manifest object, hex. */
  readonly sha256: string;
  readonly keys: number;
  readonly bytes: number;
}

export interface ClusterManifest {
  readonly formatVersion: typeof BACKUP_FORMAT_VERSION;
  readonly backupId: string;
  readonly cluster: string;
  readonly map: ClusterMap;
  readonly shards: readonly ClusterManifestShard[];
  readonly keys: number;
  readonly bytes: number;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** Object names inside a destination. */
export const backupKeys = {
  dir: (id: string): string => `${checkBackupId(id)}/`,
  manifest: (id: string): string => `${checkBackupId(id)}/manifest.json`,
  shardManifest: (id: string, shard: string): string => `${checkBackupId(id)}/${shard}/manifest.json`,
  chunk: (id: string, shard: string, n: number): string => `${checkBackupId(id)}/${shard}/chunk-${String(n).padStart(6, '0')}.irbk`,
};

const BACKUP_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$/;

export function checkBackupId(id: string): string {
  if (!BACKUP_ID.test(id)) throw new ManifestError('backup id', `${JSON.stringify(id)} is not a backup id (letters, digits, _ . -)`);
  return id;
}

/** A backup id that sorts by time: backup-20261206T091500Z-<n>. */
export function newBackupId(now: number, n: number): string {
  return `backup-${new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${n}`;
}

export class ManifestError extends Error {
  constructor(readonly object: string, readonly problem: string) {
    super(`${object}: ${problem}`);
    this.name = 'ManifestError';
  }
}

type Obj = Record<string, unknown>;

function parseJson(text: string | Buffer, where: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text.toString());
  } catch (err) {
    throw new ManifestError(where, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ManifestError(where, 'expected a JSON object');
  return v as Obj;
}

function checker(where: string, o: Obj) {
  const fail = (field: string, what: string): never => {
    throw new ManifestError(where, `${field} ${what}`);
  };
  return {
    fail,
    str: (f: string): string => (typeof o[f] === 'string' && o[f] !== '' ? (o[f] as string) : fail(f, 'must be a non-empty string')),
    int: (f: string): number => (Number.isSafeInteger(o[f]) && (o[f] as number) >= 0 ? (o[f] as number) : fail(f, 'must be a non-negative integer')),
    arr: (f: string): unknown[] => (Array.isArray(o[f]) ? (o[f] as unknown[]) : fail(f, 'must be an array')),
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

export function parseShardManifest(text: string | Buffer, where: string): ShardManifest {
  const o = parseJson(text, where);
  const c = checker(where, o);
  if (o.formatVersion !== BACKUP_FORMAT_VERSION) c.fail('formatVersion', `${JSON.stringify(o.formatVersion)} is not supported (this version reads ${BACKUP_FORMAT_VERSION})`);
  c.str('backupId'); c.str('cluster'); c.str('shard'); c.str('node'); c.str('startedAt'); c.str('finishedAt');
  c.int('mapEpoch'); c.int('shardEpoch'); c.int('startSeq'); c.int('endSeq'); c.int('keys'); c.int('bytes'); c.int('rawBytes');
  if (o.compression !== 'gzip' && o.compression !== 'brotli') c.fail('compression', 'must be gzip or brotli');
  for (const r of c.arr('slots')) {
    if (!Array.isArray(r) || r.length !== 2 || !r.every((s) => Number.isInteger(s) && s >= 0 && s < SLOT_COUNT) || r[0] > r[1]) c.fail('slots', 'must be [first, last] slot ranges');
  }
  let digestKeys = 0;
  for (const d of c.arr('slotDigests')) {
    const x = d as Obj;
    if (typeof d !== 'object' || d === null || !Number.isInteger(x.slot) || (x.slot as number) < 0 || (x.slot as number) >= SLOT_COUNT
      || !Number.isSafeInteger(x.count) || typeof x.hash !== 'string' || !/^[0-9a-f]{16}$/.test(x.hash)) c.fail('slotDigests', 'must be {slot, count, hash}');
    digestKeys += x.count as number;
  }
  let chunkKeys = 0;
  for (const ch of c.arr('chunks')) {
    const x = ch as Obj;
    if (typeof ch !== 'object' || ch === null || typeof x.key !== 'string' || typeof x.sha256 !== 'string' || !HEX64.test(x.sha256)
      || !Number.isSafeInteger(x.bytes) || !Number.isSafeInteger(x.rawBytes) || !Number.isSafeInteger(x.keys)) c.fail('chunks', 'must be {key, sha256, bytes, rawBytes, keys}');
    chunkKeys += x.keys as number;
  }
  if (digestKeys !== o.keys || chunkKeys !== o.keys) c.fail('keys', `is ${String(o.keys)} but the slot digests count ${digestKeys} and the chunks ${chunkKeys}`);
  return o as unknown as ShardManifest;
}

export function parseClusterManifest(text: string | Buffer, where: string): ClusterManifest {
  const o = parseJson(text, where);
  const c = checker(where, o);
  if (o.formatVersion !== BACKUP_FORMAT_VERSION) c.fail('formatVersion', `${JSON.stringify(o.formatVersion)} is not supported (this version reads ${BACKUP_FORMAT_VERSION})`);
  c.str('backupId'); c.str('cluster'); c.str('startedAt'); c.str('finishedAt'); c.int('keys'); c.int('bytes');
  try {
    parseClusterMap(o.map);
  } catch (err) {
    c.fail('map', `is not a valid cluster map (${(err as Error).message})`);
  }
  const shards = c.arr('shards');
  if (shards.length === 0) c.fail('shards', 'must not be empty');
  for (const s of shards) {
    const x = s as Obj;
    if (typeof s !== 'object' || s === null || typeof x.shard !== 'string' || typeof x.manifest !== 'string' || typeof x.sha256 !== 'string'
      || !HEX64.test(x.sha256) || !Number.isSafeInteger(x.keys) || !Number.isSafeInteger(x.bytes)) c.fail('shards', 'must be {shard, manifest, sha256, keys, bytes}');
  }
  return o as unknown as ClusterManifest;
}
