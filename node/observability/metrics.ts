/**
 * Prometheus metrics of one node. Names follow redis_exporter where an
 * equivalent exists (redis_commands_total, redis_connected_clients, ...), so
 * existing dashboards and alerts carry over; IrisDB-specific ones are irisdb_*.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { EngineStats } from '../engine/types.js';
import { LateTickMonitor, schedstatClock, type LateTick } from './late-tick.js';

/** The engine stats the scrape-time gauges read. */
type EngineGaugeStats = Pick<EngineStats, 'keys' | 'keysWithExpiry' | 'dbFileBytes' | 'walFileBytes' | 'cacheHits' | 'cacheMisses' | 'pageCount' | 'freelistCount'>;

export interface NodeMetrics {
  readonly registry: Registry;
  readonly commandsTotal: Counter<'cmd'>;
  readonly commandErrorsTotal: Counter<'cmd'>;
  readonly commandDuration: Histogram<'cmd'>;
  readonly connectedClients: Gauge;
  readonly connectionsReceived: Counter;
  readonly rejectedConnections: Counter<'reason'>;
  readonly protocolErrors: Counter<'reason'>;
  readonly httpRequests: Counter<'route' | 'method' | 'code'>;
  readonly httpDuration: Histogram<'route' | 'method'>;
  readonly expiredKeys: Counter;
  readonly expiryCycleDuration: Histogram;
  readonly commitDuration: Histogram;
  readonly journalBatchCommitDuration: Histogram;
  readonly committedWrites: Counter;
  readonly commitFailures: Counter;
  /** Registers the gauges read from engine stats at scrape time. */
  bindEngine(stats: () => EngineGaugeStats): void;
  /** Stops the event-loop delay monitor. */
  close(): void;
}

/**
 * irisdb_event_loop_worst_tick_seconds's values for one scrape window, seconds.
 * A window without a late tick reads 0 for every part, not the previous
 * window's CPU split; a late tick without a thread clock (not Linux) has no
 * split (null: the series is removed rather than left stale). Pure.
 */
export function worstTickParts(w: LateTick): ReadonlyArray<readonly ['delay' | 'own_cpu' | 'cpu_wait', number | null]> {
  const late = w.lateMs > 0;
  const part = (ms: number | null): number | null => (late ? (ms === null ? null : ms / 1e3) : 0);
  return [['delay', late ? w.lateMs / 1e3 : 0], ['own_cpu', part(w.ownCpuMs)], ['cpu_wait', part(w.cpuWaitMs)]];
}

const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createNodeMetrics(): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'irisdb_process_' });

  const loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  new Gauge({
    name: 'irisdb_event_loop_delay_seconds',
    help: 'Event-loop delay since the last scrape (blocking work shows up here)',
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      this.set({ quantile: '0.5' }, loopDelay.percentile(50) / 1e9);
      this.set({ quantile: '0.99' }, loopDelay.percentile(99) / 1e9);
      this.set({ quantile: '1' }, loopDelay.max / 1e9);
      loopDelay.reset();
    },
  });
  const lateTicks = new LateTickMonitor(schedstatClock());
  new Gauge({
    name: 'irisdb_event_loop_worst_tick_seconds',
    help: 'The most delayed 10 ms timer tick since the last scrape: how late it ran (delay), and the main thread\'s own CPU time and run-queue wait (cpu_wait) over it (Linux); the rest was spent blocked, e.g. in a COMMIT',
    labelNames: ['part'],
    registers: [registry],
    collect() {
      for (const [part, seconds] of worstTickParts(lateTicks.take())) {
        if (seconds === null) this.remove({ part });
        else this.set({ part }, seconds);
      }
    },
  });

  const m = {
    registry,
    commandsTotal: new Counter({ name: 'redis_commands_total', help: 'Commands processed, by command', labelNames: ['cmd'], registers: [registry] }),
    commandErrorsTotal: new Counter({ name: 'redis_commands_failed_calls_total', help: 'Commands that replied with an error, by command', labelNames: ['cmd'], registers: [registry] }),
    commandDuration: new Histogram({ name: 'redis_commands_duration_seconds', help: 'Command execution time, by command', labelNames: ['cmd'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    connectedClients: new Gauge({ name: 'redis_connected_clients', help: 'Open RESP client connections', registers: [registry] }),
    connectionsReceived: new Counter({ name: 'redis_connections_received_total', help: 'RESP connections accepted', registers: [registry] }),
    rejectedConnections: new Counter({ name: 'redis_rejected_connections_total', help: 'RESP connections refused or dropped by a limit', labelNames: ['reason'], registers: [registry] }),
    protocolErrors: new Counter({ name: 'irisdb_protocol_errors_total', help: 'Malformed RESP requests (the connection was closed)', labelNames: ['reason'], registers: [registry] }),
    httpRequests: new Counter({ name: 'irisdb_http_requests_total', help: 'HTTP requests', labelNames: ['route', 'method', 'code'], registers: [registry] }),
    httpDuration: new Histogram({ name: 'irisdb_http_request_duration_seconds', help: 'HTTP request time', labelNames: ['route', 'method'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    expiredKeys: new Counter({ name: 'redis_expired_keys_total', help: 'Keys deleted because their TTL passed (lazily or by the active cycle)', registers: [registry] }),
    expiryCycleDuration: new Histogram({ name: 'irisdb_active_expiry_cycle_seconds', help: 'Duration of each active expiry cycle', buckets: LATENCY_BUCKETS, registers: [registry] }),
    journalBatchCommitDuration: new Histogram({ name: 'irisdb_journal_batch_commit_duration_seconds', help: 'SQLite COMMIT of a batch of journaled turns, WAL sync included (on the event loop)', buckets: LATENCY_BUCKETS, registers: [registry] }),
    commitDuration: new Histogram({ name: 'irisdb_sqlite_commit_duration_seconds', help: 'SQLite group-commit time (includes fsync when fsync=always)', buckets: LATENCY_BUCKETS, registers: [registry] }),
    committedWrites: new Counter({ name: 'irisdb_committed_writes_total', help: 'Writes made durable by group commits', registers: [registry] }),
    commitFailures: new Counter({ name: 'irisdb_commit_failures_total', help: 'Group commits that failed and were rolled back', registers: [registry] }),
    bindEngine(stats: () => EngineGaugeStats) {
      new Gauge({ name: 'redis_db_keys', help: 'Keys stored', registers: [registry], collect() { this.set(stats().keys); } });
      new Gauge({ name: 'redis_db_keys_expiring', help: 'Keys with a TTL', registers: [registry], collect() { this.set(stats().keysWithExpiry); } });
      new Gauge({
        name: 'irisdb_storage_bytes', help: 'Bytes on disk, by file', labelNames: ['file'], registers: [registry],
        collect() { const s = stats(); this.set({ file: 'db' }, s.dbFileBytes); this.set({ file: 'wal' }, s.walFileBytes); },
      });
      new Gauge({
        // Used pages drop as soon as keys are deleted; the file itself shrinks later (vacuum step + checkpoint).
        name: 'irisdb_storage_pages', help: 'SQLite pages, by state (used holds data, free awaits reuse or release)', labelNames: ['state'], registers: [registry],
        collect() {
          const s = stats();
          this.set({ state: 'used' }, s.pageCount - s.freelistCount);
          this.set({ state: 'free' }, s.freelistCount);
        },
      });
      new Gauge({
        name: 'irisdb_read_cache_lookups', help: 'Read-cache lookups since start, by result', labelNames: ['result'], registers: [registry],
        collect() { const s = stats(); this.set({ result: 'hit' }, s.cacheHits); this.set({ result: 'miss' }, s.cacheMisses); },
      });
    },
    close() { loopDelay.disable(); lateTicks.stop(); },
  };
  return m;
}
