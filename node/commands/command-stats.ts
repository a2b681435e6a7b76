/**
 * INFO commandstats and latencystats: per-command calls, total µs, failed
 * and rejected calls (Redis 7's cmdstat_<name> line), and a log-bucketed
 * latency histogram (about 1% resolution, like Redis's 2-significant-digit
 * HDR histogram) for the p50/p99/p99.9 of latency_percentiles_usec_<name>.
 * Keyed by full command name ("get", "config|get"). Pure bookkeeping.
 */

/** Bucket growth factor: a reported percentile is within ~1% of the true value. */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);

export interface CommandStat {
  calls: number;
  usec: number;
  failed: number;
  rejected: number;
  /** bucket index -> count; bucket i holds durations in (GROWTH^(i-1), GROWTH^i] µs, index 0 holds <= 1 µs. */
  readonly histogram: Map<number, number>;
}

function bucketOf(us: number): number {
  return us <= 1 ? 0 : Math.ceil(Math.log(us) / LOG_GROWTH);
}

export class CommandStats {
  private readonly byName = new Map<string, CommandStat>();

  private stat(name: string): CommandStat {
    let s = this.byName.get(name);
    if (s === undefined) {
      s = { calls: 0, usec: 0, failed: 0, rejected: 0, histogram: new Map() };
      this.byName.set(name, s);
    }
    return s;
  }

  /** A command that ran (its handler was called); `failed`: it answered an error. */
  recordCall(name: string, durationUs: number, failed: boolean): void {
    const s = this.stat(name);
    s.calls++;
    s.usec += durationUs;
    if (failed) s.failed++;
    const b = bucketOf(durationUs);
    s.histogram.set(b, (s.histogram.get(b) ?? 0) + 1);
  }

  /** A command refused before it ran (arity, NOAUTH, routing): Redis's rejected_calls. */
  recordRejected(name: string): void {
    this.stat(name).rejected++;
  }

  reset(): void {
    this.byName.clear();
  }

  /** cmdstat_<name> fields, as INFO commandstats lists them. */
  commandstats(): Array<[string, string]> {
    return [...this.byName].map(([name, s]): [string, string] => [`cmdstat_${name}`,
      `calls=${s.calls},usec=${Math.round(s.usec)},usec_per_call=${(s.calls === 0 ? 0 : s.usec / s.calls).toFixed(2)}`
      + `,rejected_calls=${s.rejected},failed_calls=${s.failed}`]);
  }

  /** latency_percentiles_usec_<name> fields (commands that ran at least once). */
  latencystats(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [name, s] of this.byName) {
      if (s.calls === 0) continue;
      const p = percentiles(s.histogram, s.calls, [50, 99, 99.9]);
      out.push([`latency_percentiles_usec_${name}`, `p50=${p[0]!.toFixed(3)},p99=${p[1]!.toFixed(3)},p99.9=${p[2]!.toFixed(3)}`]);
    }
    return out;
  }
}

/** The upper bound (µs) of the bucket holding each percentile. */
export function percentiles(histogram: ReadonlyMap<number, number>, total: number, ps: readonly number[]): number[] {
  const buckets = [...histogram].sort((a, b) => a[0] - b[0]);
  return ps.map((p) => {
    const rank = Math.max(1, Math.ceil((p / 100) * total));
    let seen = 0;
    for (const [b, n] of buckets) {
      seen += n;
      if (seen >= rank) return b === 0 ? 1 : GROWTH ** b;
    }
    return 0;
  });
}
