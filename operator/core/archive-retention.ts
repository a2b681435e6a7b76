/**
 * Retention of the log archive (docs/backup.md): which archived segments no
 * complete backup in the destination can ever use. A point-in-time restore
 * starts from a backup and replays each shard's segments from that shard's
 * snapshot sequence on (common/backup/segment-plan.ts planReplay), so a
 * segment whose last sequence is at or below the snapshot sequence of every
 * kept backup of its shard is replayed by none of them. Pure.
 *
 * Conservative on purpose: a shard that some kept backup lacks (added by a
 * rescale after it), or whose replay plan fails (a gap), keeps everything;
 * no complete backup: nothing is deleted; a shard's newest segment always
 * stays (the archivers continue after it). And since planReplay lets a newer
 * epoch's first segment cut an older epoch's, the replay plan of every kept
 * backup is recomputed without the segments about to go and must be
 * unchanged, after each deletion that changes an epoch's first segment: so
 * any prefix of the returned order (a crash mid-way) is as safe as all of it.
 */
import { planReplay, type PlannedSegment } from '../../common/backup/segment-plan.js';
import type { SegmentName } from '../../common/backup/segment.js';

export type ArchivedSegment = SegmentName & { readonly key: string };

export interface KeptBackup {
  readonly id: string;
  /** Per shard of the backup: its snapshot sequence (the shard manifest's endSeq). */
  readonly shardSeqs: ReadonlyMap<string, number>;
}

export interface ShardRetention {
  readonly shard: string;
  /** Segment keys to delete, in this order (lowest sequences first). */
  readonly delete: readonly string[];
  /** Segments kept. */
  readonly kept: number;
  /** Why nothing (or less) could go, for the log; null when the rule alone decided. */
  readonly held: string | null;
}

/** The segments of each shard that no kept backup needs, per shard (at most `maxPerShard` each). */
export function archiveRetention(segments: readonly ArchivedSegment[], kept: readonly KeptBackup[], maxPerShard = 1000): ShardRetention[] {
  const byShard = new Map<string, ArchivedSegment[]>();
  for (const s of segments) byShard.set(s.shard, [...(byShard.get(s.shard) ?? []), s]);
  const out: ShardRetention[] = [];
  for (const [shard, segs] of [...byShard].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.push(shardRetention(shard, segs, kept, maxPerShard));
  }
  return out;
}

function shardRetention(shard: string, segs: readonly ArchivedSegment[], kept: readonly KeptBackup[], maxPerShard: number): ShardRetention {
  const keepAll = (held: string): ShardRetention => ({ shard, delete: [], kept: segs.length, held });
  if (kept.length === 0) return keepAll('no complete backup in the destination');
  const starts: number[] = [];
  for (const b of kept) {
    const seq = b.shardSeqs.get(shard);
    if (seq === undefined) return keepAll(`backup ${b.id} has no snapshot of ${shard}`);
    starts.push(seq + 1);
  }
  const before = plansOf(shard, segs, starts);
  if (before === null) return keepAll('a kept backup\'s replay of this shard has a gap');
  const floor = Math.min(...starts) - 1;
  const needed = new Set(before.flat().map((p) => p.key));
  // The shard's newest segment stays whatever the backups say: it is where a primary's archiver continues from.
  const newest = segs.reduce((a, b) => (b.lastSeq > a.lastSeq || (b.lastSeq === a.lastSeq && b.epoch > a.epoch) ? b : a));
  const candidates = segs
    .filter((s) => s.lastSeq <= floor && !needed.has(s.key) && s.key !== newest.key)
    .sort((a, b) => a.lastSeq - b.lastSeq || a.firstSeq - b.firstSeq || a.epoch - b.epoch)
    .slice(0, maxPerShard);
  const remaining = new Map(segs.map((s) => [s.key, s]));
  const order: string[] = [];
  let held: string | null = null;
  for (const c of candidates) {
    const firstOfEpoch = ![...remaining.values()].some((s) => s.epoch === c.epoch && s.key !== c.key && s.firstSeq <= c.firstSeq);
    remaining.delete(c.key);
    if (firstOfEpoch && !samePlans(before, plansOf(shard, [...remaining.values()], starts))) {
      held = `deleting ${c.key} would change what a kept backup replays`;
      break;
    }
    order.push(c.key);
  }
  return { shard, delete: order, kept: segs.length - order.length, held };
}

function plansOf(shard: string, segs: readonly ArchivedSegment[], starts: readonly number[]): PlannedSegment[][] | null {
  try {
    return starts.map((start) => planReplay(shard, segs, start));
  } catch {
    return null;
  }
}

function samePlans(a: PlannedSegment[][], b: PlannedSegment[][] | null): boolean {
  return b !== null && JSON.stringify(a) === JSON.stringify(b);
}
