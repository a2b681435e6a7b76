/**
 * The source's write fence on the migrating slots, and where its time went:
 * the fence duration goes to the metrics and, with the flush and the flip's
 * round trip, to the log line when it lifts.
 */
import { performance } from 'node:perf_hooks';
import type { SlotRange } from '../../common/cluster-map.js';
import type { MigrationDeps } from './deps.js';
import { roundMs } from './metrics.js';

export class SourceFence {
  /** The slots are fenced by this process (set at the fence step, or at startup for stage fence). */
  up = false;
  private since = 0;
  /** Committing the writes that ran before the fence. */
  flushMs = 0;
  /** Sending the flip until the target's answer. */
  flipRttMs = 0;

  constructor(private readonly deps: MigrationDeps, private readonly id: string, private readonly slots: readonly SlotRange[]) {}

  raise(): void {
    this.deps.cluster.fence(this.slots);
    this.up = true;
    this.since = performance.now();
  }

  lift(result: 'flipped' | 'rolled_back'): void {
    if (!this.up) return;
    const d = this.deps;
    d.cluster.lift(this.slots);
    this.up = false;
    const seconds = (performance.now() - this.since) / 1000;
    d.metrics.fenceSeconds.observe({ result }, seconds);
    d.logger.info('slot migration: write fence lifted', {
      id: this.id, result, fenceMs: roundMs(seconds * 1000), flushMs: roundMs(this.flushMs), flipRoundTripMs: roundMs(this.flipRttMs),
    });
    this.flushMs = 0;
    this.flipRttMs = 0;
  }
}
