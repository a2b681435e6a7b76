/**
 * The recoverability window a destination offers (docs/backup.md): from
 * the finish time of its oldest complete backup to, per shard, the commit
 * time of the last archived batch. Read straight from the destination
 * (the last segment of each shard is fetched and verified).
 */
import type { BackupDestination } from '../../common/backup/destination.js';
import { ARCHIVE_PREFIX, decodeSegment, parseSegmentKey, type SegmentName } from '../../common/backup/segment.js';
import { getObject, readClusterManifest } from './restore.js';
import type { ArchiveWindow } from '../../common/backup/window.js';

export type { ArchiveWindow };
export async function archiveWindow(dest: BackupDestination): Promise<ArchiveWindow> {
  const objects = await dest.list('');
  const backups = objects.map((o) => o.key).filter((k) => /^[^/]+\/manifest\.json$/.test(k) && !k.startsWith(ARCHIVE_PREFIX)).sort();
  const oldest = backups[0]?.slice(0, backups[0].indexOf('/')) ?? null;
  const first = oldest === null ? null : (await readClusterManifest(dest, oldest)).finishedAt;
  const byShard = new Map<string, Array<SegmentName & { key: string }>>();
  for (const o of objects) {
    const n = parseSegmentKey(o.key);
    if (n !== null) byShard.set(n.shard, [...(byShard.get(n.shard) ?? []), { ...n, key: o.key }]);
  }
  const shards = [];
  for (const [shard, segs] of [...byShard].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const last = segs.reduce((a, b) => (b.lastSeq > a.lastSeq || (b.lastSeq === a.lastSeq && b.epoch > a.epoch) ? b : a));
    const seg = decodeSegment(await getObject(dest, last.key), `${dest.description}/${last.key}`);
    const t = seg.records[seg.records.length - 1]!.committedAt;
    shards.push({ shard, segments: segs.length, lastArchivedSeq: last.lastSeq, lastArchivedTime: new Date(t).toISOString() });
  }
  return { destination: dest.description, oldestBackup: oldest, firstRecoverabilityPoint: first, shards };
}

export function renderArchiveWindow(w: ArchiveWindow): string {
  const lines = [
    `destination ${w.destination}`,
    w.firstRecoverabilityPoint === null ? 'no complete backup: nothing can be restored yet' : `recoverable from ${w.firstRecoverabilityPoint} (backup ${w.oldestBackup!} finished)`,
  ];
  if (w.shards.length === 0) lines.push('no archived log (archiving is off or has not stored a segment yet)');
  for (const s of w.shards) lines.push(`${s.shard}: archived to ${s.lastArchivedTime} (seq ${s.lastArchivedSeq}, ${s.segments} segments)`);
  return `${lines.join('\n')}\n`;
}
