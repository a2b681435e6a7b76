/**
 * One source shard's archived log as a stream of records (the planned
 * segments fetched one ahead, verified, and cut to their planned sequence
 * range), and the rule that merges the shards' streams for a
 * point-in-time replay: the record committed first goes first. A key is
 * only ever written by the shard owning its slot at that moment, and a
 * slot migration's write fence orders the old owner's last write before
 * the new owner's first, so commit-time order across shards replays every
 * key's client writes in the order they were acknowledged (docs/backup.md).
 */
import type { BackupDestination } from '../../common/backup/destination.js';
import { decodeSegment, SegmentFormatError, type SegmentRecord } from '../../common/backup/segment.js';
import type { PlannedSegment } from '../../common/backup/segment-plan.js';
import { getObject, RestoreError } from './restore.js';

/**
 * Which stream's head goes next: the smallest commit time, the lowest index
 * on a tie (null: that stream is exhausted). -1 when all are. Pure.
 */
export function earliestHead(heads: ReadonlyArray<number | null>): number {
  let best = -1;
  for (let i = 0; i < heads.length; i++) {
    const t = heads[i];
    if (t === null || t === undefined) continue;
    if (best === -1 || t < heads[best]!) best = i;
  }
  return best;
}

export class ShardLogStream {
  private records: readonly SegmentRecord[] = [];
  private at = 0;
  private segmentIndex = -1;
  private next: Promise<Buffer> | null;
  /** Segments fully read so far. */
  segmentsDone = 0;
  private stopped = false;

  constructor(private readonly dest: BackupDestination, readonly shard: string, readonly plan: readonly PlannedSegment[]) {
    this.next = plan.length > 0 ? getObject(dest, plan[0]!.key) : null;
    this.next?.catch(() => undefined);
  }

  /** The planned range of the segment the head record is from. */
  get segment(): PlannedSegment {
    return this.plan[this.segmentIndex]!;
  }

  /** The current record (null once exhausted or stopped); loads the next segment when needed. */
  async head(): Promise<SegmentRecord | null> {
    for (;;) {
      if (this.stopped) return null;
      if (this.at < this.records.length) return this.records[this.at]!;
      if (this.next === null) return null;
      await this.loadNext();
    }
  }

  /** Moves past the head record; true when that ended a segment. */
  advance(): boolean {
    this.at++;
    if (this.at < this.records.length) return false;
    this.segmentsDone++;
    return true;
  }

  /** Stops the stream (the point in time is reached); the prefetch is awaited so nothing is left dangling. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.next?.catch(() => undefined);
    this.next = null;
  }

  private async loadNext(): Promise<void> {
    const i = this.segmentIndex + 1;
    const p = this.plan[i]!;
    const object = `${this.dest.description}/${p.key}`;
    const body = await this.next!;
    this.next = i + 1 < this.plan.length ? getObject(this.dest, this.plan[i + 1]!.key) : null;
    this.next?.catch(() => undefined);
    let seg;
    try {
      seg = decodeSegment(body, object);
    } catch (err) {
      if (err instanceof SegmentFormatError) throw new RestoreError(object, err.problem);
      throw err;
    }
    this.segmentIndex = i;
    this.records = seg.records.filter((r) => !(r.lastSeq < p.fromSeq || r.firstSeq > p.toSeq));
    this.at = 0;
    if (this.records.length === 0) this.segmentsDone++;
  }

  /** The object name of the current segment, for errors. */
  objectName(): string {
    return `${this.dest.description}/${this.segment.key}`;
  }
}
