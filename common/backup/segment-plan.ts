/**
 * Which archived segments a point-in-time restore replays, and which
 * sequences of each (docs/backup.md, "Point-in-time restore"). Pure.
 *
 * After a failover the new primary (a higher epoch) archives from where
 * its own log and the archive agree, so a segment of an older epoch may
 * hold sequences the new epoch wrote again (writes the old primary
 * committed but never replicated: they were not acknowledged with
 * min-sync-replicas ≥ 1). The newer epoch wins: an older epoch's segments
 * count only below the first sequence any newer epoch archived. What is
 * left must cover every sequence from the backup's end on without a hole;
 * a hole fails the restore (never skipped).
 */
import type { SegmentName } from './segment.js';

export interface PlannedSegment {
  readonly key: string;
  /** Replay entries with fromSeq <= seq <= toSeq. */
  readonly fromSeq: number;
  readonly toSeq: number;
}

export class ArchiveGapError extends Error {
  constructor(readonly shard: string, readonly missingFrom: number, readonly after: string | null, readonly next: string) {
    super(`archive of ${shard} has no segment holding seq ${missingFrom} (${after === null ? 'the first needed' : `after ${after}`}, next is ${next}): a segment is missing`);
    this.name = 'ArchiveGapError';
  }
}

export function planReplay(shard: string, segments: ReadonlyArray<SegmentName & { readonly key: string }>, startSeq: number): PlannedSegment[] {
  // Lowest first sequence of each epoch, then for each epoch the lowest of any newer epoch.
  const firstOfEpoch = new Map<number, number>();
  for (const s of segments) firstOfEpoch.set(s.epoch, Math.min(firstOfEpoch.get(s.epoch) ?? Infinity, s.firstSeq));
  const epochs = [...firstOfEpoch.keys()].sort((a, b) => b - a);
  const cutOf = new Map<number, number>();
  let cut = Infinity;
  for (const e of epochs) {
    cutOf.set(e, cut);
    cut = Math.min(cut, firstOfEpoch.get(e)!);
  }
  const pieces = segments
    .map((s) => ({ key: s.key, from: s.firstSeq, to: Math.min(s.lastSeq, cutOf.get(s.epoch)! - 1), epoch: s.epoch }))
    .filter((p) => p.to >= p.from)
    .sort((a, b) => a.from - b.from || b.epoch - a.epoch);
  const out: PlannedSegment[] = [];
  let applied = startSeq - 1;
  let lastKey: string | null = null;
  for (const p of pieces) {
    if (p.to <= applied) continue;
    if (p.from > applied + 1) throw new ArchiveGapError(shard, applied + 1, lastKey, p.key);
    out.push({ key: p.key, fromSeq: applied + 1, toSeq: p.to });
    applied = p.to;
    lastKey = p.key;
  }
  return out;
}

/** The last sequence the archive holds for a shard (what a primary continues after), 0 when it holds none. */
export function lastArchivedSeq(segments: readonly SegmentName[]): number {
  let last = 0;
  for (const s of segments) last = Math.max(last, s.lastSeq);
  return last;
}
