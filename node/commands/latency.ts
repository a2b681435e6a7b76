/**
 * The latency monitor (Redis's latency.c, the parts IrisDB can measure):
 * a command that ran for at least latency-monitor-threshold milliseconds
 * (0: monitor off) is a sample of the "command" event, or "fast-command"
 * for commands flagged fast. Each event keeps its last 160 samples, one per
 * second (the highest of that second), and its all-time maximum.
 * LATENCY LATEST / HISTORY / RESET / HELP answer as Redis 7; DOCTOR answers
 * a short text; GRAPH answers an error (no ASCII graph here).
 */
import { array, bulk, error, integer, verbatim, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { helpReply } from './client.js';

/** Redis's LATENCY_TS_LEN. */
export const LATENCY_HISTORY_LEN = 160;

export interface LatencySample {
  /** Unix seconds. */
  readonly time: number;
  /** Milliseconds. */
  readonly latency: number;
}

interface EventSeries {
  /** Oldest first, at most LATENCY_HISTORY_LEN. */
  samples: LatencySample[];
  max: number;
}

export class LatencyMonitor {
  /** Events in first-seen order (LATEST lists them so). */
  private readonly events = new Map<string, EventSeries>();

  constructor(public thresholdMs: number) {}

  /** Whether recordCommand() would keep a command of this duration (lets the caller skip reading the clock). */
  wants(durationUs: number): boolean {
    return this.thresholdMs > 0 && Math.floor(durationUs / 1000) >= this.thresholdMs;
  }

  /** Records a command's duration (µs) if the monitor is on and it reached the threshold. */
  recordCommand(durationUs: number, fast: boolean, nowMs: number): void {
    if (this.thresholdMs <= 0) return;
    const ms = Math.floor(durationUs / 1000);
    if (ms < this.thresholdMs) return;
    this.add(fast ? 'fast-command' : 'command', ms, Math.floor(nowMs / 1000));
  }

  /** latencyAddSample: one sample per second, the highest of that second. */
  add(event: string, ms: number, time: number): void {
    let series = this.events.get(event);
    if (series === undefined) {
      series = { samples: [], max: 0 };
      this.events.set(event, series);
    }
    if (ms > series.max) series.max = ms;
    const last = series.samples[series.samples.length - 1];
    if (last !== undefined && last.time === time) {
      if (ms > last.latency) series.samples[series.samples.length - 1] = { time, latency: ms };
      return;
    }
    series.samples.push({ time, latency: ms });
    if (series.samples.length > LATENCY_HISTORY_LEN) series.samples.shift();
  }

  /** [event, time of the latest sample, its latency, the all-time max] per event. */
  latest(): Array<{ event: string; time: number; latency: number; max: number }> {
    const out: Array<{ event: string; time: number; latency: number; max: number }> = [];
    for (const [event, s] of this.events) {
      const last = s.samples[s.samples.length - 1];
      if (last !== undefined) out.push({ event, time: last.time, latency: last.latency, max: s.max });
    }
    return out;
  }

  history(event: string): readonly LatencySample[] {
    return this.events.get(event)?.samples ?? [];
  }

  /** Forgets the given events (all when none given); returns how many existed. */
  reset(events: readonly string[]): number {
    if (events.length === 0) {
      const n = this.events.size;
      this.events.clear();
      return n;
    }
    let n = 0;
    for (const e of events) if (this.events.delete(e)) n++;
    return n;
  }
}

function latest(ctx: CommandContext): Reply {
  return array(ctx.server.latency.latest().map((e) => array([
    bulk(e.event), integer(e.time), integer(e.latency), integer(e.max),
  ])));
}

function history(ctx: CommandContext, argv: Buffer[]): Reply {
  return array(ctx.server.latency.history(argv[2]!.toString('latin1')).map((s) => array([integer(s.time), integer(s.latency)])));
}

function doctor(ctx: CommandContext): Reply {
  const m = ctx.server.latency;
  if (m.thresholdMs <= 0) {
    return verbatim('Latency monitoring is disabled in this IrisDB node. Use "CONFIG SET latency-monitor-threshold <milliseconds>" '
      + 'to enable it. IrisDB does not produce a latency analysis; see LATENCY LATEST and LATENCY HISTORY.\n');
  }
  const lines = m.latest().map((e) => `${e.event}: latest ${e.latency} ms at ${e.time}, max ${e.max} ms`);
  return verbatim('IrisDB does not produce a latency analysis; the events it recorded (LATENCY LATEST):\n'
    + (lines.length === 0 ? 'none\n' : lines.join('\n') + '\n'));
}

const HELP = [
  'LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DOCTOR',
  '    Return a short text listing the recorded events (IrisDB has no latency analysis).',
  'GRAPH <event>',
  '    Not supported by IrisDB (answers an error).',
  'HISTORY <event>',
  '    Return time-latency samples for the <event> class.',
  'LATEST',
  '    Return the latest latency samples for all events.',
  'RESET [<event> ...]',
  '    Reset latency data of one or more <event> classes.',
  '    (default: reset all data for all event classes)',
  'HELP',
  '    Prints this help.',
];

export const latencyCommand: CommandSpec = defineCommand('latency', undefined, [
  defineCommand('latency|latest', latest),
  defineCommand('latency|history', history),
  defineCommand('latency|reset', (ctx, argv) => integer(ctx.server.latency.reset(argv.slice(2).map((a) => a.toString('latin1'))))),
  defineCommand('latency|doctor', doctor),
  defineCommand('latency|graph', () => error('ERR LATENCY GRAPH is not supported by IrisDB: use LATENCY HISTORY <event>')),
  defineCommand('latency|help', () => helpReply(HELP)),
]);
