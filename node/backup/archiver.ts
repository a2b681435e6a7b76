/**
 * Continuous archiving of a shard's replication log (docs/backup.md): the
 * shard's primary reads its own log (batches with their write times) and
 * stores it in the backup destination as checksummed segments
 * (common/backup/segment.ts), closed when they reach a size or when their
 * oldest batch has waited long enough. Where to continue is read from the
 * destination's listing, never remembered: after a failover the new
 * primary continues after the last segment any epoch stored (or after its
 * own head, if that is lower: the newer epoch then supersedes, see
 * segment-plan.ts).
 *
 * The log is not trimmed past what the archive holds (the log's retention
 * floor) unless the archive is more than `maxBehindOps` behind: then it
 * lets go (writes are never blocked), and when the log no longer reaches
 * back to the archive it records a gap, alerts, and continues from the
 * log's oldest batch. Restores from backups older than the gap fail there.
 */
import type { Logger } from '../../common/logger.js';
import type { BackupDestination } from '../../common/backup/destination.js';
import { encodeSegment, parseSegmentKey, segmentKey, shardArchivePrefix, type SegmentName } from '../../common/backup/segment.js';
import { lastArchivedSeq } from '../../common/backup/segment-plan.js';
import type { ReplicationLog, TimedBatch } from '../replication/log.js';
import type { ArchiveLag, ArchiveMetrics } from './archive-metrics.js';
import type { KeyringSource } from '../crypto/keyring-store.js';
import { sealLogBody } from '../crypto/log-envelope.js';

export interface ArchiverDeps {
  readonly log: Pick<ReplicationLog, 'readTimedFrom' | 'firstSeq' | 'setRetentionFloor'>;
  readonly destination: BackupDestination;
  /** The shard id this node serves, or null without a map. */
  shardId(): string | null;
  isPrimary(): boolean;
  epoch(): number;
  /** Last committed sequence. */
  headSeq(): number;
  readonly segmentMs: number;
  readonly segmentBytes: number;
  /** Past this many sequences behind, the archive stops holding back log trimming. */
  readonly maxBehindOps: number;
  readonly logger: Logger;
  readonly metrics?: ArchiveMetrics;
  readonly now: () => number;
  /** Encryption at rest: each batch in a segment is sealed (log-envelope.ts); seqs and times stay readable for the window. */
  readonly keys?: KeyringSource | null;
}

const READ_ROWS = 1000;
const MAX_ROUNDS_PER_TICK = 64;

export class LogArchiver {
  /** Next sequence the archive needs (null: not known, read the listing first). */
  private next: number | null = null;
  private shard: string | null = null;
  private pending: TimedBatch[] = [];
  private pendingBytes = 0;
  private busy = false;
  private timer: NodeJS.Timeout | null = null;
  private lettingGo = false;
  private wasPrimary = false;
  private listedAt = -Infinity;

  constructor(private readonly deps: ArchiverDeps) {
    deps.log.setRetentionFloor(() => this.floor());
  }

  start(): void {
    const every = Math.max(100, Math.min(1000, this.deps.segmentMs / 4));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  /** Stops ticking; a segment being uploaded finishes. */
  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.deps.log.setRetentionFloor(null);
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    this.deps.destination.close();
  }

  /**
   * How far the archive is behind the log now (the lag gauges, at each
   * scrape). A replica archives nothing: 0. A primary that has not read the
   * listing yet counts its whole log as not archived (it does not know yet;
   * a destination it cannot list keeps it so).
   */
  lag(): ArchiveLag {
    const d = this.deps;
    const shard = d.shardId();
    if (this.timer === null || shard === null || !d.isPrimary()) return { sequences: 0, seconds: 0 };
    const head = d.headSeq();
    // Another shard's position (the map moved this node) is not this one's: unknown until the next tick lists.
    const next = (shard === this.shard ? this.next : null) ?? d.log.firstSeq() ?? head + 1;
    if (next > head) return { sequences: 0, seconds: 0 };
    // The oldest commit not archived: the first pending batch, or the log's batch holding `next` (one indexed row).
    const oldest = (shard === this.shard ? this.pending[0] : undefined) ?? d.log.readTimedFrom(next, 1).find((b) => b.lastSeq >= next);
    const now = d.now();
    const committedAt = oldest?.committedAt ?? now;
    return { sequences: head - next + 1, seconds: Math.max(0, now - committedAt) / 1000 };
  }

  /** The first sequence the archive still needs, or null when it should not hold the log back. */
  private floor(): number | null {
    // Not known yet (no listing has shown a segment): keep everything, within the same allowance.
    const next = this.next ?? 1;
    const behind = this.deps.headSeq() - next;
    if (behind >= this.deps.maxBehindOps) {
      if (!this.lettingGo) this.deps.logger.error('log archive is too far behind: letting the replication log be trimmed past it (a gap will follow)', { shard: this.shard, behind, next });
      this.lettingGo = true;
      return null;
    }
    this.lettingGo = false;
    return next;
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.step();
    } catch (err) {
      this.deps.metrics?.uploadFailures.inc();
      this.deps.logger.warn('log archiving failed; retrying', { shard: this.shard, err: (err as Error).message, destination: this.deps.destination.description });
    } finally {
      this.busy = false;
    }
  }

  private async step(): Promise<void> {
    const d = this.deps;
    const shard = d.shardId();
    const primary = d.isPrimary();
    if (shard !== this.shard || primary !== this.wasPrimary) {
      // A new role or shard: where to continue is read from the listing again.
      this.reset(shard);
      this.wasPrimary = primary;
    }
    if (shard === null) return;
    const head = d.headSeq();
    if (!primary) {
      // A replica archives nothing, but keeps the log the archive still lacks: it may be promoted.
      if (d.now() - this.listedAt < d.segmentMs) return;
      this.listedAt = d.now();
      const archived = lastArchivedSeq(await this.listSegments(shard));
      // Only forward: the archive only grows (a listing that suddenly shows less is not believed).
      if (archived > 0) this.next = Math.max(this.next ?? 0, archived + 1);
      return;
    }
    if (this.next === null) {
      const archived = lastArchivedSeq(await this.listSegments(shard));
      this.next = (archived === 0 ? (d.log.firstSeq() ?? head + 1) - 1 : Math.min(archived, head)) + 1;
      d.logger.info('log archiving continues', { shard, fromSeq: this.next, archivedUpTo: archived, epoch: d.epoch() });
    }
    // A busy primary writes more than one segment per tick: keep going while segments fill, yielding between them.
    for (let round = 0; round < MAX_ROUNDS_PER_TICK && (await this.round(shard)); round++) await new Promise((r) => setImmediate(r));
  }

  /** Reads what is new and stores a segment if one is due; true when it stored one. */
  private async round(shard: string): Promise<boolean> {
    const d = this.deps;
    if (this.next === null || !d.isPrimary() || d.shardId() !== shard || this.timer === null) return false;
    const head = d.headSeq();
    const readFrom = this.pending.length > 0 ? this.pending[this.pending.length - 1]!.lastSeq + 1 : this.next;
    // Reading stops at a full segment: a destination that is down costs at most one segment of memory.
    if (readFrom <= head && this.pendingBytes < d.segmentBytes) {
      const batches = d.log.readTimedFrom(readFrom, READ_ROWS).filter((b) => b.lastSeq >= readFrom);
      const first = batches[0];
      if (first === undefined || first.firstSeq > readFrom) {
        // What was read before the hole goes out first.
        if (this.pending.length > 0) {
          await this.upload(shard);
          return true;
        }
        this.gap(readFrom, first?.firstSeq ?? d.log.firstSeq() ?? head + 1);
        return false;
      }
      for (const b of batches) {
        this.pending.push(b);
        this.pendingBytes += b.body.length + 28;
      }
    }
    const now = d.now();
    const oldest = this.pending[0];
    const lag = oldest === undefined ? 0 : Math.max(0, now - (oldest.committedAt ?? now));
    if (oldest === undefined || (this.pendingBytes < d.segmentBytes && lag < d.segmentMs)) return false;
    await this.upload(shard);
    return true;
  }

  private async upload(shard: string): Promise<void> {
    const d = this.deps;
    const keyring = d.keys?.current ?? null;
    const records = this.pending.map((b) => ({
      firstSeq: b.firstSeq, lastSeq: b.lastSeq, committedAt: b.committedAt ?? d.now(), batch: keyring === null ? b.body : sealLogBody(keyring, b.body, b.firstSeq),
    }));
    const last = records[records.length - 1]!;
    const epoch = d.epoch();
    const body = encodeSegment({ epoch, records });
    const key = segmentKey({ shard, firstSeq: records[0]!.firstSeq, lastSeq: last.lastSeq, epoch });
    await d.destination.put(key, body);
    if (this.shard !== shard || this.next === null) return; // The role changed meanwhile: the listing decides.
    this.next = last.lastSeq + 1;
    this.pending = [];
    this.pendingBytes = 0;
    d.metrics?.segments.inc();
    d.metrics?.bytes.inc(body.length);
    d.metrics?.lastArchived.set(last.committedAt / 1000);
    d.logger.debug('log segment archived', { shard, key, batches: records.length, bytes: body.length });
  }

  private async listSegments(shard: string): Promise<SegmentName[]> {
    return (await this.deps.destination.list(shardArchivePrefix(shard))).map((o) => parseSegmentKey(o.key)).filter((n): n is SegmentName => n !== null && n.shard === shard);
  }

  private gap(missing: number, resumeAt: number): void {
    this.deps.metrics?.gaps.inc();
    this.deps.logger.error('log archive gap: the replication log no longer holds what the archive needs; restores from earlier backups stop here, take a new full backup', {
      shard: this.shard, missingFromSeq: missing, resumesAtSeq: resumeAt,
    });
    this.pending = [];
    this.pendingBytes = 0;
    this.next = resumeAt;
  }

  private reset(shard: string | null): void {
    this.shard = shard;
    this.next = null;
    this.listedAt = -Infinity;
    this.pending = [];
    this.pendingBytes = 0;
  }
}
