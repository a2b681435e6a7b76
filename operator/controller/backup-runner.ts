/**
 * Runs cluster backups (decisions in core/backup-step.ts): one tick at a
 * time, every node call preceded by the commit of what it is about to do,
 * so a controller that dies mid-backup resumes it from the record (a
 * restarted node's lost job is started again) or fails it; the top-level
 * manifest is written only after every shard manifest was read back and
 * matched its recorded SHA-256, and the backup is recorded Completed only
 * after that write. S3 credentials given with a request stay in this
 * process's memory, never in the record; a resumed backup uses the
 * controller's AWS_* environment.
 */
import { createHash } from 'node:crypto';
import { AdminApiError } from '../../common/admin-client.js';
import { BackupAdminClient, type BackupJobStatus } from '../../common/backup/admin.js';
import { parseDestination, publicDestination, s3OptionsFromEnv, type DestinationSpec, type S3Options } from '../../common/backup/destination-url.js';
import type { BackupDestination } from '../../common/backup/destination.js';
import {
  BACKUP_FORMAT_VERSION, backupKeys, newBackupId, parseShardManifest, type ChunkCompression, type ClusterManifest,
} from '../../common/backup/manifest.js';
import { openDestination } from '../../common/backup/open-destination.js';
import { rangesToSlots } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import type { BackupRecord, BackupShardRecord } from '../core/backup-state.js';
import { allShardsDone, chooseBackupSource, followShard, newBackupRecord, startRefused, startShard, trimBackups, type JobView } from '../core/backup-step.js';
import { ControlError } from '../control-api/types.js';
import { MAX_BACKUP_KEEP, parseCron, retentionVictims, scheduleDue } from '../core/backup-schedule.js';
import { errorText, type ControllerContext } from './context.js';

export interface BackupRequest {
  readonly destination: string;
  readonly s3?: S3Options;
  readonly compression?: ChunkCompression;
  /** Uncompressed bytes per chunk (4 KiB..64 MiB; default 4 MiB). */
  readonly chunkBytes?: number;
  /** Read pace limit per node, bytes of rows per second. */
  readonly maxBytesPerSecond?: number;
}

export type BackupDestinationOpener = (spec: DestinationSpec) => BackupDestination;

export class BackupRunner {
  /** Credentials given with a request, by backup id (memory only). */
  private readonly secrets = new Map<string, S3Options>();
  /** The backup whose manifest is being written (outside the tick: it reads every object back). */
  private finalizing: string | null = null;

  /**
   * inTurn: runs a commit in the controller's turn (Controller.exclusive), for
   * the end of a finalize, which does its destination I/O outside the tick so
   * a slow or dead destination never holds up heartbeats and failovers.
   */
  constructor(
    private readonly ctx: ControllerContext,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly open: BackupDestinationOpener = openDestination,
    private readonly inTurn: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
  ) {}

  get backups(): readonly BackupRecord[] {
    return this.ctx.state.backups ?? [];
  }

  async create(req: BackupRequest, scheduled = false): Promise<BackupRecord> {
    const state = this.ctx.state;
    if (state.map === null) throw new ControlError('unavailable', 'the cluster has no map yet (bootstrapping): nothing to back up');
    if (this.backups.some((b) => b.phase === 'Running')) throw new ControlError('conflict', `backup ${this.backups.find((b) => b.phase === 'Running')!.id} is still running`);
    // Slots moving between shards would be in two snapshots or in none.
    if (state.operation !== null) throw new ControlError('conflict', `${state.operation.reason} is under way: back up once it is done`);
    let spec: DestinationSpec;
    try {
      spec = parseDestination(req.destination, req.destination.startsWith('s3://') ? s3OptionsFromEnv(this.env, req.s3 ?? {}) : {});
    } catch (err) {
      throw new ControlError('bad_request', errorText(err));
    }
    const now = this.ctx.now();
    const id = newBackupId(now, state.nextId);
    const rec: BackupRecord = {
      ...newBackupRecord(id, publicDestination(spec), req.compression ?? 'gzip', state.map, now),
      ...(scheduled ? { scheduled: true } : {}), ...(req.chunkBytes !== undefined ? { chunkBytes: req.chunkBytes } : {}),
      ...(req.maxBytesPerSecond !== undefined ? { maxBytesPerSecond: req.maxBytesPerSecond } : {}),
    };
    if (spec.kind === 's3' && spec.s3.credentials !== undefined) this.secrets.set(id, spec.s3);
    // A scheduled run records that it fired in the same commit: a crash right after cannot fire it twice.
    const schedule = scheduled && state.backupSchedule != null ? { backupSchedule: { ...state.backupSchedule, lastRunAt: now } } : {};
    await this.ctx.commit({ ...state, nextId: state.nextId + 1, backups: trimBackups([...this.backups, rec]), ...schedule });
    this.ctx.event('Normal', 'BackupStarted', `${scheduled ? 'scheduled ' : ''}backup ${id} of ${rec.shards.length} shards to ${spec.url} started`, { backup: id });
    return rec;
  }

  get(id: string): BackupRecord {
    const b = this.backups.find((x) => x.id === id);
    if (b === undefined) throw new ControlError('not_found', `no backup ${id} (irisctl backup list shows them)`);
    return b;
  }

  /** Deletes the backup's objects from its destination, then its record. */
  async delete(id: string): Promise<{ objects: number }> {
    const b = this.get(id);
    if (b.phase === 'Running') throw new ControlError('conflict', `backup ${id} is still running`);
    const dest = this.destination(b);
    let objects = 0;
    try {
      // The top-level manifest first: from then on the backup is incomplete, never half-deleted yet "complete".
      await dest.delete(backupKeys.manifest(id));
      for (const o of await dest.list(backupKeys.dir(id))) {
        await dest.delete(o.key);
        objects++;
      }
    } finally {
      dest.close();
    }
    const state = this.ctx.state;
    await this.ctx.commit({ ...state, backups: (state.backups ?? []).filter((x) => x.id !== id) });
    this.secrets.delete(id);
    this.ctx.event('Normal', 'BackupDeleted', `backup ${id} deleted (${objects} objects)`, { backup: id });
    return { objects };
  }

  /** One tick: every running backup one step further, then the schedule and its retention. */
  async step(): Promise<void> {
    for (const b of this.backups) if (b.phase === 'Running') await this.advance(b.id);
    await this.schedule();
  }

  /** Records (or clears) the schedule; the next run is the first due after now, unless the schedule is unchanged. */
  async setSchedule(s: { cron: string; destination: string; keep: number } | null): Promise<void> {
    const state = this.ctx.state;
    if (s !== null) {
      try {
        parseCron(s.cron);
        parseDestination(s.destination);
      } catch (err) {
        throw new ControlError('bad_request', errorText(err));
      }
      if (!Number.isInteger(s.keep) || s.keep < 1 || s.keep > MAX_BACKUP_KEEP) throw new ControlError('bad_request', `backup keep must be an integer from 1 to ${MAX_BACKUP_KEEP}`);
    }
    const cur = state.backupSchedule ?? null;
    if (cur !== null && s !== null && cur.cron === s.cron && cur.destination === s.destination && cur.keep === s.keep) return;
    await this.ctx.commit({ ...state, backupSchedule: s === null ? null : { ...s, lastRunAt: this.ctx.now() } });
    this.ctx.event('Normal', 'BackupScheduleSet', s === null ? 'backup schedule removed' : `backups scheduled "${s.cron}" (UTC) to ${s.destination}, keeping ${s.keep}`);
  }

  private async schedule(): Promise<void> {
    const s = this.ctx.state.backupSchedule ?? null;
    if (s === null) return;
    for (const id of retentionVictims(this.backups, s.keep)) {
      try {
        await this.delete(id);
      } catch (err) {
        this.ctx.logger.warn('retention could not delete a backup', { backup: id, err: errorText(err) });
        break;
      }
    }
    // A run that comes due while a backup or a rescale runs waits for it.
    if (this.ctx.state.map === null || this.ctx.state.operation !== null || this.backups.some((b) => b.phase === 'Running') || !scheduleDue(s, this.ctx.now())) return;
    await this.create({ destination: s.destination }, true);
  }

  private async advance(id: string): Promise<void> {
    for (const s of this.get(id).shards) {
      if (this.get(id).phase !== 'Running') return;
      if (s.state === 'pending') await this.startShard(id, s);
      else if (s.state === 'running') await this.followShard(id, s);
    }
    const b = this.get(id);
    if (b.phase === 'Running' && allShardsDone(b) && this.finalizing === null) {
      this.finalizing = b.id;
      void this.finalize(b).finally(() => (this.finalizing = null));
    }
  }

  private async startShard(id: string, s: BackupShardRecord): Promise<void> {
    const shard = this.ctx.state.shards.find((x) => x.id === s.shard);
    const source = shard === undefined ? null : chooseBackupSource(shard, this.ctx.observations);
    const action = startShard(s, source);
    if (action.do === 'fail') return this.fail(id, action.message);
    if (action.do !== 'start') return;
    // Recorded first: a controller that dies here finds a running job to follow (or a lost one to retry).
    // seenAt stays the pending shard's own until the node accepts: startRefused measures the busy wait from it.
    await this.patchShard(id, { ...s, state: 'running', node: action.node, attempts: s.attempts + 1 });
    const b = this.get(id);
    const client = this.client(action.node);
    try {
      if (client === null) throw new Error(`node ${action.node} has no address`);
      await client.startBackup({ id, cluster: this.ctx.state.cluster, destination: { url: b.destination.url, ...(b.destination.kind === 's3' ? { s3: this.s3Options(b) } : {}) }, compression: b.compression,
        ...(b.chunkBytes !== undefined ? { chunkBytes: b.chunkBytes } : {}), ...(b.maxBytesPerSecond !== undefined ? { maxBytesPerSecond: b.maxBytesPerSecond } : {}),
      });
      const started = this.get(id).shards.find((x) => x.shard === s.shard)!;
      await this.patchShard(id, { ...started, seenAt: this.ctx.now() });
      this.ctx.event('Normal', 'BackupShardStarted', `backup ${id}: ${s.shard} snapshot on ${action.node}`, { backup: id });
    } catch (err) {
      const cur = this.get(id).shards.find((x) => x.shard === s.shard)!;
      const busy = err instanceof AdminApiError && err.status === 409 && (err.details as { reason?: unknown } | undefined)?.reason === 'busy';
      await this.patchShard(id, startRefused(cur, action.node, errorText(err), busy, this.ctx.now()));
    }
  }

  private async followShard(id: string, s: BackupShardRecord): Promise<void> {
    const view = await this.jobView(s.node, id);
    const action = followShard(s, view, this.ctx.now());
    if (action.do === 'record') {
      await this.patchShard(id, action.shard);
      if (action.shard.state === 'pending') this.ctx.event('Warning', 'BackupShardRetry', `backup ${id}: ${s.shard} snapshot is started again: ${action.shard.lastError ?? ''}`, { backup: id });
    } else if (action.do === 'fail') {
      await this.fail(id, action.message);
    }
  }

  private async jobView(node: string | null, id: string): Promise<JobView> {
    const client = node === null ? null : this.client(node);
    if (client === null) return { kind: 'unreachable', error: 'no address' };
    try {
      const status: BackupJobStatus = await client.backupStatus(id);
      return { kind: 'status', status };
    } catch (err) {
      if (err instanceof AdminApiError && err.status === 404) return { kind: 'unknown' };
      return { kind: 'unreachable', error: errorText(err) };
    }
  }

  private async finalize(b: BackupRecord): Promise<void> {
    const dest = this.destination(b);
    try {
      const shards = [];
      const owner = new Int32Array(SLOT_COUNT).fill(-1);
      for (const [si, s] of b.shards.entries()) {
        const key = s.manifest!.key;
        const text = await dest.get(key);
        const sha = createHash('sha256').update(text).digest('hex');
        if (sha !== s.manifest!.sha256) throw new Error(`${dest.description}/${key} does not match the SHA-256 its node reported`);
        const m = parseShardManifest(text, `${dest.description}/${key}`);
        // Every slot in exactly one shard snapshot: a migration that flipped mid-backup shows up here.
        for (const slot of rangesToSlots(m.slots)) {
          if (owner[slot] !== -1) throw new Error(`slot ${slot} is in the snapshots of both ${b.shards[owner[slot]!]!.shard} and ${s.shard} (slots moved during the backup); take it again`);
          owner[slot] = si;
        }
        for (const c of m.chunks) {
          const h = await dest.head(c.key);
          if (h === null || h.size !== c.bytes) throw new Error(`${dest.description}/${c.key}, listed in ${key}, is ${h === null ? 'missing' : `${h.size} bytes, not ${c.bytes}`}`);
        }
        shards.push({ shard: s.shard, manifest: key, sha256: sha, keys: m.keys, bytes: m.bytes });
      }
      const missing = owner.indexOf(-1);
      if (missing !== -1) throw new Error(`slot ${missing} is in no shard snapshot (slots moved during the backup); take it again`);
      const manifest: ClusterManifest = {
        formatVersion: BACKUP_FORMAT_VERSION, backupId: b.id, cluster: this.ctx.state.cluster, map: b.map, shards,
        keys: shards.reduce((n, s) => n + s.keys, 0), bytes: shards.reduce((n, s) => n + s.bytes, 0),
        startedAt: new Date(b.startedAt).toISOString(), finishedAt: new Date(this.ctx.now()).toISOString(),
      };
      await dest.put(backupKeys.manifest(b.id), Buffer.from(JSON.stringify(manifest, null, 1)));
      await this.inTurn(async () => {
        const now = this.ctx.now();
        await this.patch(b.id, { phase: 'Completed', finishedAt: now, updatedAt: now, message: `${manifest.keys} keys, ${manifest.bytes} bytes in ${shards.length} shards` });
      });
      this.secrets.delete(b.id);
      this.ctx.event('Normal', 'BackupCompleted', `backup ${b.id} completed: ${manifest.keys} keys, ${manifest.bytes} bytes`, { backup: b.id });
    } catch (err) {
      // The destination (or the record) failed: Failed. If even that commit fails it stays Running and a later tick finalizes again.
      await this.inTurn(() => this.fail(b.id, `finalizing: ${errorText(err)}`)).catch((e: unknown) => this.ctx.logger.error('recording a failed backup', { backup: b.id, err: errorText(e) }));
    } finally {
      dest.close();
    }
  }

  private async fail(id: string, message: string): Promise<void> {
    const now = this.ctx.now();
    await this.patch(id, { phase: 'Failed', message, finishedAt: now, updatedAt: now });
    this.secrets.delete(id);
    this.ctx.event('Warning', 'BackupFailed', `backup ${id} failed: ${message}`, { backup: id });
  }

  private async patchShard(id: string, shard: BackupShardRecord): Promise<void> {
    const b = this.get(id);
    await this.patch(id, { shards: b.shards.map((s) => (s.shard === shard.shard ? shard : s)), updatedAt: this.ctx.now() });
  }

  private async patch(id: string, patch: Partial<BackupRecord>): Promise<void> {
    const state = this.ctx.state;
    await this.ctx.commit({ ...state, backups: (state.backups ?? []).map((b) => (b.id === id ? { ...b, ...patch } : b)) });
  }

  private s3Options(b: BackupRecord): S3Options {
    if (b.destination.kind !== 's3') return {};
    return this.secrets.get(b.id) ?? s3OptionsFromEnv(this.env, b.destination.s3);
  }

  private destination(b: BackupRecord): BackupDestination {
    return this.open(b.destination.kind === 's3' ? { ...b.destination, s3: this.s3Options(b) } : b.destination);
  }

  private client(node: string): BackupAdminClient | null {
    const ep = this.ctx.endpoint(node);
    return ep === null ? null : new BackupAdminClient(ep.httpUrl, this.ctx.token, 10_000, this.ctx.nodeFetch);
  }
}
