/** The client's pool limit: at most maxInFlight commands at once, at most maxWaiting queued behind them. */
import { PoolExhaustedError } from './errors.js';
import type { PoolOptions } from './options.js';

export class PoolLimiter {
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly opts: PoolOptions) {
    if (!(opts.maxInFlight >= 1) || !(opts.maxWaiting >= 0)) throw new RangeError(`bad pool options: maxInFlight ${opts.maxInFlight} (>= 1), maxWaiting ${opts.maxWaiting} (>= 0)`);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.opts.maxInFlight) {
      if (this.waiters.length >= this.opts.maxWaiting) throw new PoolExhaustedError(this.inFlight, this.waiters.length);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    } else {
      this.inFlight += 1;
    }
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter (inFlight unchanged) or free it.
      const next = this.waiters.shift();
      if (next !== undefined) next();
      else this.inFlight -= 1;
    }
  }

  stats(): { inFlight: number; waiting: number } {
    return { inFlight: this.inFlight, waiting: this.waiters.length };
  }
}
