/** Text for `irisctl backup`: the list, one backup described, a progress line. Pure. */
import type { BackupRecord } from '../core/backup-state.js';
import { bar } from './render-progress.js';
import { formatBytes, formatCount, oneLine, table, truncate } from './text.js';

function totals(b: BackupRecord): { keys: number; keysTotal: number; bytes: number; done: number } {
  return b.shards.reduce((t, s) => ({ keys: t.keys + s.keys, keysTotal: t.keysTotal + s.keysTotal, bytes: t.bytes + s.bytes, done: t.done + (s.state === 'done' ? 1 : 0) }), { keys: 0, keysTotal: 0, bytes: 0, done: 0 });
}

export function renderBackupList(backups: readonly BackupRecord[]): string {
  if (backups.length === 0) return 'no backups (irisctl backup create --destination URL makes one)\n';
  const rows = [['ID', 'PHASE', 'STARTED', 'SHARDS', 'KEYS', 'SIZE', 'DESTINATION']];
  for (const b of backups) {
    const t = totals(b);
    rows.push([b.id, b.phase, new Date(b.startedAt).toISOString(), `${t.done}/${b.shards.length}`, formatCount(t.keys), formatBytes(t.bytes), b.destination.url]);
  }
  return `${table(rows).join('\n')}\n`;
}

export function renderBackup(b: BackupRecord): string {
  const t = totals(b);
  const lines = [
    `backup ${b.id}: ${b.phase}${b.message !== null ? ` (${oneLine(b.message)})` : ''}`,
    `  destination: ${b.destination.url}${b.destination.kind === 's3' && b.destination.s3.endpoint !== undefined ? ` (endpoint ${b.destination.s3.endpoint})` : ''}`,
    `  started:     ${new Date(b.startedAt).toISOString()}${b.finishedAt !== null ? `, finished ${new Date(b.finishedAt).toISOString()} (${((b.finishedAt - b.startedAt) / 1000).toFixed(1)} s)` : ''}`,
    `  map epoch:   ${b.map.epoch}; compression ${b.compression}`,
    `  totals:      ${formatCount(t.keys)} keys, ${formatBytes(t.bytes)}`,
    '',
    ...table([
      ['SHARD', 'STATE', 'NODE', 'SEQ', 'KEYS', 'SIZE', 'ATTEMPTS', 'LAST ERROR'],
      ...b.shards.map((s) => [s.shard, s.state, s.node ?? '-', s.seq === null ? '-' : String(s.seq), formatCount(s.keys), formatBytes(s.bytes), String(s.attempts), s.lastError === null ? '' : oneLine(s.lastError)]),
    ], '  '),
  ];
  return `${lines.join('\n')}\n`;
}

/** One progress line: a bar on a terminal (fits `width`), plain counters otherwise. */
export function renderBackupProgress(b: BackupRecord, tty: boolean, width: number): string {
  const t = totals(b);
  const f = t.keysTotal > 0 ? Math.min(1, t.keys / t.keysTotal) : t.done / Math.max(1, b.shards.length);
  const text = `${b.id} ${b.phase}: shards ${t.done}/${b.shards.length} · ${formatCount(t.keys)} keys read · ${formatBytes(t.bytes)} written`;
  return tty ? truncate(`${bar(b.phase === 'Completed' ? 1 : f, 20)} ${text}`, Math.max(1, width - 1)) : `${b.id} ${b.phase}: shards ${t.done}/${b.shards.length}`;
}
