/**
 * The source primary's runner of one migration: executes the steps
 * nextStep() chooses (plan.ts), persisting each stage before it acts. One
 * attempt = one connection to the target: MigrateBegin → Ready, then the
 * data (copy.ts: the snapshot rows of the slots and every committed write
 * to them since; progress in source-progress.ts), then the fence
 * (source-fence.ts) and the flip. Whenever the flip's outcome is unknown
 * the fence stays up until the target says whether it flipped
 * (flip-outcome.ts). Stops and aborts reach the loop through run-signals.ts.
 */
import { performance } from 'node:perf_hooks';
import { rangesToSlots, type ClusterMap } from '../../common/cluster-map.js';
import { FrameType, encodeJsonFrame } from '../replication/frames.js';
import { deleteSlotKeys, ownedHere } from './cleaner.js';
import { MigrationConn, type PeerBusAddress } from './conn.js';
import { CopyStream } from './copy.js';
import type { MigrationDeps } from './deps.js';
import { askUntilAnswered, busAddressIn, installOrVerify } from './flip-outcome.js';
import { parseFlipped, parseReady } from './messages.js';
import {
  MAX_FLIP_FAILURES, MigrationError, SlotSet, advance, checkSource, nextStep, ownsAll, type MigrationEvent, type Observations,
} from './plan.js';
import { RunSignals } from './run-signals.js';
import { SourceFence } from './source-fence.js';
import { PROGRESS_LOG_MS, SourceProgress } from './source-progress.js';
import { SlotSnapshot } from './snapshot.js';
import type { MigrationRecord, MigrationStatus } from '../../common/migration.js';

const CONNECT_TIMEOUT_MS = 5000;
/** The target deletes what an earlier attempt left before it answers Ready. */
const PREPARE_TIMEOUT_MS = 120_000;
/** No acknowledgement for this long while data is in flight: the attempt fails. */
const STALL_TIMEOUT_MS = 60_000;
/**
 * After the flip the source waits this long before deleting its copy: the
 * clients redirected by MOVED refresh their slot maps meanwhile, and their
 * redirects are not queued behind the first batches of deletes (which wait
 * for this node's replicas).
 */
const CLEANUP_GRACE_MS = 1000;

export interface SourceHost {
  readonly deps: MigrationDeps;
  /** Replaces the record in the list and persists it durably. */
  save(rec: MigrationRecord): void;
  /** Replaces the record and notes it in the current write turn (progress counters). */
  note(rec: MigrationRecord): void;
}

export class SourceRun {
  private task: Promise<void> | null = null;
  private stopReason: string | null = null;
  private stopIfRolledBack = false;
  private readonly signals = new RunSignals();
  private readonly slotSet: SlotSet;
  private readonly fence: SourceFence;
  private readonly progress: SourceProgress;

  // ---- the current attempt ----
  private conn: MigrationConn | null = null;
  private targetAddr: PeerBusAddress | null = null;
  private unsubscribe: (() => void) | null = null;
  /** The attempt's data stream, while copying (null before Ready and after the attempt ends). */
  private copy: CopyStream | null = null;
  private flipSent = false;
  private failure: Error | null = null;

  constructor(private readonly host: SourceHost, public rec: MigrationRecord) {
    this.slotSet = new SlotSet(rec.slots);
    this.fence = new SourceFence(host.deps, rec.id, rec.slots);
    this.progress = new SourceProgress(host.deps);
  }

  /** The slots are fenced by this process (set at the fence step, or at startup for stage fence). */
  get fenced(): boolean {
    return this.fence.up;
  }

  set fenced(up: boolean) {
    this.fence.up = up;
  }

  get running(): boolean {
    return this.task !== null;
  }

  status(): MigrationStatus {
    const r = this.rec;
    return {
      id: r.id, slots: r.slots, source: r.source, target: r.target, targetShard: r.targetShard, stage: r.stage, running: this.running,
      attempt: r.attempt, keysCopied: r.keysCopied, bytesCopied: r.bytesCopied, entriesForwarded: r.entriesForwarded, keysDeleted: r.keysDeleted,
      backlogBytes: this.backlogBytes, startedAt: r.startedAt, updatedAt: r.updatedAt, error: r.error,
    };
  }

  get backlogBytes(): number {
    return this.copy?.backlogBytes ?? 0;
  }

  /**
   * Starts working on the migration unless already running.
   * stopIfRolledBack: stop (waiting for resume) when the target says an
   * interrupted flip did not happen, instead of starting a new attempt.
   */
  start(opts: { stopIfRolledBack?: boolean } = {}): void {
    if (this.task !== null) return;
    this.stopIfRolledBack = opts.stopIfRolledBack === true;
    this.stopReason = null;
    this.failure = null;
    this.task = this.loop().finally(() => {
      this.task = null;
    });
  }

  /** Stops at the next step boundary (the fence, if up and unresolved, stays up); resolves when stopped. */
  async stop(reason: string): Promise<void> {
    this.stopReason = reason;
    this.conn?.close(reason);
    this.signals.stopping();
    await this.task;
  }

  /**
   * Operator abort while the run is at the fence: the run asks the target
   * at once and ends aborted unless the target flipped. Resolves when the
   * run has decided (or after timeoutMs).
   */
  async abortAtFence(timeoutMs: number): Promise<void> {
    this.signals.requestAbort();
    const deadline = Date.now() + timeoutMs;
    while (this.rec.stage === 'fence' && this.task !== null && Date.now() < deadline) {
      await Promise.race([this.task, new Promise((r) => setTimeout(r, 50))]);
    }
  }

  // ---- the loop -----------------------------------------------------------------

  private observe(): Observations {
    const c = this.copy;
    return {
      session: c !== null && this.conn !== null && !this.conn.closed,
      rowsSent: c?.rowsSent ?? false,
      backlogEntries: c?.backlogEntries ?? 0,
      backlogBytes: c?.backlogBytes ?? 0,
      unackedBytes: c?.unackedBytes ?? 0,
      flipSent: this.flipSent,
    };
  }

  private async loop(): Promise<void> {
    const d = this.host.deps;
    try {
      for (;;) {
        if (this.stopReason !== null) throw new MigrationError('interrupted', this.stopReason);
        if (this.failure !== null) throw this.failure;
        // The attempt's connection died (its close may not have been reported yet): stop, do not start another by itself.
        if (this.copy !== null && (this.conn === null || this.conn.closed)) {
          throw new MigrationError('connection', `connection to the target ${this.rec.target} lost: ${this.conn?.closeReason ?? 'closed'}`);
        }
        const action = nextStep(this.rec, this.observe());
        switch (action.do) {
          case 'prepare':
            await this.prepare();
            break;
          case 'wait':
            await this.waitForProgress();
            break;
          case 'fence':
            await this.fenceAndFlip();
            break;
          case 'resolve':
            await this.resolve();
            break;
          case 'flip':
            this.flipHere();
            break;
          case 'cleanup':
            await this.cleanup();
            break;
          case 'finished':
            return;
        }
      }
    } catch (err) {
      this.endAttempt();
      const e = err as Error;
      const shutdown = this.stopReason !== null;
      if (!shutdown) {
        d.logger.warn('slot migration stopped', { id: this.rec.id, stage: this.rec.stage, err: e.message });
        this.rec = { ...this.rec, error: e.message, updatedAt: d.now() };
        try {
          this.host.save(this.rec);
        } catch (saveErr) {
          d.logger.error('could not persist the migration error', { id: this.rec.id, err: (saveErr as Error).message });
        }
      }
    }
  }

  private apply(ev: MigrationEvent, patch: Partial<MigrationRecord> = {}): void {
    this.rec = { ...advance(this.rec, ev, this.host.deps.now()), ...patch };
    this.host.save(this.rec);
  }

  // ---- prepare and copy ------------------------------------------------------------

  private async prepare(): Promise<void> {
    const d = this.host.deps;
    if (this.rec.flipFailures >= MAX_FLIP_FAILURES) {
      throw new MigrationError('target_refused', `the flip did not succeed ${this.rec.flipFailures} times in a row (last: ${this.rec.error ?? 'unknown'}); resume to try again`);
    }
    if (d.replication.role() !== 'primary') throw new MigrationError('not_owner', `${d.name} is not a primary`);
    const map = d.cluster.map;
    const { sourceShard, target } = checkSource(map, d.name, this.rec.slots, this.rec.targetShard);
    if (sourceShard !== this.rec.sourceShard) throw new MigrationError('not_owner', `the slots now belong to shard ${sourceShard}, not ${this.rec.sourceShard}`);
    this.endAttempt();
    this.apply({ type: 'prepare', mapEpoch: map!.epoch, target: target.name });
    this.targetAddr = target;
    const conn = await MigrationConn.connect(target, { secret: d.token, name: d.name, tls: d.busTls }, CONNECT_TIMEOUT_MS);
    this.conn = conn;
    const r = this.rec;
    conn.send(encodeJsonFrame(FrameType.MigrateBegin, {
      v: 1, id: r.id, attempt: r.attempt, slots: r.slots, source: d.name, sourceShard: r.sourceShard, targetShard: r.targetShard, mapEpoch: r.mapEpoch,
    }));
    const ready = parseReady((await conn.next([FrameType.MigrateReady], PREPARE_TIMEOUT_MS, 'MigrateBegin')).body);
    if (ready.id !== r.id || ready.attempt !== r.attempt) throw new MigrationError('target_refused', `the target answered for ${ready.id}#${ready.attempt}, not ${r.id}#${r.attempt}`);
    if (this.stopReason !== null) throw new MigrationError('interrupted', this.stopReason);
    this.apply({ type: 'ready' });
    // Subscribe first, then open the snapshot (same turn): every write after the snapshot's sequence is forwarded.
    this.unsubscribe = d.subscribeCommitted((batches) => this.copy?.committed(batches));
    d.commitNow?.(); // the write journal's batch: the snapshot must hold every write already forwarded as committed
    const copy = new CopyStream(conn, new SlotSnapshot(d.dbFile, r.slots, d.now()), this.slotSet, {
      sent: (n) => {
        this.rec = this.progress.sent(this.rec, n);
        this.noteProgress();
      },
      changed: () => this.signals.wakeUp(),
      failed: (err) => this.asyncFail(err),
      lateWrite: (count) => d.logger.error('a write to a migrating slot committed after the flip was sent: it will not reach the target', { id: r.id, writes: count }),
      rowsDone: () => d.logger.info('slot migration: every row sent; forwarding writes', { id: r.id, keys: this.rec.keysCopied, backlogBytes: this.backlogBytes }),
    });
    this.copy = copy;
    conn.onClose((reason) => {
      if (this.copy === copy && !this.flipSent) this.asyncFail(new MigrationError('connection', `connection to the target ${target.name} lost: ${reason}`));
    });
    d.logger.info('slot migration copying', { id: r.id, attempt: r.attempt, target: target.name, keys: copy.totalKeys, seq: copy.seq, cleared: ready.cleared });
  }

  /** Waits for an acknowledgement, more writes or the progress timer; fails a stalled attempt. */
  private async waitForProgress(): Promise<void> {
    if (this.failure !== null) return;
    await this.signals.waitForWake(PROGRESS_LOG_MS);
    const now = performance.now();
    if (this.host.deps.replication.role() !== 'primary') {
      throw new MigrationError('not_owner', `${this.host.deps.name} stopped being a primary while copying: abort this migration and start it from the new primary`);
    }
    const copy = this.copy;
    if (copy !== null && copy.unackedBytes > 0 && now - copy.lastAckAt > STALL_TIMEOUT_MS) {
      throw new MigrationError('connection', `the target acknowledged nothing for ${STALL_TIMEOUT_MS / 1000} s`);
    }
    this.progress.log(this.rec, copy, now);
  }

  private asyncFail(err: Error): void {
    this.failure ??= err;
    this.signals.wakeUp();
  }

  /** Progress counters join the current write turn about once a second (not synced on their own). */
  private noteProgress(): void {
    if (!this.progress.noteDue()) return;
    this.rec = { ...this.rec, updatedAt: this.host.deps.now() };
    this.host.note(this.rec);
  }

  // ---- fence and flip -------------------------------------------------------------------

  private async fenceAndFlip(): Promise<void> {
    const d = this.host.deps;
    const conn = this.conn!;
    const copy = this.copy!;
    this.apply({ type: 'fence' });
    this.fence.raise();
    d.logger.info('slot migration: write fence up', { id: this.rec.id, attempt: this.rec.attempt, backlogBytes: copy.backlogBytes, unackedBytes: copy.unackedBytes });
    try {
      if (d.options.testFenceHoldMs > 0) await this.signals.sleepUnlessStopped(d.options.testFenceHoldMs); // TEST ONLY
      if (this.stopReason !== null) throw new MigrationError('interrupted', this.stopReason);
      if (this.signals.abortRequested) throw new MigrationError('interrupted', 'abort requested');
      if (this.failure !== null) throw this.failure;
      // Every write that ran before the fence commits now, and so reaches the backlog.
      const t0 = performance.now();
      d.commits.flushNow();
      const lastSeq = d.keyspace.lastSeq;
      copy.finish();
      this.fence.flushMs = performance.now() - t0;
      const r = this.rec;
      conn.send(encodeJsonFrame(FrameType.MigrateFlip, { id: r.id, attempt: r.attempt, lastSeq, frames: copy.sentFrames, mapEpoch: r.mapEpoch }));
      this.flipSent = true;
      const t1 = performance.now();
      const answer = await this.signals.untilAbortRequested(conn.next([FrameType.MigrateFlipped], d.options.fenceTimeoutMs, 'MigrateFlip'));
      this.fence.flipRttMs = performance.now() - t1;
      const msg = parseFlipped(answer.body);
      if (msg.id !== r.id || msg.attempt !== r.attempt) throw new MigrationError('target_refused', `flip answered for ${msg.id}#${msg.attempt}`);
      this.flipped(msg.map);
    } catch (err) {
      if (this.rec.stage !== 'fence') throw err;
      d.logger.warn('slot migration: the flip was not confirmed; asking the target whether it flipped (writes to the slots wait)', { id: this.rec.id, err: (err as Error).message });
      this.flipSent = false;
      this.endAttempt();
    }
  }

  /** Fenced and unsure whether the target flipped: ask it (it aborts the attempt unless flipped) until it answers. */
  private async resolve(): Promise<void> {
    const d = this.host.deps;
    if (!this.fence.up) this.fence.raise();
    const { addr, outcome } = await askUntilAnswered({
      msg: { id: this.rec.id, attempt: this.rec.attempt, source: d.name },
      creds: { secret: d.token, name: d.name, tls: d.busTls },
      address: () => this.targetAddress(),
      checkStopped: () => {
        if (this.stopReason !== null) throw new MigrationError('interrupted', this.stopReason);
      },
      sleep: (ms) => this.signals.sleepUnlessStopped(ms),
      unreachable: (target, tries, err) => {
        if (tries === 1 || tries % 10 === 0) {
          d.logger.warn('slot migration: cannot reach the target to learn whether it flipped; the fence stays up', { id: this.rec.id, target: target.name, tries, err: err.message });
        }
        this.rec = { ...this.rec, error: `fenced: cannot reach the target ${target.name} to learn whether it flipped (${err.message})` };
      },
    });
    if (outcome.state === 'flipped') {
      this.flipped(outcome.map!);
      return;
    }
    this.fence.lift('rolled_back');
    const reason = `the target ${addr.name} did not flip attempt ${this.rec.attempt}; the attempt was rolled back`;
    this.apply({ type: 'not_flipped', reason });
    if (this.signals.abortRequested) this.apply({ type: 'aborted', reason: 'aborted by the operator' });
    d.logger.warn('slot migration: flip rolled back; writes go on on this node', { id: this.rec.id, abort: this.signals.abortRequested });
    if (this.stopIfRolledBack && this.rec.stage === 'prepare') {
      throw new MigrationError('interrupted', `${reason} after a restart; resume to migrate again, or abort`);
    }
  }

  private targetAddress(): PeerBusAddress {
    const addr = busAddressIn(this.host.deps.cluster.map, this.rec.target) ?? this.targetAddr;
    if (addr === null) throw new MigrationError('target_unknown', `the target ${this.rec.target} is not in the cluster map`);
    return addr;
  }

  /**
   * The target flipped: record its map (stage flipped), then install it
   * here. The record joins the current write turn, which the install's own
   * durable commit writes first: one sync less while writes are fenced.
   * (Should the install be skipped, an equal or newer map being there, the
   * record may be lost in a crash: stage fence on disk then asks the target
   * again, which says flipped.)
   */
  private flipped(map: ClusterMap): void {
    const r = this.rec;
    if (!(map.epoch > r.mapEpoch && ownsAll(map, r.targetShard, r.slots))) {
      throw new MigrationError('target_refused', `the target's map (epoch ${map.epoch}) does not give the slots to ${r.targetShard} above epoch ${r.mapEpoch}`);
    }
    this.rec = advance(this.rec, { type: 'flipped', map }, this.host.deps.now());
    this.host.note(this.rec);
    this.flipHere();
  }

  /** Stage flipped: install the new map, lift the fence (waiting writes now get MOVED), go on to cleanup. */
  private flipHere(): void {
    const d = this.host.deps;
    const map = this.rec.newMap!;
    installOrVerify(d, map, this.rec);
    this.fence.lift('flipped');
    this.endAttempt();
    // After the lift: a crash before this record only repeats the (idempotent) install at startup.
    this.apply({ type: 'installed' });
    d.logger.info('slot migration flipped: the target owns the slots', { id: this.rec.id, epoch: map.epoch, target: this.rec.target });
  }

  // ---- cleanup ------------------------------------------------------------------------

  private async cleanup(): Promise<void> {
    const d = this.host.deps;
    await this.signals.sleepUnlessStopped(CLEANUP_GRACE_MS);
    if (this.stopReason !== null) throw new MigrationError('interrupted', this.stopReason);
    const base = this.rec.keysDeleted;
    const deleted = await deleteSlotKeys(d.keyspace, d.commits, rangesToSlots(this.rec.slots), (slot) => !ownedHere(d.cluster, slot), () => this.stopReason !== null, (n) => {
      this.rec = { ...this.rec, keysDeleted: base + n };
      this.noteProgress();
    }, d.asMigration);
    if (this.stopReason !== null) throw new MigrationError('interrupted', this.stopReason);
    this.apply({ type: 'cleaned' }, { keysDeleted: base + deleted });
    d.logger.info('slot migration done', { id: this.rec.id, keysCopied: this.rec.keysCopied, keysDeleted: this.rec.keysDeleted });
  }

  /** Drops the current attempt's connection, subscription, snapshot and queues. */
  private endAttempt(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.copy?.close();
    this.copy = null;
    this.conn?.close('attempt ended');
    this.conn = null;
    this.flipSent = false;
    this.failure = null;
  }
}
