/**
 * Tracing overhead (docs/tracing.md): one irisdb-node per setting — tracing
 * off, on with the sampler at 0, at 0.01 and at 1 — exporting to a real
 * OpenTelemetry Collector, next to redis-server in the same run. SET and GET,
 * 50 clients, 100-byte values, -P 16, fsync batch (so the CPU, where spans
 * cost, is the limit rather than the disk). Rounds alternate the order; each
 * setting keeps its best round.
 */
import { OtelCollector } from '../test/support/otel-collector.js';
import { redisBenchmark, type BenchResult } from './redis-benchmark.js';
import { startNode, startRedis } from './processes.js';

export interface TracingRow {
  readonly setting: string;
  readonly set: BenchResult;
  readonly get: BenchResult;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

export async function tracingBench(requests: number): Promise<TracingRow[]> {
  const collector = await OtelCollector.start();
  const settings: Array<{ label: string; args: string[] }> = [
    { label: 'tracing off (default)', args: [] },
    { label: 'on, sampler 0', args: ['--otel-exporter-otlp-endpoint', collector.endpoint, '--otel-traces-sampler-arg', '0'] },
    { label: 'on, sampler 0.01', args: ['--otel-exporter-otlp-endpoint', collector.endpoint, '--otel-traces-sampler-arg', '0.01'] },
    { label: 'on, sampler 1 (every command)', args: ['--otel-exporter-otlp-endpoint', collector.endpoint, '--otel-traces-sampler-arg', '1'] },
  ];
  const opts = { tests: 'set,get', requests: requests * 2, clients: 50, valueBytes: 100, keyspace: 100_000, pipeline: 16 };
  const runs = new Map<string, BenchResult[][]>();
  const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? settings : [...settings].reverse();
      for (const s of order) {
        const node = await startNode({ args: ['--fsync', 'batch', '--min-sync-replicas', '0', ...s.args] });
        try {
          const list = runs.get(s.label) ?? [];
          list.push(await redisBenchmark({ ...opts, port: node.port }));
          runs.set(s.label, list);
        } finally {
          await node.stop();
        }
      }
      const list = runs.get('redis-server') ?? [];
      list.push(await redisBenchmark({ ...opts, port: redis.port }));
      runs.set('redis-server', list);
    }
  } finally {
    await redis.stop();
    await collector.destroy();
  }
  const best = (label: string, test: string): BenchResult =>
    runs.get(label)!.map((r) => r.find((x) => x.test === test)!).reduce((a, b) => (b.rps > a.rps ? b : a));
  return [...settings.map((s) => s.label), 'redis-server'].map((setting) => ({ setting, set: best(setting, 'SET'), get: best(setting, 'GET') }));
}
