/**
 * What the dashboard charts per node, from two scrapes of its `/metrics`:
 * commands per second (redis_commands_total), mean command latency over the
 * interval (redis_commands_duration_seconds sum/count) and resident memory
 * (prom-client's process_resident_memory_bytes under the node's
 * `irisdb_process_` prefix). Pure.
 */
import { sumOf, type PromSample } from './prom-text.js';

/** One scrape, reduced to the totals the charts need. */
export interface NodeCounters {
  readonly at: number;
  readonly commands: number;
  readonly durationSum: number;
  readonly durationCount: number;
  readonly memoryBytes: number | null;
}

/** One chart point: rates over the interval since the previous scrape. */
export interface NodePoint {
  readonly at: number;
  readonly opsPerSec: number;
  /** Mean latency of the commands run in the interval (null: none ran). */
  readonly latencyMs: number | null;
  readonly memoryBytes: number | null;
}

export const METRIC_NAMES = {
  commands: 'redis_commands_total',
  durationSum: 'redis_commands_duration_seconds_sum',
  durationCount: 'redis_commands_duration_seconds_count',
  memory: 'irisdb_process_process_resident_memory_bytes',
} as const;

export function countersOf(samples: readonly PromSample[], at: number): NodeCounters {
  return {
    at,
    commands: sumOf(samples, METRIC_NAMES.commands) ?? 0,
    durationSum: sumOf(samples, METRIC_NAMES.durationSum) ?? 0,
    durationCount: sumOf(samples, METRIC_NAMES.durationCount) ?? 0,
    memoryBytes: sumOf(samples, METRIC_NAMES.memory),
  };
}

/**
 * The point between two scrapes; null when there is no interval to measure
 * (same instant) or a counter went backwards (the node restarted: the next
 * pair measures again).
 */
export function pointBetween(prev: NodeCounters, next: NodeCounters): NodePoint | null {
  const seconds = (next.at - prev.at) / 1000;
  if (seconds <= 0) return null;
  const commands = next.commands - prev.commands;
  const count = next.durationCount - prev.durationCount;
  const sum = next.durationSum - prev.durationSum;
  if (commands < 0 || count < 0 || sum < 0) return null;
  return {
    at: next.at,
    opsPerSec: commands / seconds,
    latencyMs: count === 0 ? null : (sum / count) * 1000,
    memoryBytes: next.memoryBytes,
  };
}
