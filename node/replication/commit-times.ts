/**
 * When recent commits happened, by sequence: a replica's lag in
 * milliseconds is how long the oldest commit it has not acknowledged has
 * waited. Bounded; pure apart from the clock it is given.
 */

/** Commit times remembered for lag in milliseconds. */
const COMMIT_TIMES_MAX = 100_000;

export class CommitTimes {
  private readonly seqs: number[] = [];
  private readonly times: number[] = [];

  constructor(private readonly now: () => number) {}

  /** A commit ending at `lastSeq` happened now. */
  record(lastSeq: number): void {
    this.seqs.push(lastSeq);
    this.times.push(this.now());
    if (this.seqs.length > COMMIT_TIMES_MAX) {
      this.seqs.splice(0, COMMIT_TIMES_MAX / 10);
      this.times.splice(0, COMMIT_TIMES_MAX / 10);
    }
  }

  /** How long the oldest commit above `acked` has waited. */
  lagMs(acked: number): number {
    const seqs = this.seqs;
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqs[mid]! > acked) hi = mid;
      else lo = mid + 1;
    }
    if (lo >= seqs.length) return 0;
    return Math.round(this.now() - this.times[lo]!);
  }
}
