/**
 * Runs a long job a slice at a time so the event loop is never held for
 * long (issue #16: no stall above 50 ms): the job advances in small steps,
 * the clock is checked between steps, and once a slice has used its time
 * budget the job yields to the event loop (setImmediate: clients' commands
 * and replication frames queued meanwhile run first) before the next slice.
 * Pure scheduling: the step, the clock and the yield are injected.
 */
import { performance } from 'node:perf_hooks';

export interface SliceOptions {
  /** Time budget of one slice, ms; the slice ends at the first step boundary past it. */
  readonly sliceMs: number;
  /** Rows (or other units) per step: the clock is read once per step. */
  readonly stepSize: number;
  readonly now?: () => number;
  readonly yieldTurn?: () => Promise<void>;
  /** Called after each slice with the units done so far (progress). */
  readonly onSlice?: (doneSoFar: number) => void;
}

export interface SliceStats {
  /** Units processed in total. */
  readonly done: number;
  /** Event-loop turns the job took (yields + 1). */
  readonly slices: number;
}

/**
 * `step(max)` processes up to `max` units and returns how many it did;
 * fewer than `max` means the job is finished. Resolves once it is.
 */
export async function runInSlices(step: (max: number) => number, opts: SliceOptions): Promise<SliceStats> {
  if (!(opts.sliceMs > 0)) throw new RangeError(`sliceMs must be > 0, got ${opts.sliceMs}`);
  if (!Number.isInteger(opts.stepSize) || opts.stepSize < 1) throw new RangeError(`stepSize must be a positive integer, got ${opts.stepSize}`);
  const now = opts.now ?? (() => performance.now());
  const yieldTurn = opts.yieldTurn ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
  let done = 0;
  let slices = 0;
  for (;;) {
    slices++;
    const t0 = now();
    let finished = false;
    do {
      const n = step(opts.stepSize);
      done += n;
      if (n < opts.stepSize) finished = true;
    } while (!finished && now() - t0 < opts.sliceMs);
    opts.onSlice?.(done);
    if (finished) return { done, slices };
    await yieldTurn();
  }
}
