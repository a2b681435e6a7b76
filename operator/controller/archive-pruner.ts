/**
 * Deletes archived log segments no complete backup in the destination can
 * use any more (decision: core/archive-retention.ts), after each read of
 * the recoverability window. Each round starts from the destination itself
 * (its listing and the manifests of its complete backups), so a controller
 * that dies mid-way simply decides again; segments go lowest first, and the
 * decision holds for any prefix of them. Nothing is deleted while a backup
 * is being taken (its snapshot sequence is not in the destination yet).
 */
import type { Logger } from '../../common/logger.js';
import type { BackupDestination } from '../../common/backup/destination.js';
import { parseSegmentKey } from '../../common/backup/segment.js';
import { readClusterManifest, readShardManifests } from '../../node/backup/restore.js';
import { archiveRetention, type ArchivedSegment, type KeptBackup } from '../core/archive-retention.js';

export interface ArchivePruneResult {
  readonly deleted: number;
  readonly kept: number;
}

export class ArchivePruner {
  /** Snapshot sequences per shard of each backup read (manifests never change). */
  private readonly seqs = new Map<string, ReadonlyMap<string, number>>();
  /** Segments deleted since the start (status, tests). */
  deletedTotal = 0;

  constructor(private readonly logger: Logger, private readonly backupRunning: () => boolean = () => false) {}

  async prune(dest: BackupDestination): Promise<ArchivePruneResult | null> {
    if (this.backupRunning()) return null;
    const objects = await dest.list('');
    const segments: ArchivedSegment[] = [];
    const backupIds: string[] = [];
    for (const o of objects) {
      const n = parseSegmentKey(o.key);
      if (n !== null) segments.push({ ...n, key: o.key });
      else if (/^[^/]+\/manifest\.json$/.test(o.key)) backupIds.push(o.key.slice(0, o.key.indexOf('/')));
    }
    if (segments.length === 0) return { deleted: 0, kept: 0 };
    const kept: KeptBackup[] = [];
    for (const id of backupIds) kept.push({ id, shardSeqs: await this.shardSeqs(dest, id) });
    // A backup that completed while we read: its manifest was not listed, it only raises the floor.
    if (this.backupRunning()) return null;
    let deleted = 0;
    let keptCount = 0;
    for (const shard of archiveRetention(segments, kept)) {
      keptCount += shard.kept;
      for (const key of shard.delete) {
        await dest.delete(key);
        deleted++;
        this.deletedTotal++;
      }
      if (shard.delete.length > 0) {
        this.logger.info('archive segments deleted: no kept backup needs them', { shard: shard.shard, deleted: shard.delete.length, first: shard.delete[0], last: shard.delete.at(-1), kept: shard.kept });
      }
      if (shard.held !== null) this.logger.debug('archive retention held back', { shard: shard.shard, why: shard.held });
    }
    return { deleted, kept: keptCount };
  }

  private async shardSeqs(dest: BackupDestination, id: string): Promise<ReadonlyMap<string, number>> {
    const known = this.seqs.get(id);
    if (known !== undefined) return known;
    const manifests = await readShardManifests(dest, await readClusterManifest(dest, id));
    const seqs = new Map(manifests.map((m) => [m.shard, m.endSeq]));
    this.seqs.set(id, seqs);
    return seqs;
  }
}
