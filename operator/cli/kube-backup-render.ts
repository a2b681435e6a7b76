/**
 * Text for `irisctl --kube CLUSTER backup`: the IrisBackup objects of a
 * cluster as a table, one described, a progress line while one runs, and
 * the rows of `backup list --json`. From the objects' status as the
 * operator writes it (operator/kube/backup/backup-plan.ts). Pure.
 */
import { isScheduled } from '../kube/backup/backup-plan.js';
import { DEFAULT_RETENTION, type ClusterBackupSpec, type IrisBackup } from '../kube/backup/iris-backup.js';
import { bar } from './render-progress.js';
import { formatBytes, formatCount, oneLine, table, truncate } from './text.js';

/** One IrisBackup as `backup list --json` shows it. */
export interface KubeBackupRow {
  readonly name: string;
  readonly phase: string;
  readonly backupId: string | null;
  readonly scheduled: boolean;
  readonly created: string | null;
  readonly startTime: string | null;
  readonly completionTime: string | null;
  readonly shardsDone: number | null;
  readonly shardsTotal: number | null;
  readonly keys: number | null;
  readonly bytes: number | null;
  readonly destination: string | null;
  readonly message: string | null;
}

/** Before the operator's first pass an object has no status: it is waiting to start. */
const phaseOf = (b: IrisBackup): string => b.status?.phase ?? 'Pending';

export function backupRow(b: IrisBackup): KubeBackupRow {
  const s = b.status ?? {};
  const created = b.metadata.creationTimestamp;
  return {
    name: b.metadata.name ?? '', phase: phaseOf(b), backupId: s.backupId ?? null, scheduled: isScheduled(b),
    created: created === undefined ? null : typeof created === 'string' ? created : new Date(created).toISOString(),
    startTime: s.startTime ?? null, completionTime: s.completionTime ?? null,
    shardsDone: s.shardsDone ?? null, shardsTotal: s.shardsTotal ?? null, keys: s.keys ?? null, bytes: s.bytes ?? null,
    destination: s.destination ?? null, message: s.message ?? null,
  };
}

/** Oldest first, as `kubectl get` would not: by creation, then name. */
export function sortBackups(objects: readonly IrisBackup[]): IrisBackup[] {
  const created = (b: IrisBackup): string => backupRow(b).created ?? '';
  return [...objects].sort((a, b) => created(a).localeCompare(created(b)) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

const dash = (v: string | null): string => (v === null || v === '' ? '-' : v);

export function renderKubeBackupList(objects: readonly IrisBackup[], cluster: string, schedule: ClusterBackupSpec | null): string {
  const lines: string[] = [];
  if (objects.length === 0) lines.push(`no IrisBackup objects for ${cluster} (irisctl --kube ${cluster} backup create makes one)`);
  else {
    const rows = [['NAME', 'PHASE', 'BACKUP ID', 'SCHEDULED', 'STARTED', 'COMPLETED', 'SHARDS', 'KEYS', 'SIZE']];
    for (const r of sortBackups(objects).map(backupRow)) {
      rows.push([
        r.name, r.phase, dash(r.backupId), r.scheduled ? 'yes' : 'no', dash(r.startTime), dash(r.completionTime),
        r.shardsTotal === null ? '-' : `${r.shardsDone ?? 0}/${r.shardsTotal}`, r.keys === null ? '-' : formatCount(r.keys), r.bytes === null ? '-' : formatBytes(r.bytes),
      ]);
    }
    lines.push(...table(rows));
  }
  lines.push(schedule === null ? 'schedule: none (spec.backup is unset)' : `schedule: "${schedule.schedule}" (spec.backup), keeping ${schedule.retention ?? DEFAULT_RETENTION} scheduled backups`);
  return `${lines.join('\n')}\n`;
}

export function renderKubeBackup(b: IrisBackup, namespace: string): string {
  const r = backupRow(b);
  const took = r.startTime !== null && r.completionTime !== null ? ` (${((Date.parse(r.completionTime) - Date.parse(r.startTime)) / 1000).toFixed(0)} s)` : '';
  const dest = b.spec.destination;
  const asked = dest?.s3 !== undefined ? `s3://${dest.s3.bucket}${dest.s3.prefix !== undefined ? `/${dest.s3.prefix}` : ''}${dest.s3.endpoint !== undefined ? ` (endpoint ${dest.s3.endpoint})` : ''}`
    : dest?.pvc !== undefined ? `pvc ${dest.pvc.claimName}${dest.pvc.path !== undefined ? `:${dest.pvc.path}` : ''}` : "the cluster's spec.backup.destination";
  const lines = [
    `IrisBackup ${namespace}/${r.name}: ${r.phase}${r.message !== null && r.message !== '' ? ` (${oneLine(r.message)})` : ''}`,
    `  cluster:     ${b.spec.cluster}${r.scheduled ? ' (scheduled by spec.backup; retention deletes it with its backup)' : ''}`,
    `  backup id:   ${dash(r.backupId)}`,
    `  destination: ${r.destination ?? asked}`,
    `  created:     ${dash(r.created)}`,
    `  started:     ${dash(r.startTime)}`,
    `  completed:   ${dash(r.completionTime)}${took}`,
    `  shards:      ${r.shardsTotal === null ? '-' : `${r.shardsDone ?? 0}/${r.shardsTotal} stored and verified`}`,
    `  totals:      ${r.keys === null ? '-' : `${formatCount(r.keys)} keys, ${formatBytes(r.bytes ?? 0)}`}`,
    ...(b.spec.maxBytesPerSecond !== undefined ? [`  max rate:    ${formatBytes(b.spec.maxBytesPerSecond)}/s per node`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** One progress line: a bar by shards on a terminal (fits `width`), else the phase and shards, which change at stage granularity. */
export function renderKubeBackupProgress(b: IrisBackup, tty: boolean, width: number): string {
  const r = backupRow(b);
  const shards = r.shardsTotal === null ? '' : `: shards ${r.shardsDone ?? 0}/${r.shardsTotal}`;
  const head = `${r.name}${r.backupId !== null ? ` (${r.backupId})` : ''} ${r.phase}${shards}`;
  if (!tty) return head;
  const f = r.phase === 'Completed' ? 1 : r.shardsTotal !== null && r.shardsTotal > 0 ? (r.shardsDone ?? 0) / r.shardsTotal : 0;
  const counters = r.keys === null ? '' : ` · ${formatCount(r.keys)} keys · ${formatBytes(r.bytes ?? 0)} written`;
  return truncate(`${bar(f, 20)} ${head}${counters}`, Math.max(1, width - 1));
}
