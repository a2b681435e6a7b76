/** How far behind the source a follower is, in time. Pure. */

/** The source's replication offset as observed at a time. */
export interface OffsetSample {
  readonly at: number;
  readonly offset: number;
}

/**
 * Seconds since the source first passed `ours`: the age of the oldest
 * change not yet applied. 0 when caught up. `samples` in time order.
 */
export function lagSeconds(samples: readonly OffsetSample[], ours: number, now: number): number {
  const first = samples.find((s) => s.offset > ours);
  return first === undefined ? 0 : Math.max(0, (now - first.at) / 1000);
}
