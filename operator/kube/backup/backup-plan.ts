/**
 * What the operator does with a cluster's IrisBackup objects, given the
 * controller's backup records (operator/core/backup-state.ts): which
 * object's backup to start, which record a Pending object takes up (the
 * operator died between starting it and writing the object's status), the
 * status each object should show, the objects to create for scheduled
 * backups, and the scheduled objects whose backup retention deleted. The
 * record is the truth: an object is Completed only when its record is. Pure.
 */
import type { BackupRecord } from '../../core/backup-state.js';
import { ANNOTATION_BACKUP_ID, LABEL_SCHEDULED, type IrisBackup, type IrisBackupStatus } from './iris-backup.js';

/** How far before an object's creation a record it takes up may have started (clock skew between API server and operator). */
const ADOPT_SKEW_MS = 5_000;

export function backupIdOf(b: IrisBackup): string | null {
  return b.status?.backupId ?? b.metadata.annotations?.[ANNOTATION_BACKUP_ID] ?? null;
}

export function isScheduled(b: IrisBackup): boolean {
  return b.metadata.labels?.[LABEL_SCHEDULED] === 'true';
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The status an IrisBackup shows for its record. */
export function statusFromRecord(r: BackupRecord): IrisBackupStatus {
  const keys = r.shards.reduce((n, s) => n + s.keys, 0);
  const bytes = r.shards.reduce((n, s) => n + s.bytes, 0);
  const done = r.shards.filter((s) => s.state === 'done').length;
  const message = r.message ?? (r.phase === 'Running' ? `${done}/${r.shards.length} shards done, ${keys} keys, ${bytes} bytes written` : '');
  return {
    phase: r.phase, backupId: r.id, destination: r.destination.url, startTime: iso(r.startedAt),
    ...(r.finishedAt !== null ? { completionTime: iso(r.finishedAt) } : {}),
    message, keys, bytes, shardsDone: done, shardsTotal: r.shards.length, shards: `${done}/${r.shards.length}`,
  };
}

export interface BackupPlan {
  /** Objects whose status should change, with the new status. */
  readonly statuses: ReadonlyArray<{ readonly name: string; readonly status: IrisBackupStatus }>;
  /** The Pending object whose backup starts now (oldest first; none while a backup runs). */
  readonly start: IrisBackup | null;
  /** Scheduled records without an object: create one each. */
  readonly createFor: readonly BackupRecord[];
  /** Scheduled objects whose record is gone (retention deleted the backup): delete them. */
  readonly remove: readonly string[];
}

const created = (b: IrisBackup): number => Date.parse(String(b.metadata.creationTimestamp ?? '')) || 0;

export function planBackups(objects: readonly IrisBackup[], records: readonly BackupRecord[]): BackupPlan {
  const byId = new Map(records.map((r) => [r.id, r]));
  const claimed = new Set(objects.map(backupIdOf).filter((x): x is string => x !== null));
  const statuses: Array<{ name: string; status: IrisBackupStatus }> = [];
  const remove: string[] = [];
  const pending: IrisBackup[] = [];
  const sorted = [...objects].sort((a, b) => created(a) - created(b) || String(a.metadata.name).localeCompare(String(b.metadata.name)));
  for (const o of sorted) {
    const name = o.metadata.name ?? '';
    let id = backupIdOf(o);
    if (id === null && o.status?.phase !== 'Failed') {
      // A record started for this object whose status was never written (the operator stopped in between).
      const orphan = records.find((r) => r.scheduled !== true && !claimed.has(r.id) && r.startedAt >= created(o) - ADOPT_SKEW_MS);
      if (orphan !== undefined) {
        id = orphan.id;
        claimed.add(orphan.id);
      }
    }
    if (id === null) {
      if (o.status?.phase !== 'Failed') pending.push(o);
      if (o.status?.phase === undefined) statuses.push({ name, status: { phase: 'Pending', message: 'waiting to start' } });
      continue;
    }
    const rec = byId.get(id);
    let want: IrisBackupStatus | null;
    if (rec !== undefined) want = statusFromRecord(rec);
    else if (isScheduled(o)) {
      remove.push(name);
      want = null;
    } else if (o.status?.phase === 'Completed' || o.status?.phase === 'Failed') want = null; // finished; the record was trimmed or deleted
    else want = { ...o.status, phase: 'Failed', backupId: id, message: `the controller has no record of backup ${id} (it was deleted): it never completed` };
    if (want !== null && !sameStatus(o.status, want)) statuses.push({ name, status: want });
  }
  const running = records.some((r) => r.phase === 'Running');
  const createFor = records.filter((r) => r.scheduled === true && !claimed.has(r.id));
  return { statuses, start: running ? null : pending[0] ?? null, createFor, remove };
}

function sameStatus(a: IrisBackupStatus | undefined, b: IrisBackupStatus): boolean {
  if (a === undefined) return false;
  return (Object.keys(b) as Array<keyof IrisBackupStatus>).every((k) => a[k] === b[k]);
}

/** The name of the object for a scheduled backup: the cluster and the backup id, in DNS-label form. */
export function scheduledObjectName(cluster: string, id: string): string {
  return `${cluster}-${id}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 253);
}

/** IrisCluster status.lastBackup: the newest backup of the cluster (by start). */
export function lastBackupOf(records: readonly BackupRecord[], objects: readonly IrisBackup[]): { name: string | null; id: string; time: string; phase: string } | null {
  const newest = [...records].sort((a, b) => b.startedAt - a.startedAt)[0];
  if (newest === undefined) return null;
  const obj = objects.find((o) => backupIdOf(o) === newest.id);
  return { name: obj?.metadata.name ?? null, id: newest.id, time: iso(newest.finishedAt ?? newest.startedAt), phase: newest.phase };
}
