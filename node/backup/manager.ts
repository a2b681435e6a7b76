/**
 * The node's backup jobs: at most one at a time, kept in memory by id (the
 * controller re-drives a job a restarted node no longer knows). A job reads
 * the shard this node serves from its installed cluster map (slots, map
 * epoch) and its replication epoch, so a replica and its primary produce the
 * same shard backup.
 */
import type { Logger } from '../../common/logger.js';
import type { SlotRange } from '../../common/cluster-map.js';
import type { BackupJobRequest, BackupJobStatus } from '../../common/backup/admin.js';
import { openJobDestination, type JobDestination } from './job-destination.js';
import type { BackupMetrics } from './metrics.js';
import { runShardBackup, type ShardBackupProgress } from './shard-backup.js';
import type { KeyringSource } from '../crypto/keyring-store.js';

export interface BackupNodeDeps {
  readonly nodeName: string;
  readonly dbFile: string;
  /** The write journal: commits its batch before a snapshot is read (docs/operations.md). */
  readonly commitNow?: () => void;
  /** Nice value of the snapshot-reading thread (--backup-nice). */
  readonly niceness?: number;
  /** CPU budget of the snapshot process, percent of one core (--backup-cpu-percent). */
  readonly cpuPercent?: number;
  /** The shard this node belongs to in its installed map, or null without a map. */
  shard(): { readonly id: string; readonly slots: readonly SlotRange[]; readonly mapEpoch: number } | null;
  shardEpoch(): number;
  /** A full resync is loading: the data is incomplete. */
  loading(): boolean;
  readonly logger: Logger;
  readonly now: () => number;
  readonly metrics?: BackupMetrics;
  /** Encryption at rest: backup chunks are sealed with the active key (null/absent: off). */
  readonly encryption?: KeyringSource | null;
  /** --s3-credentials-dir: S3 credentials read from files for each request when the request carries none ('' or absent: the AWS_* environment). */
  readonly s3CredentialsDir?: string;
}

export class BackupRefused extends Error {
  constructor(readonly reason: 'busy' | 'no_map' | 'loading' | 'bad_destination', message: string) {
    super(message);
    this.name = 'BackupRefused';
  }
}

interface Job {
  readonly id: string;
  readonly shard: string;
  state: BackupJobStatus['state'];
  readonly progress: ShardBackupProgress;
  manifest: BackupJobStatus['manifest'];
  error: string | null;
}

const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
const KEEP_FINISHED = 20;

export class BackupManager {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly deps: BackupNodeDeps) {}

  start(req: BackupJobRequest): BackupJobStatus {
    const known = this.jobs.get(req.id);
    if (known !== undefined) return view(known);
    const running = [...this.jobs.values()].find((j) => j.state === 'running');
    if (running !== undefined) throw new BackupRefused('busy', `backup ${running.id} is still running on this node`);
    if (this.deps.loading()) throw new BackupRefused('loading', 'this node is loading a full resync: its data is incomplete');
    const shard = this.deps.shard();
    if (shard === null) throw new BackupRefused('no_map', 'this node has no cluster map yet: it does not know which slots it serves');
    // The request's own fields only: the snapshot process opens the same destination from it.
    const { credentialsProvider: _p, ...s3 } = req.destination.s3 ?? {};
    const chunkDestination: JobDestination = { url: req.destination.url, s3, s3CredentialsDir: this.deps.s3CredentialsDir ?? '' };
    let destination;
    try {
      destination = openJobDestination(chunkDestination);
    } catch (err) {
      throw new BackupRefused('bad_destination', (err as Error).message);
    }
    const job: Job = {
      id: req.id, shard: shard.id, state: 'running', manifest: null, error: null,
      progress: { seq: null, keysTotal: 0, keysDone: 0, bytes: 0, chunks: 0 },
    };
    this.jobs.set(req.id, job);
    this.trim();
    const dest = destination;
    const m = this.deps.metrics;
    m?.running.set(1);
    this.deps.logger.info('backup started', { backup: req.id, shard: shard.id, destination: dest.description });
    void runShardBackup({
      backupId: req.id, cluster: req.cluster, shard: shard.id, node: this.deps.nodeName, slots: shard.slots,
      mapEpoch: shard.mapEpoch, shardEpoch: this.deps.shardEpoch(), dbFile: this.deps.dbFile, commitNow: this.deps.commitNow,
      compression: req.compression ?? 'gzip', chunkBytes: req.chunkBytes ?? DEFAULT_CHUNK_BYTES, maxBytesPerSecond: req.maxBytesPerSecond ?? null,
      niceness: this.deps.niceness, cpuPercent: this.deps.cpuPercent,
      destination: dest, chunkDestination, now: this.deps.now, keyring: this.deps.encryption?.current ?? null,
    }, job.progress).then((r) => {
      job.manifest = { key: r.key, sha256: r.sha256 };
      job.state = 'completed';
      m?.runs.inc({ result: 'completed' });
      m?.keys.inc(r.manifest.keys);
      m?.bytes.inc(r.manifest.bytes);
      m?.lastSuccess.set(this.deps.now() / 1000);
      this.deps.logger.info('backup finished', { backup: req.id, shard: shard.id, niceness: job.progress.niceness ?? null, snapshotCpu: r.manifest.snapshotCpu ?? null, keys: r.manifest.keys, bytes: r.manifest.bytes, seq: r.manifest.endSeq });
    }, (err: unknown) => {
      job.error = `${dest.description}: ${(err as Error).message ?? String(err)}`;
      job.state = 'failed';
      m?.runs.inc({ result: 'failed' });
      this.deps.logger.warn('backup failed', { backup: req.id, shard: shard.id, err: job.error });
    }).finally(() => {
      m?.running.set(0);
      dest.close();
    });
    return view(job);
  }

  get(id: string): BackupJobStatus | null {
    const j = this.jobs.get(id);
    return j === undefined ? null : view(j);
  }

  private trim(): void {
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= KEEP_FINISHED) break;
      if (j.state !== 'running') this.jobs.delete(id);
    }
  }
}

function view(j: Job): BackupJobStatus {
  return {
    id: j.id, state: j.state, shard: j.shard, seq: j.progress.seq, keysTotal: j.progress.keysTotal, keysDone: j.progress.keysDone,
    bytes: j.progress.bytes, chunks: j.progress.chunks, manifest: j.manifest, error: j.error,
  };
}
