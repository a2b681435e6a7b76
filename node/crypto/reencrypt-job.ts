/**
 * irisctl re-encrypt on one node: every stored value, and every replication
 * log batch, not sealed with the active key (older key, or in clear) is
 * re-sealed with it, a bounded batch at a time. Each batch is read and
 * rewritten synchronously (no client write can come between) in one short
 * turn of the group commit, then the job waits for that commit and yields:
 * clients keep being served. Rewrites keep each row's version and are not
 * replicated (every node re-encrypts its own files).
 *
 * The target key is kept in the meta table while the job runs, so a node
 * killed mid-way resumes the job when it starts again (resumeIfPending).
 *
 * The keyring may be reloaded with a new active key while the job runs: a
 * pass during which another key became active (even for a moment) is
 * followed by a pass under the key active then, so 'done' means every row
 * and log batch is under the key active when the job said so.
 */
import { performance } from 'node:perf_hooks';
import type { Db } from '../engine/database.js';
import type { SqliteKeyspace } from '../engine/keyspace.js';
import type { CommitScheduler } from '../engine/types.js';
import type { MetaStore } from '../engine/open.js';
import { FLAG_ENCRYPTED } from '../engine/codec.js';
import type { Logger } from '../../common/logger.js';
import type { EncryptionStatus, ReencryptProgress } from '../../common/encryption-admin.js';
import type { KeyringSource } from './keyring-store.js';
import { sealedKeyId, type Keyring } from './keyring.js';
import { logBodyKeyId, openLogBody, sealLogBody } from './log-envelope.js';
import type { EncryptionMetrics } from './metrics.js';
import { scrubOldPlaintext } from './reencrypt-scrub.js';

/** The meta row that marks a re-encryption in progress (its value: the target key id). */
export const REENCRYPT_META = 'reencrypt_target_key';
/** The meta row with the last full scan's values per key id (JSON), kept across restarts. */
export const KEY_COUNTS_META = 'encryption_values_by_key';
/** Bytes of values one batch rewrites at most (besides the row bound): keeps a batch short with large values. */
const BATCH_MAX_BYTES = 4 * 1024 * 1024;
/** A batch stops early after this long (ms), whatever its row count: bounds the event-loop pause on slow CPUs. */
const BATCH_MAX_MS = 20;
/** Log batches (each up to ~1 MiB) re-sealed per turn. */
const LOG_BATCH_ROWS = 4;
/** Passes at most: an active key still changing after these fails the job (an operator is mid-rotation; run it again after). */
const MAX_PASSES = 5;

/** The active key changed during every pass the job may run. */
export class ActiveKeyUnstableError extends Error {
  constructor(passes: number, keyId: string) {
    super(`the active encryption key kept changing during re-encryption (${passes} passes, now '${keyId}'): run irisctl re-encrypt again once the keyring is stable`);
    this.name = 'ActiveKeyUnstableError';
  }
}

export interface ReencryptDeps {
  readonly db: Db;
  readonly keyspace: Pick<SqliteKeyspace, 'rewriteStored' | 'valueCodec' | 'size' | 'storedAsGivenLoads'>;
  readonly commits: Pick<CommitScheduler, 'barrier'>;
  readonly meta: MetaStore;
  readonly keys: KeyringSource;
  /** Rows per batch (reencryptBatchKeys). */
  readonly batchRows: number;
  /** Databases up to this size are VACUUMed at the end, so no old plaintext stays in free space (reencrypt-scrub.ts). */
  readonly vacuumMaxBytes: number;
  /** Commits what the write journal holds (engine.commitNow). */
  readonly commitNow: () => void;
  readonly logger: Logger;
  readonly metrics: EncryptionMetrics;
}

type KvRow = [id: number, key: Buffer, flags: number, value: Buffer];
type LogRow = [firstSeq: number, body: Buffer];

export class ReencryptJob {
  private progress: ReencryptProgress = idle();
  private counts: Record<string, number> | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** The key the running pass re-seals to, and whether another became active (or rows were loaded as given) since the pass started. */
  private passKeyId: string | null = null;
  private passLoads = 0;
  private keyMoved = false;
  private readonly selectKv;
  private readonly updateKv;
  private readonly selectLog;
  private readonly updateLog;

  constructor(private readonly deps: ReencryptDeps) {
    this.selectKv = deps.db.prepare('SELECT id, key, flags, value FROM kv WHERE id > ? ORDER BY id LIMIT ?').raw(true);
    this.updateKv = deps.db.prepare('UPDATE kv SET flags = ?, value = ? WHERE id = ?');
    this.selectLog = deps.db.prepare('SELECT first_seq, body FROM repl_log WHERE first_seq > ? ORDER BY first_seq LIMIT ?').raw(true);
    this.updateLog = deps.db.prepare('UPDATE repl_log SET body = ? WHERE first_seq = ?');
    this.counts = storedCounts(deps.meta.get(KEY_COUNTS_META));
    if (this.counts !== null) deps.metrics.setValuesByKeyId(this.counts);
    // A reload the batches do not see (a key active for a moment between two of them, clients writing under it) still counts.
    deps.keys.onReload?.((next) => this.noteKey(next.active.id));
  }

  status(): EncryptionStatus {
    const k = this.deps.keys.current;
    return { enabled: true, activeKeyId: k.active.id, keyIds: k.ids, valuesByKeyId: this.counts, reencrypt: this.progress };
  }

  /** Key ids the last full scan found values under that `keyring` lacks (they cannot be read any more). */
  missingInUse(keyring: Keyring): Array<{ keyId: string; values: number }> {
    return Object.entries(this.counts ?? {}).filter(([id, n]) => id !== '' && n > 0 && !keyring.has(id)).map(([keyId, values]) => ({ keyId, values }));
  }

  /** Starts the job (or returns the one running). */
  start(): EncryptionStatus {
    if (this.running === null) {
      const target = this.deps.keys.current.active.id;
      this.progress = { ...idle(), state: 'running', targetKeyId: target, totalKeys: this.deps.keyspace.size(), startedAt: Date.now() };
      this.deps.logger.info('re-encryption started', { targetKeyId: target, totalKeys: this.progress.totalKeys });
      this.running = this.run().finally(() => {
        this.running = null;
      });
    }
    return this.status();
  }

  /** A job a killed node left unfinished starts again (from the beginning: finished rows are skipped fast). */
  resumeIfPending(): void {
    const pending = this.deps.meta.get(REENCRYPT_META);
    if (typeof pending === 'string' && pending !== '') {
      this.deps.logger.info('resuming the re-encryption interrupted before the node stopped', { targetKeyId: pending });
      this.start();
    }
  }

  /** Stops after the current batch (shutdown); the meta row stays so the next start resumes. */
  async close(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { deps } = this;
    let target = '';
    try {
      for (let pass = 1; ; pass++) {
        const from = target;
        target = deps.keys.current.active.id;
        // Set (to the latest target) until a pass completes: a node stopped meanwhile resumes the job.
        deps.meta.set(REENCRYPT_META, target);
        if (pass > 1) {
          if (pass > MAX_PASSES) throw new ActiveKeyUnstableError(MAX_PASSES, target);
          deps.logger.warn('the active key changed, or rows were loaded as sent (a full resync, a slot repair), during re-encryption; another pass', { from, to: target, pass });
          // Rows looked at restart from 0 (a progress bar stays within 100%); rows re-sealed keep adding up.
          this.progress = { ...this.progress, targetKeyId: target, doneKeys: 0, totalKeys: deps.keyspace.size() };
          deps.metrics.progress(this.progress);
        }
        this.passKeyId = target;
        this.passLoads = deps.keyspace.storedAsGivenLoads;
        this.keyMoved = false;
        const counts = await this.pass(target);
        if (counts === null) return;
        if (this.moved()) continue;
        if (!(await this.scrub())) return;
        if (this.moved()) continue;
        deps.meta.set(REENCRYPT_META, null);
        deps.meta.set(KEY_COUNTS_META, JSON.stringify(counts));
        await deps.commits.barrier();
        // Nothing awaits between this check and 'done': every row is under the key active when the job says done.
        // A key that moved during the scrub or this commit gets another pass (which sets the meta row again),
        // and the counts just stored no longer hold: unknown until that pass completes.
        if (this.moved()) {
          deps.meta.set(KEY_COUNTS_META, null);
          this.counts = null;
          continue;
        }
        this.counts = counts;
        deps.metrics.setValuesByKeyId(counts);
        this.progress = { ...this.progress, state: 'done', finishedAt: Date.now() };
        deps.logger.info('re-encryption finished', { targetKeyId: target, passes: pass, rewrittenKeys: this.progress.rewrittenKeys, rewrittenLogBatches: this.progress.rewrittenLogBatches, valuesByKeyId: counts });
        return;
      }
    } catch (err) {
      this.progress = { ...this.progress, state: 'failed', finishedAt: Date.now(), error: (err as Error).message };
      deps.metrics.progress(this.progress);
      deps.logger.error('re-encryption failed; run irisctl re-encrypt again once the cause is fixed', { targetKeyId: target, err: (err as Error).message });
    } finally {
      this.passKeyId = null;
    }
  }

  /**
   * One walk of the kv rows, then of the replication log, re-sealing to
   * `target`: the values per key id it leaves, or null when stopped. It
   * ends early once another key is active (the next pass redoes it all).
   */
  private async pass(target: string): Promise<Record<string, number> | null> {
    const { deps } = this;
    const counts: Record<string, number> = {};
    let afterId = 0;
    for (;;) {
      if (this.stopped) return null;
      if (this.moved()) return counts;
      const batch = this.kvBatch(target, afterId, counts);
      await deps.commits.barrier();
      this.advance(batch.seen, batch.rewritten, 0);
      if (batch.lastId === null) break;
      afterId = batch.lastId;
      await yieldTurn();
    }
    let afterSeq = -1;
    for (;;) {
      if (this.stopped) return null;
      if (this.moved()) return counts;
      const batch = this.logBatch(target, afterSeq);
      await deps.commits.barrier();
      this.advance(0, 0, batch.rewritten);
      if (batch.lastSeq === null) break;
      afterSeq = batch.lastSeq;
      await yieldTurn();
    }
    return this.stopped ? null : counts;
  }

  /**
   * Whether the pass no longer proves anything: a key other than its own
   * became active since it started (now, or for a moment in between), or
   * rows were stored as given (a resync's rows keep the primary's sealing
   * and may take ids behind the walk).
   */
  private moved(): boolean {
    this.noteKey(this.deps.keys.current.active.id);
    if (this.passKeyId !== null && this.deps.keyspace.storedAsGivenLoads !== this.passLoads) this.keyMoved = true;
    return this.keyMoved;
  }

  private noteKey(activeId: string): void {
    if (this.passKeyId !== null && activeId !== this.passKeyId) this.keyMoved = true;
  }

  /**
   * Re-seals the rows after `afterId` that are not under `target` (the
   * pass's key). Read, re-sealed and written in one synchronous step (no
   * client write or keyring reload comes between); the codec seals with the
   * active key, which pass() checked is `target`. Decryption happens before
   * the turn is touched, so a value under a missing key fails the job, never
   * the clients' writes.
   */
  private kvBatch(target: string, afterId: number, counts: Record<string, number>): { seen: number; rewritten: number; lastId: number | null } {
    const codec = this.deps.keyspace.valueCodec;
    const rows = this.selectKv.all(afterId, this.deps.batchRows) as KvRow[];
    const updates: Array<[flags: number, stored: Buffer, id: number]> = [];
    let bytes = 0;
    let seen = 0;
    const t0 = performance.now();
    let lastId: number | null = rows.length < this.deps.batchRows ? null : rows[rows.length - 1]![0];
    for (const [id, key, flags, value] of rows) {
      seen++;
      const kid = (flags & FLAG_ENCRYPTED) !== 0 ? sealedKeyId(value, `the value of row ${id}`) : '';
      if (kid !== target) {
        const stored = codec.encode(codec.decode(value, flags, key), key);
        updates.push([codec.lastFlags, stored, id]);
        bytes += value.length;
      }
      counts[target] = (counts[target] ?? 0) + 1;
      if ((bytes >= BATCH_MAX_BYTES || performance.now() - t0 > BATCH_MAX_MS) && seen < rows.length) {
        lastId = id;
        break;
      }
    }
    if (updates.length > 0) {
      this.deps.keyspace.rewriteStored(() => {
        for (const u of updates) this.updateKv.run(u[0], u[1], u[2]);
      });
    }
    return { seen, rewritten: updates.length, lastId };
  }

  /** Re-seals replication log batches after `afterSeq` that are not under `target` (same discipline as kvBatch). */
  private logBatch(target: string, afterSeq: number): { rewritten: number; lastSeq: number | null } {
    const keyring = this.deps.keys.current;
    const rows = this.selectLog.all(afterSeq, LOG_BATCH_ROWS) as LogRow[];
    const updates: Array<[body: Buffer, firstSeq: number]> = [];
    for (const [firstSeq, body] of rows) {
      if (logBodyKeyId(body, firstSeq) === target) continue;
      updates.push([sealLogBody(keyring, openLogBody(keyring, body, firstSeq), firstSeq), firstSeq]);
    }
    if (updates.length > 0) {
      this.deps.keyspace.rewriteStored(() => {
        for (const u of updates) this.updateLog.run(u[0], u[1]);
      });
    }
    return { rewritten: updates.length, lastSeq: rows.length < LOG_BATCH_ROWS ? null : rows[rows.length - 1]![0] };
  }

  /** Old plaintext out of free space and the WAL; the job is done only after it (its result is in the status). False: stopped (shutdown). */
  private async scrub(): Promise<boolean> {
    const { deps } = this;
    const r = await scrubOldPlaintext({
      db: deps.db, barrier: () => deps.commits.barrier(), commitNow: deps.commitNow, vacuumMaxBytes: deps.vacuumMaxBytes,
      stopped: () => this.stopped,
      onPhase: (phase) => {
        const { scrubPhase: _previous, ...rest } = this.progress;
        this.progress = phase === null ? rest : { ...rest, scrubPhase: phase };
      },
    });
    if (r === null) return false;
    const scrub = { clean: r.vacuumed && r.walTruncated, vacuumed: r.vacuumed, walTruncated: r.walTruncated, pauseMs: Math.round(r.pauseMs), dbBytes: r.dbBytes };
    this.progress = { ...this.progress, plaintextScrub: scrub };
    const measured = { ...scrub, vacuumMs: Math.round(r.vacuumMs), checkpointMs: Math.round(r.checkpointMs) };
    if (scrub.clean) deps.logger.info('old plaintext scrubbed from the database file and the WAL', measured);
    else deps.logger.warn('old plaintext may remain in the database file\'s free space or the WAL: the database is larger than reencryptVacuumMaxBytes, or readers kept the WAL; run irisctl re-encrypt again at a quiet moment, or raise the limit', { ...measured, vacuumMaxBytes: deps.vacuumMaxBytes });
    return true;
  }

  private advance(seen: number, rewritten: number, logBatches: number): void {
    const p = this.progress;
    this.progress = { ...p, doneKeys: p.doneKeys + seen, rewrittenKeys: p.rewrittenKeys + rewritten, rewrittenLogBatches: p.rewrittenLogBatches + logBatches };
    this.deps.metrics.progress(this.progress);
  }
}

function storedCounts(v: unknown): Record<string, number> | null {
  if (typeof v !== 'string') return null;
  try {
    const o = JSON.parse(v) as unknown;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
    return Object.fromEntries(Object.entries(o).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    return null;
  }
}

function idle(): ReencryptProgress {
  return { state: 'idle', targetKeyId: null, doneKeys: 0, totalKeys: 0, rewrittenKeys: 0, rewrittenLogBatches: 0, startedAt: null, finishedAt: null, error: null };
}

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
