/**
 * The recoverability window in `irisctl status` (docs/backup.md): from when
 * a point-in-time restore can start to the last archived write, per shard
 * with how far the archive is behind the primary. Pure.
 */
import type { RecoverabilityStatus } from '../core/recoverability.js';
import { oneLine, paint } from './text.js';

/** Seconds behind past which the lag shows in yellow (4 x the default --archive-segment-seconds). */
const LAG_WARN_SECONDS = 240;

export function renderRecoverability(r: RecoverabilityStatus | null | undefined, c: boolean): string[] {
  if (r === undefined || r === null) return [];
  const lines = [
    '',
    `recoverability (archive ${oneLine(r.destination)}, read ${r.readAt.slice(11, 19)})`,
    r.firstRecoverabilityPoint === null
      ? `  ${paint('no complete backup: nothing can be restored yet', 'red', c)}`
      : `  from ${r.firstRecoverabilityPoint} (backup ${oneLine(r.oldestBackup ?? '?')} finished) to ${r.lastArchivedTime ?? paint('(a shard has nothing archived yet)', 'yellow', c)}`,
  ];
  for (const s of r.shards) {
    const lag = s.lagSequences === null ? 'lag unknown'
      : s.lagSequences === 0 ? 'caught up'
      : paint(`${s.lagSequences} seqs / ${Math.round(s.lagSeconds ?? 0)} s behind`, (s.lagSeconds ?? 0) > LAG_WARN_SECONDS ? 'yellow' : 'dim', c);
    lines.push(`  ${oneLine(s.shard)}: archived to ${s.lastArchivedTime} (seq ${s.lastArchivedSeq}, ${s.segments} segments), ${lag}`);
  }
  if (r.error !== null) lines.push(`  ${paint(`reading the archive failed: ${oneLine(r.error)}`, 'red', c)}`);
  return lines;
}
