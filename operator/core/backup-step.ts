/**
 * The decisions of a cluster backup (operator/controller/backup-runner.ts
 * carries them out). Per shard: choose the node (a replica whose stream to
 * the primary is online, so the primary's clients do not pay for the read;
 * the primary otherwise), start its snapshot job, follow it; a job that
 * failed, or that its node no longer knows (the node restarted), is
 * started again, up to MAX_BACKUP_ATTEMPTS; a node silent for
 * BACKUP_STALL_MS counts as a failed attempt. Once every shard's manifest
 * is recorded: finalize (write the top-level manifest). Pure.
 */
import type { ClusterMap } from '../../common/cluster-map.js';
import type { BackupJobStatus } from '../../common/backup/admin.js';
import type { DestinationSpec } from '../../common/backup/destination-url.js';
import type { ChunkCompression } from '../../common/backup/manifest.js';
import type { BackupRecord, BackupShardRecord } from './backup-state.js';
import type { NodeObservation } from './observation.js';
import type { ShardState } from './state.js';

export const MAX_BACKUP_ATTEMPTS = 3;
export const BACKUP_STALL_MS = 30_000;
/** Finished backups kept in the record (the objects stay in the destination until deleted). */
export const KEEP_BACKUP_RECORDS = 50;

export function newBackupRecord(id: string, destination: DestinationSpec, compression: ChunkCompression, map: ClusterMap, now: number): BackupRecord {
  return {
    id, destination, compression, phase: 'Running', map, message: null, startedAt: now, updatedAt: now, finishedAt: null,
    shards: map.shards.map((s) => ({
      shard: s.id, state: 'pending', node: null, attempts: 0, manifest: null, seq: null, keys: 0, keysTotal: 0, bytes: 0, lastError: null, seenAt: now,
    })),
  };
}

/** The node to read a shard's snapshot from: an online replica of the current primary, else the primary; null if neither answers. */
export function chooseBackupSource(shard: ShardState, obs: ReadonlyMap<string, NodeObservation>): string | null {
  const primary = obs.get(shard.currentPrimary)?.status ?? null;
  if (primary !== null && shard.failover === null) {
    for (const r of primary.replicas) {
      const ro = obs.get(r.name)?.status;
      if (shard.members.includes(r.name) && r.connected && r.state === 'online' && ro !== undefined && ro !== null && ro.role === 'replica' && ro.primary?.state === 'streaming') return r.name;
    }
  }
  return primary !== null && primary.role === 'primary' ? shard.currentPrimary : null;
}

/** What one shard's job looks like to the runner this tick. */
export type JobView =
  | { readonly kind: 'status'; readonly status: BackupJobStatus }
  /** The node answered 404: it does not know the job (restarted). */
  | { readonly kind: 'unknown' }
  | { readonly kind: 'unreachable'; readonly error: string };

export type ShardAction =
  | { readonly do: 'none' }
  | { readonly do: 'start'; readonly node: string }
  /** Record this and go on. */
  | { readonly do: 'record'; readonly shard: BackupShardRecord }
  | { readonly do: 'fail'; readonly message: string };

/** A pending shard: start it on `source` (null: nobody can serve it now; wait). */
export function startShard(rec: BackupShardRecord, source: string | null): ShardAction {
  if (rec.state !== 'pending') return { do: 'none' };
  if (rec.attempts >= MAX_BACKUP_ATTEMPTS) return { do: 'fail', message: `shard ${rec.shard}: ${MAX_BACKUP_ATTEMPTS} attempts failed (last: ${rec.lastError ?? 'unknown'})` };
  return source === null ? { do: 'none' } : { do: 'start', node: source };
}

/**
 * The node refused to start the shard's job. `busy`: it still runs another
 * backup's job (one at a time per node; a Failed backup's other shards run on
 * to their end): that is not this backup's failure, so it waits without
 * spending an attempt — for up to BACKUP_STALL_MS since the shard became
 * pending, then it counts, so a node whose job never ends cannot hold the
 * backup forever. Any other refusal is a failed attempt.
 */
export function startRefused(rec: BackupShardRecord, node: string, error: string, busy: boolean, now: number): BackupShardRecord {
  const pending = { ...rec, state: 'pending' as const, node: null };
  if (busy && now - rec.seenAt < BACKUP_STALL_MS) {
    return { ...pending, attempts: Math.max(0, rec.attempts - 1), lastError: `${node} is busy with another backup's job (waiting, not counted as an attempt): ${error}` };
  }
  return { ...pending, lastError: `${node}: ${error}`, seenAt: now };
}

/** A running shard, given what its node says. */
export function followShard(rec: BackupShardRecord, view: JobView, now: number): ShardAction {
  if (rec.state !== 'running') return { do: 'none' };
  const retry = (why: string): ShardAction => ({ do: 'record', shard: { ...rec, state: 'pending', node: null, lastError: why, seenAt: now } });
  if (view.kind === 'unknown') return retry(`node ${rec.node ?? '?'} no longer knows the job (it restarted)`);
  if (view.kind === 'unreachable') {
    return now - rec.seenAt >= BACKUP_STALL_MS ? retry(`node ${rec.node ?? '?'} did not answer for ${Math.round((now - rec.seenAt) / 1000)} s: ${view.error}`) : { do: 'none' };
  }
  const s = view.status;
  if (s.state === 'failed') return retry(s.error ?? 'the snapshot job failed');
  const progressed = { ...rec, seq: s.seq, keys: s.keysDone, keysTotal: s.keysTotal, bytes: s.bytes, seenAt: now };
  if (s.state === 'completed') {
    if (s.manifest === null) return retry('the node reported completion without a manifest');
    return { do: 'record', shard: { ...progressed, state: 'done', manifest: s.manifest } };
  }
  return s.keysDone !== rec.keys || s.bytes !== rec.bytes ? { do: 'record', shard: progressed } : { do: 'none' };
}

export function allShardsDone(b: BackupRecord): boolean {
  return b.shards.every((s) => s.state === 'done' && s.manifest !== null);
}

/**
 * Finished records beyond KEEP_BACKUP_RECORDS, oldest first, go from the
 * record (not from the destination). Scheduled ones are left to retention,
 * which deletes their objects with them (never orphaned objects).
 */
export function trimBackups(backups: readonly BackupRecord[]): BackupRecord[] {
  const finished = backups.filter((b) => b.phase !== 'Running' && b.scheduled !== true);
  const drop = new Set(finished.slice(0, Math.max(0, finished.length - KEEP_BACKUP_RECORDS)).map((b) => b.id));
  return backups.filter((b) => !drop.has(b.id));
}
