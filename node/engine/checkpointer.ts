/**
 * Runs WAL checkpoints off the event loop, in checkpoint-worker.ts. The
 * engine calls noteCommit() after each commit; a checkpoint is requested at
 * most every intervalMs and never while one is in flight.
 *
 * The worker copies pages while writes continue, so under steady load it is
 * never done at the moment a write transaction starts, and only then can the
 * log start over: it would grow without end. So once the WAL holds more than
 * restartFrames, the engine itself runs a catch-up checkpoint right after a
 * commit while the worker is idle: only the frames written since the
 * worker's last pass are left to copy (a short stall, not a full
 * checkpoint), and the next write transaction restarts the log.
 *
 * While a long reader (a backup) pins the WAL, passes that copy nothing
 * are not repeated at once (checkpoint-decision.ts).
 *
 * If the worker cannot run or fails, the engine's own connection takes over
 * (SQLite's auto-checkpoint), so the WAL stays bounded either way.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { CheckpointReply, CheckpointWorkerData } from './checkpoint-worker.js';
import { afterPass, type PassResult } from './checkpoint-decision.js';

export interface CheckpointerOptions {
  file: string;
  synchronous: 'FULL' | 'NORMAL';
  intervalMs: number;
  restartFrames: number;
  /** Most writes the engine's catch-up checkpoint may have to copy. */
  catchUpMaxWrites: number;
  /** A PASSIVE checkpoint on the engine's connection, outside any transaction. */
  catchUp(): void;
  /** Whether the engine's connection has a transaction open (one begun before a pass ends cannot start the log over). */
  inTransaction?(): boolean;
  /** The worker is gone: the caller falls back to checkpointing on its own connection. */
  onFailure(err: Error): void;
}

export class Checkpointer {
  private worker: Worker | null;
  private inFlight = false;
  private dirty = false;
  private lastRequest = 0;
  private catchUpDue = false;
  /** Writes committed since the worker's current or last pass began: frames it has not copied. */
  private writesSincePass = 0;
  /** Checkpoints completed (tests, diagnostics). */
  completed = 0;
  /** Catch-up checkpoints run on the engine's connection. */
  catchUps = 0;
  /** Passes that copied nothing because a reader pins the WAL (a backup): not followed at once by another (diagnostics). */
  stuckPasses = 0;
  private previousPass: PassResult | null = null;
  /**
   * Frames in the WAL as the last pass found them; 0 once a pass copied
   * every frame with nothing committed and no transaction open from its
   * start to its end, since the next write transaction then starts the log
   * over (one already open when the pass ended would not: SQLite restarts
   * the WAL only for a transaction whose snapshot began with every frame
   * copied).
   */
  private frames = 0;
  /** Whether the engine had a transaction open when the pass in flight was requested. */
  private txAtRequest = false;
  private readonly waiters: Array<() => void> = [];
  /** Resolves once the worker thread has exited (it may still be starting when the engine closes). */
  readonly exited: Promise<void>;

  constructor(private readonly opts: CheckpointerOptions) {
    const workerData: CheckpointWorkerData = { file: opts.file, synchronous: opts.synchronous };
    const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData });
    // Housekeeping must never keep the process alive.
    worker.unref();
    worker.on('message', (reply: CheckpointReply) => this.onReply(reply));
    worker.on('error', (err) => this.fail(err));
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('exit', (code) => {
      if (this.worker !== null) this.fail(new Error(`checkpoint worker exited with code ${code}`));
    });
    this.worker = worker;
  }

  get running(): boolean {
    return this.worker !== null;
  }

  /** WAL frames at the last pass (0: it was all copied, so the next write transaction starts the log over). */
  get walFrames(): number {
    return this.frames;
  }

  /** Called after every commit, outside any transaction: cheap unless a checkpoint is due. */
  noteCommit(writes: number): void {
    this.dirty = true;
    this.writesSincePass += writes;
    if (this.inFlight || this.worker === null) return;
    const now = performance.now();
    if (this.catchUpDue) {
      this.catchUpDue = false;
      this.lastRequest = now;
      this.catchUps++;
      this.opts.catchUp();
      return;
    }
    if (now - this.lastRequest < this.opts.intervalMs) return;
    this.request(now);
  }

  /** Requests a checkpoint now and resolves once one has completed after this call (tests). */
  checkpointNow(): Promise<void> {
    return new Promise((resolve) => {
      if (this.worker === null) return resolve();
      this.waiters.push(resolve);
      this.dirty = true;
      if (!this.inFlight) this.request(performance.now());
    });
  }

  close(): void {
    const w = this.worker;
    if (w === null) return;
    this.worker = null;
    w.postMessage('close');
    this.releaseWaiters();
  }

  private request(now: number): void {
    this.inFlight = true;
    this.writesSincePass = 0;
    this.txAtRequest = this.opts.inTransaction?.() === true;
    this.dirty = false;
    this.lastRequest = now;
    this.worker!.postMessage('checkpoint');
  }

  private onReply(reply: CheckpointReply): void {
    this.inFlight = false;
    if (!reply.ok) {
      this.fail(new Error(`WAL checkpoint failed: ${reply.error}`));
      return;
    }
    this.completed++;
    const untouched = this.writesSincePass === 0 && !this.txAtRequest && this.opts.inTransaction?.() !== true;
    this.frames = reply.checkpointed >= reply.frames && untouched ? 0 : reply.frames;
    const next = afterPass(reply, this.previousPass, this.writesSincePass, this.opts);
    this.previousPass = { frames: reply.frames, checkpointed: reply.checkpointed };
    if (next === 'idle') this.stuckPasses += reply.frames > this.opts.restartFrames ? 1 : 0;
    else if (next === 'catch-up') this.catchUpDue = true;
    else if (this.worker !== null) this.request(performance.now());
    if (this.waiters.length === 0 || this.inFlight) return; // waiters are released by the pass in flight
    // A waiter wants a pass that began after it asked: one more if anything changed meanwhile.
    if (this.dirty) this.request(performance.now());
    else this.releaseWaiters();
  }

  private releaseWaiters(): void {
    const ws = this.waiters.splice(0);
    for (const w of ws) w();
  }

  private fail(err: Error): void {
    const w = this.worker;
    if (w === null) return;
    this.worker = null;
    this.inFlight = false;
    void w.terminate();
    this.releaseWaiters();
    this.opts.onFailure(err);
  }
}
