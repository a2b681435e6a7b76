/**
 * The cluster row of issue #16: a local IrisDB cluster of 3 shards × 1
 * replica (`irisctl local up`: fsync always, default minSyncReplicas)
 * against a Redis Cluster of 3 masters + 3 replicas (appendonly yes,
 * appendfsync always), both driven by `redis-benchmark --cluster`
 * (SET/GET, 50 clients, 100-byte values, 100k keys), unpipelined and -P 16.
 * Both clusters run for the whole section; the systems alternate who goes
 * first each round and each keeps its best round, so a burst of load from
 * elsewhere on the machine hurts neither side more.
 */
import os from 'node:os';
import { LocalCluster } from '../test/support/local-cluster.js';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { redisBenchmark, type BenchResult } from './redis-benchmark.js';

export interface ClusterRow {
  readonly test: string;
  readonly pipeline: number;
  readonly requests: number;
  readonly iris: BenchResult;
  readonly redis: BenchResult;
}

export interface ClusterBenchResult {
  readonly rows: readonly ClusterRow[];
  readonly rounds: number;
  /** 1-minute load average when the section started and ended (other work on the machine skews both sides). */
  readonly loadBefore: number;
  readonly loadAfter: number;
}

export interface ClusterBenchOptions {
  /** Requests per unpipelined run; pipelined runs send 4× as many. */
  readonly requests: number;
  readonly rounds: number;
  readonly pipelines: readonly number[];
}

export const CLUSTER_TESTS = ['SET', 'GET'] as const;

function best(runs: readonly BenchResult[][], test: string): BenchResult {
  const found = runs.map((r) => r.find((x) => x.test === test));
  if (found.some((x) => x === undefined)) throw new Error(`redis-benchmark printed no ${test} result`);
  return (found as BenchResult[]).reduce((a, b) => (b.rps > a.rps ? b : a));
}

export async function clusterBench(o: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const loadBefore = os.loadavg()[0]!;
  const iris = await LocalCluster.start({ shards: 3, replicas: 1 });
  try {
    const redis = await startRedisCluster(3, 1, ['--appendonly', 'yes', '--appendfsync', 'always']);
    try {
      const irisPort = await iris.seedPort();
      const redisPort = redis.nodes[0]!.port;
      const rows: ClusterRow[] = [];
      for (const pipeline of o.pipelines) {
        const requests = pipeline === 1 ? o.requests : o.requests * 4;
        const opts = { tests: 'set,get', requests, clients: 50, valueBytes: 100, keyspace: 100_000, pipeline, cluster: true };
        const irisRuns: BenchResult[][] = [];
        const redisRuns: BenchResult[][] = [];
        for (let round = 0; round < o.rounds; round++) {
          const runIris = async (): Promise<void> => { irisRuns.push(await redisBenchmark({ ...opts, port: irisPort })); };
          const runRedis = async (): Promise<void> => { redisRuns.push(await redisBenchmark({ ...opts, port: redisPort })); };
          if (round % 2 === 0) { await runIris(); await runRedis(); } else { await runRedis(); await runIris(); }
        }
        for (const test of CLUSTER_TESTS) rows.push({ test, pipeline, requests, iris: best(irisRuns, test), redis: best(redisRuns, test) });
      }
      return { rows, rounds: o.rounds, loadBefore, loadAfter: os.loadavg()[0]! };
    } finally {
      await redis.stop();
    }
  } finally {
    await iris.destroy();
  }
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Issue #16's targets: unpipelined SET and GET ≥ 0.5 of Redis Cluster, GET -P 16 ≥ 0.6. */
function target(test: string, pipeline: number): number | null {
  if (pipeline === 1) return 0.5;
  return test === 'GET' && pipeline === 16 ? 0.6 : null;
}

export function printCluster(r: ClusterBenchResult): void {
  console.log(`\n## Cluster: local IrisDB 3 shards × 1 replica (fsync always, default minSyncReplicas) vs Redis Cluster 3 + 3 (appendonly yes, appendfsync always), redis-benchmark --cluster, 50 clients, 100-byte values, 100k keys, best of ${r.rounds} alternating rounds; load average ${fmt(r.loadBefore, 1)} before, ${fmt(r.loadAfter, 1)} after\n`);
  console.log('| test | pipeline | requests | irisdb req/s | p50 ms | p99 ms | redis cluster req/s | p50 ms | p99 ms | ratio | target |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const x of r.rows) {
    const ratio = x.iris.rps / x.redis.rps;
    const t = target(x.test, x.pipeline);
    const verdict = t === null ? '—' : `≥ ${fmt(t, 1)}: ${ratio >= t ? 'met' : 'not met'}`;
    console.log(`| ${x.test} | ${x.pipeline} | ${fmt(x.requests)} | ${fmt(x.iris.rps)} | ${fmt(x.iris.p50Ms, 3)} | ${fmt(x.iris.p99Ms, 3)} | ${fmt(x.redis.rps)} | ${fmt(x.redis.p50Ms, 3)} | ${fmt(x.redis.p99Ms, 3)} | **${fmt(ratio, 2)}** | ${verdict} |`);
  }
}

/** BENCH_ONLY=cluster: BENCH_CLUSTER_REQUESTS (default BENCH_REQUESTS), BENCH_CLUSTER_ROUNDS (2), BENCH_CLUSTER_PIPELINES (1,16). */
export async function runClusterBench(requests: number): Promise<void> {
  const n = Number(process.env.BENCH_CLUSTER_REQUESTS ?? requests);
  const rounds = Number(process.env.BENCH_CLUSTER_ROUNDS ?? 2);
  const pipelines = (process.env.BENCH_CLUSTER_PIPELINES ?? '1,16').split(',').map(Number);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_CLUSTER_REQUESTS must be a positive integer, not ${process.env.BENCH_CLUSTER_REQUESTS}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_CLUSTER_ROUNDS must be a positive integer, not ${process.env.BENCH_CLUSTER_ROUNDS}`);
  if (pipelines.some((p) => !Number.isInteger(p) || p < 1)) throw new Error(`BENCH_CLUSTER_PIPELINES must be a comma-separated list of positive integers, not ${process.env.BENCH_CLUSTER_PIPELINES}`);
  printCluster(await clusterBench({ requests: n, rounds, pipelines }));
}
