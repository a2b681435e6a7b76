/**
 * Point-in-time restore, step 2 (docs/backup.md): after a full backup is
 * loaded into the new primaries' data directories (restore.ts), each source
 * shard's archived log segments are replayed from the backup's end
 * sequence on, up to the last batch committed at or before the target
 * time (or to the end of the archive). Segments are verified (SHA-256 in
 * each object) and must follow each other without a gap (segment-plan.ts);
 * any failure is a RestoreError naming the object, and the caller discards
 * the directories. Every entry goes to the target shard owning its slot.
 * Keys whose TTL has passed by `now` are removed at the end.
 */
import type Database from 'better-sqlite3';
import type { BackupDestination } from '../../common/backup/destination.js';
import type { ShardManifest } from '../../common/backup/manifest.js';
import { ARCHIVE_PREFIX, parseSegmentKey, shardArchivePrefix, type SegmentName } from '../../common/backup/segment.js';
import { ArchiveGapError, planReplay, type PlannedSegment } from '../../common/backup/segment-plan.js';
import { rangesToSlots } from '../../common/cluster-map.js';
import { keySlot, SLOT_COUNT } from '../../common/slot.js';
import { openDatabase, type Db } from '../engine/database.js';
import { decodeBatch } from '../replication/batch-codec.js';
import { ValueCodec } from '../engine/codec.js';
import type { Keyring } from '../crypto/keyring.js';
import { openLogBody } from '../crypto/log-envelope.js';
import { RestoreError, type RestoreTarget } from './restore.js';
import { earliestHead, ShardLogStream } from './archive-streams.js';

export interface ReplayProgress {
  readonly shard: string;
  readonly segmentsDone: number;
  readonly segmentsTotal: number;
  readonly entries: number;
}

export interface ReplayResult {
  readonly segments: number;
  readonly entries: number;
  /** Commit time of the last replayed batch per source shard (null: nothing replayed). */
  readonly lastCommitByShard: Readonly<Record<string, number | null>>;
  /** Rows removed at the end because their TTL had passed. */
  readonly expiredRemoved: number;
}

interface TargetDb {
  readonly db: Db;
  readonly del: Database.Statement;
  readonly insert: Database.Statement;
  readonly expire: Database.Statement;
  readonly clearSlot: Database.Statement;
}

/** The segments each shard needs, planned before anything is replayed (a gap fails before any change). */
export async function planArchiveReplay(dest: BackupDestination, shards: readonly ShardManifest[]): Promise<Map<string, PlannedSegment[]>> {
  const plans = new Map<string, PlannedSegment[]>();
  for (const m of shards) {
    const names = (await dest.list(shardArchivePrefix(m.shard)))
      .map((o) => ({ key: o.key, name: parseSegmentKey(o.key) }))
      .filter((x): x is { key: string; name: SegmentName } => x.name !== null && x.name.shard === m.shard)
      .map((x) => ({ ...x.name, key: x.key }));
    plans.set(m.shard, plannedOrRestoreError(dest, () => planReplay(m.shard, names, m.endSeq + 1)));
  }
  // Shards added after the backup (a rescale moved slots to them): their whole log, from its first sequence.
  const added = new Map<string, Array<SegmentName & { key: string }>>();
  for (const o of await dest.list(ARCHIVE_PREFIX)) {
    const name = parseSegmentKey(o.key);
    if (name === null || plans.has(name.shard)) continue;
    added.set(name.shard, [...(added.get(name.shard) ?? []), { ...name, key: o.key }]);
  }
  for (const [shard, names] of [...added.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    plans.set(shard, plannedOrRestoreError(dest, () => planReplay(shard, names, 1)));
  }
  return plans;
}

function plannedOrRestoreError(dest: BackupDestination, plan: () => PlannedSegment[]): PlannedSegment[] {
  try {
    return plan();
  } catch (err) {
    if (err instanceof ArchiveGapError) throw new RestoreError(`${dest.description}/${err.next}`, err.message);
    throw err;
  }
}

export async function replayArchive(
  dest: BackupDestination, shards: readonly ShardManifest[], targets: readonly RestoreTarget[], pointInTime: number | null, now: number,
  onProgress: (p: ReplayProgress) => void = () => undefined,
  /** Encryption at rest: opens sealed batches, and the replayed values are stored encrypted with its active key. */
  keyring: Keyring | null = null,
): Promise<ReplayResult> {
  const codec = new ValueCodec('none', 0, keyring === null ? null : { current: keyring });
  const plans = await planArchiveReplay(dest, shards);
  const owner = new Int32Array(SLOT_COUNT).fill(-1);
  targets.forEach((t, i) => {
    for (const s of rangesToSlots(t.slots)) owner[s] = i;
  });
  const dbs: TargetDb[] = targets.map((t) => {
    const db = openDatabase(t.dataDir, 'batch').db;
    return {
      db,
      del: db.prepare('DELETE FROM kv WHERE key = ?'),
      insert: db.prepare('INSERT INTO kv (key, slot, flags, expires_at, version, value) VALUES (?, ?, ?, ?, ?, ?)'),
      expire: db.prepare('UPDATE kv SET expires_at = ? WHERE key = ?'),
      clearSlot: db.prepare('DELETE FROM kv WHERE slot = ?'),
    };
  });
  let entries = 0;
  let expiredRemoved = 0;
  const lastCommitByShard: Record<string, number | null> = {};
  const sources = [...plans.keys()];
  const streams = sources.map((shard) => new ShardLogStream(dest, shard, plans.get(shard)!));
  const manifests = new Map(shards.map((m) => [m.shard, m]));
  // A FLUSHALL clears the slots its shard had in the backup (a shard added since had none then).
  const slotsOf = sources.map((shard) => rangesToSlots(manifests.get(shard)?.slots ?? []));
  // A shard added since the backup: its records from before the backup began belong to an earlier life of that shard id.
  const backupBegan = Math.min(...shards.map((m) => Date.parse(m.startedAt)));
  const notBefore = sources.map((shard) => (manifests.has(shard) ? -Infinity : backupBegan));
  for (const shard of sources) lastCommitByShard[shard] = null;
  const begin = (): void => {
    for (const d of dbs) d.db.prepare('BEGIN').run();
  };
  const commit = (): void => {
    for (const d of dbs) d.db.prepare('COMMIT').run();
  };
  try {
    begin();
    try {
      // All shards' records merged in commit-time order (archive-streams.ts): a key that moved between shards gets its writes in order.
      for (;;) {
        const heads = await Promise.all(streams.map((s) => s.head()));
        const i = earliestHead(heads.map((r) => (r === null ? null : r.committedAt)));
        if (i === -1) break;
        const stream = streams[i]!;
        const r = heads[i]!;
        if (pointInTime !== null && r.committedAt > pointInTime) {
          await stream.stop();
          continue;
        }
        const p = stream.segment;
        const object = stream.objectName();
        if (r.committedAt < notBefore[i]!) {
          if (stream.advance()) onProgress({ shard: stream.shard, segmentsDone: stream.segmentsDone, segmentsTotal: stream.plan.length, entries });
          continue;
        }
        let decoded;
        try {
          decoded = decodeBatch(openLogBody(keyring, r.batch, r.firstSeq));
        } catch (err) {
          throw new RestoreError(object, `a batch does not decode (${(err as Error).message})`);
        }
        for (const { seq, m: mu, migration } of decoded) {
          if (seq < p.fromSeq || seq > p.toSeq) continue;
          entries++;
          // A migration's own writes (imported copies, cleanup deletes) restate or undo client writes replayed from their owner.
          if (migration === true) continue;
          if (mu.op === 'clear') {
            for (const s of slotsOf[i]!) if (owner[s]! >= 0) dbs[owner[s]!]!.clearSlot.run(s);
            continue;
          }
          const slot = keySlot(mu.key);
          const t = owner[slot]!;
          if (t === -1) throw new RestoreError(object, `slot ${slot} has no owner in the new cluster`);
          const d = dbs[t]!;
          if (mu.op === 'set') {
            d.del.run(mu.key);
            const stored = codec.encode(mu.value, mu.key);
            d.insert.run(mu.key, slot, codec.lastFlags, mu.expiresAt, seq, stored);
          } else if (mu.op === 'del') {
            d.del.run(mu.key);
          } else {
            d.expire.run(mu.expiresAt, mu.key);
          }
        }
        lastCommitByShard[stream.shard] = r.committedAt;
        if (stream.advance()) {
          // A segment boundary: commit what is replayed so far, keeping each transaction bounded.
          commit();
          begin();
          onProgress({ shard: stream.shard, segmentsDone: stream.segmentsDone, segmentsTotal: stream.plan.length, entries });
        }
      }
      commit();
    } catch (err) {
      for (const d of dbs) if (d.db.inTransaction) d.db.prepare('ROLLBACK').run();
      throw err;
    } finally {
      for (const s of streams) await s.stop();
    }
    // A TTL that passed while the data sat in the archive is not resurrected.
    for (const d of dbs) expiredRemoved += d.db.prepare('DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes;
    for (const d of dbs) d.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    for (const d of dbs) {
      try {
        d.db.close();
      } catch {
        // Already failing: the directories are discarded anyway.
      }
    }
  }
  return { segments: streams.reduce((n, s) => n + s.segmentsDone, 0), entries, lastCommitByShard, expiredRemoved };
}
