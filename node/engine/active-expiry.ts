/**
 * The background expiry cycle (Redis's activeExpireCycle, by index instead of
 * sampling): every intervalMs, delete keys whose expiry has passed, oldest
 * first, in small batches, stopping at maxKeysPerCycle keys or maxCycleMs
 * (the clock is checked between batches), so the event loop is never held
 * for long. When a cycle stops with expired keys left, the next one runs
 * sooner, keeping the cycle's share of the CPU at about a quarter.
 * Freed pages are handed back to the file system a bounded step at a time.
 */
import { performance } from 'node:perf_hooks';

/** Keys per batch between clock checks: small enough to keep the time bound tight. */
const BATCH = 32;
/** The cycle runs at most 1 ms of every 4 while catching up. */
const CATCH_UP_IDLE_FACTOR = 3;

export interface ExpiryTarget {
  /** Deletes up to `limit` keys expired at `now`; returns how many. */
  expireBatch(now: number, limit: number): number;
  /** Returns a few free pages to the file system if many are free; may be a no-op. */
  reclaimPages(): void;
}

export interface ActiveExpiryOptions {
  intervalMs: number;
  maxKeysPerCycle: number;
  maxCycleMs: number;
}

export class ActiveExpiry {
  private interval: NodeJS.Timeout | null = null;
  private catchUp: NodeJS.Timeout | null = null;
  /**
   * The interval's tick: skipped while a catch-up is pending, so there is
   * only ever one chain of cycles. (A tick that ran a cycle beside a pending
   * catch-up started a second chain, one more every interval: after a second
   * of catching up, ten chains ran their cycles in the same timers phase —
   * one turn of 5,000 deletes, one huge commit, a stall of 300+ ms.)
   */
  private readonly onTick = (): void => {
    if (this.catchUp === null) this.runCycle();
  };
  private readonly onCatchUp = (): void => {
    this.catchUp = null;
    this.runCycle();
  };

  constructor(
    private readonly target: ExpiryTarget,
    private readonly opts: ActiveExpiryOptions,
    private readonly report: (count: number, seconds: number) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  get running(): boolean {
    return this.interval !== null;
  }

  start(): void {
    if (this.interval !== null) return;
    this.interval = setInterval(this.onTick, this.opts.intervalMs);
    // The cycle is housekeeping: it must never keep the process alive.
    this.interval.unref();
  }

  stop(): void {
    if (this.interval !== null) clearInterval(this.interval);
    if (this.catchUp !== null) clearTimeout(this.catchUp);
    this.interval = null;
    this.catchUp = null;
  }

  /** One cycle; returns the number of keys deleted. */
  runCycle(): number {
    const t0 = performance.now();
    const now = this.clock();
    const { maxKeysPerCycle, maxCycleMs } = this.opts;
    let deleted = 0;
    let more = false;
    try {
      for (;;) {
        const want = Math.min(BATCH, maxKeysPerCycle - deleted);
        if (want <= 0) {
          more = true;
          break;
        }
        const n = this.target.expireBatch(now, want);
        deleted += n;
        if (n < want) break;
        if (performance.now() - t0 >= maxCycleMs) {
          more = true;
          break;
        }
      }
      if (performance.now() - t0 < maxCycleMs) this.target.reclaimPages();
    } catch {
      // A failed write rolled the turn back (reported through onCommitError);
      // the keys are still there and the next cycle tries again.
      more = false;
    }
    const elapsedMs = performance.now() - t0;
    this.report(deleted, elapsedMs / 1000);
    if (more && this.interval !== null && this.catchUp === null) {
      this.catchUp = setTimeout(this.onCatchUp, Math.max(1, Math.ceil(elapsedMs * CATCH_UP_IDLE_FACTOR)));
      this.catchUp.unref();
    }
    return deleted;
  }
}
