/**
 * Per-command counters and latency histograms, aggregated locally and pushed
 * into the prom-client metrics when they are scraped.
 *
 * Why not observe() per command: prom-client validates and hashes the label
 * set on every call (~0.7 µs for a histogram, ~0.15 µs for a counter), which
 * is a large share of a pipelined GET. Recording here is a few adds; the
 * prom-client objects are brought up to date by their collect() hook, so a
 * scrape always sees every command.
 *
 * Histogram buckets are merged into prom-client's per-label entry directly
 * (its `hashMap`/`upperBounds`, stable since v11). If that shape is ever
 * missing, the flush falls back to observe() per recorded command.
 */
import type { Histogram } from 'prom-client';
import type { NodeMetrics } from '../observability/metrics.js';
import { ByteNameMap } from '../resp/byte-name-map.js';

interface HistogramEntry {
  labels: Record<string, string | number>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

interface HistogramInternals {
  upperBounds?: unknown;
  hashMap?: unknown;
}

interface Collectable {
  collect?: () => unknown;
}

/** Cumulative numbers for one command label. */
export class CommandStat {
  calls = 0;
  failed = 0;
  /** Seconds spent executing. */
  seconds = 0;
  readonly buckets: Float64Array;
  /** What the prom-client metrics already hold. */
  flushedCalls = 0;
  flushedFailed = 0;
  flushedSeconds = 0;
  readonly flushedBuckets: Float64Array;

  constructor(readonly label: string, bucketCount: number) {
    this.buckets = new Float64Array(bucketCount + 1);
    this.flushedBuckets = new Float64Array(bucketCount + 1);
  }
}

/** Distinct raw command names remembered; beyond this commandLabel() runs each time. */
const MAX_NAMES = 1024;

export class CommandMetricsBuffer {
  /** By argv[0]'s bytes as sent: no string is made per command (byte-name-map.ts). */
  private readonly byName = new ByteNameMap<CommandStat>(MAX_NAMES);
  private readonly byLabel = new Map<string, CommandStat>();
  private readonly bounds: readonly number[];
  private readonly internals: { hashMap: Record<string, HistogramEntry> } | null;

  constructor(private readonly metrics: NodeMetrics, private readonly commandLabel: (name: string) => string) {
    const h = metrics.commandDuration as unknown as HistogramInternals;
    const bounds = Array.isArray(h.upperBounds) && h.upperBounds.every((b) => typeof b === 'number') ? (h.upperBounds as number[]) : null;
    this.bounds = bounds ?? [];
    this.internals = bounds !== null && typeof h.hashMap === 'object' && h.hashMap !== null ? (h as { hashMap: Record<string, HistogramEntry> }) : null;
    const flush = (): void => this.flush();
    for (const m of [metrics.commandsTotal, metrics.commandErrorsTotal, metrics.commandDuration] as unknown as Collectable[]) {
      const previous = m.collect;
      m.collect = previous ? () => { flush(); return previous.call(m); } : flush;
    }
  }

  /** The stat for a command as named on the wire (argv[0]'s bytes, any case). */
  lookup(name: Uint8Array): CommandStat {
    let stat = this.byName.get(name);
    if (stat !== undefined) return stat;
    const label = this.commandLabel(Buffer.from(name.buffer, name.byteOffset, name.length).toString('latin1'));
    stat = this.byLabel.get(label);
    if (stat === undefined) {
      stat = new CommandStat(label, this.bounds.length);
      this.byLabel.set(label, stat);
    }
    this.byName.set(name, stat); // refused when full or too long: commandLabel() runs each time
    return stat;
  }

  record(stat: CommandStat, seconds: number, failed: boolean): void {
    stat.calls++;
    if (failed) stat.failed++;
    stat.seconds += seconds;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    stat.buckets[i]!++;
  }

  /** Pushes everything recorded since the last flush into the prom-client metrics. */
  flush(): void {
    const { commandsTotal, commandErrorsTotal, commandDuration } = this.metrics;
    let entries: Map<string, HistogramEntry> | null = null;
    for (const s of this.byLabel.values()) {
      const calls = s.calls - s.flushedCalls;
      if (calls === 0) continue;
      const labels = { cmd: s.label };
      commandsTotal.inc(labels, calls);
      const failed = s.failed - s.flushedFailed;
      if (failed > 0) commandErrorsTotal.inc(labels, failed);
      if (this.internals !== null) {
        entries ??= this.entriesByLabel();
        let entry = entries.get(s.label);
        if (entry === undefined) {
          commandDuration.zero(labels);
          entries = this.entriesByLabel();
          entry = entries.get(s.label);
        }
        if (entry !== undefined) this.mergeInto(entry, s);
        else this.replay(commandDuration, s);
      } else {
        this.replay(commandDuration, s);
      }
      s.flushedCalls = s.calls;
      s.flushedFailed = s.failed;
      s.flushedSeconds = s.seconds;
      s.flushedBuckets.set(s.buckets);
    }
  }

  private entriesByLabel(): Map<string, HistogramEntry> {
    const out = new Map<string, HistogramEntry>();
    for (const e of Object.values(this.internals!.hashMap)) {
      if (e !== null && typeof e === 'object' && typeof e.labels?.cmd === 'string' && typeof e.bucketValues === 'object') out.set(e.labels.cmd, e);
    }
    return out;
  }

  private mergeInto(entry: HistogramEntry, s: CommandStat): void {
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      const d = s.buckets[i]! - s.flushedBuckets[i]!;
      if (d > 0) entry.bucketValues[String(b[i])] = (entry.bucketValues[String(b[i])] ?? 0) + d;
    }
    entry.count += s.calls - s.flushedCalls;
    entry.sum += s.seconds - s.flushedSeconds;
  }

  /** Fallback through the public API: one observe() per command, at its bucket's bound. */
  private replay(h: Histogram<'cmd'>, s: CommandStat): void {
    const b = this.bounds;
    for (let i = 0; i < s.buckets.length; i++) {
      const d = s.buckets[i]! - s.flushedBuckets[i]!;
      const v = i < b.length ? b[i]! : (b[b.length - 1] ?? 0) * 2;
      for (let k = 0; k < d; k++) h.observe({ cmd: s.label }, v);
    }
  }
}
