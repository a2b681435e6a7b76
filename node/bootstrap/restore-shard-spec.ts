/**
 * The settings of `irisdb-node --restore-from` checked and read as one
 * value: which shard of how many this node restores, the point in time.
 * Pure.
 */
import { evenSlotRanges, type SlotRange } from '../../common/cluster-map.js';

export class RestoreSettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreSettingError';
  }
}

export interface RestoreShardSpec {
  readonly from: string;
  readonly backupId: string | null;
  readonly pointInTime: number | null;
  /** This node's shard index and the new cluster's shard count. */
  readonly shard: number;
  readonly shards: number;
}

const MAX_SHARDS = 1024;

/** "i/n": shard i of n (0 ≤ i < n ≤ 1024). */
export function parseRestoreShard(text: string): { shard: number; shards: number } {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  if (m === null) throw new RestoreSettingError(`--restore-shard "${text.slice(0, 40)}" must be i/n, e.g. 0/3 (shard i of a new cluster of n shards)`);
  const shard = Number(m[1]);
  const shards = Number(m[2]);
  if (shards < 1 || shards > MAX_SHARDS || shard >= shards) throw new RestoreSettingError(`--restore-shard ${shard}/${shards}: need 0 ≤ i < n ≤ ${MAX_SHARDS}`);
  return { shard, shards };
}

/** RFC 3339 with a zone (the CRD's date-time), or empty for none. */
export function parsePointInTime(text: string): number | null {
  if (text === '') return null;
  const t = Date.parse(text);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text) || Number.isNaN(t)) {
    throw new RestoreSettingError(`--restore-point-in-time "${text.slice(0, 40)}" must be an RFC 3339 time with a zone, e.g. 2026-12-06T10:30:00Z`);
  }
  return t;
}

export function restoreShardSpec(c: { restoreFrom: string; restoreBackupId: string; restorePointInTime: string; restoreShard: string }): RestoreShardSpec {
  const { shard, shards } = parseRestoreShard(c.restoreShard === '' ? '0/1' : c.restoreShard);
  return { from: c.restoreFrom, backupId: c.restoreBackupId === '' ? null : c.restoreBackupId, pointInTime: parsePointInTime(c.restorePointInTime), shard, shards };
}

/** The slots of every shard of the new cluster (the even split its first map will publish). */
export function shardSlots(spec: Pick<RestoreShardSpec, 'shards'>): SlotRange[][] {
  return evenSlotRanges(spec.shards).map((r) => [r]);
}
