/**
 * The cluster row of issue #16: a local IrisDB cluster of 3 shards × 1
 * replica (`irisctl local up`: fsync always, default minSyncReplicas)
 * against a Redis Cluster of 3 masters + 3 replicas (appendonly yes,
 * appendfsync always), both driven by `redis-benchmark --cluster`
 * (SET/GET, 50 clients, 100-byte values, 100k keys), unpipelined and -P 16.
 * Both clusters run for the whole section; the systems alternate who goes
 * first each round and each keeps its best round, so a burst of load from
 * elsewhere on the machine hurts neither side more. A third IrisDB cluster
 * with negative read-cache entries off (IRIS_READ_CACHE_ABSENT_KEYS=no; on is
 * the default since 30b15ee) is the comparison that shows what they gain,
 * above all in the extra row where half the GETs ask for absent keys.
 */
import os from 'node:os';
import { LocalCluster } from '../test/support/local-cluster.js';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { redisBenchmark, type BenchOptions, type BenchResult } from './redis-benchmark.js';

export interface ClusterRow {
  readonly test: string;
  readonly pipeline: number;
  readonly requests: number;
  readonly iris: BenchResult;
  readonly redis: BenchResult;
  /** The same IrisDB cluster with readCacheAbsentKeys off (no negative read-cache entries), where measured. */
  readonly irisAbsentOff: BenchResult | null;
}

export interface ClusterBenchResult {
  readonly rows: readonly ClusterRow[];
  readonly rounds: number;
  /** 1-minute load average when the section started and ended (other work on the machine skews both sides). */
  readonly loadBefore: number;
  readonly loadAfter: number;
  /** Runs that failed (their round is missing from the best-of). */
  readonly failures: readonly string[];
}

export interface ClusterBenchOptions {
  /** Requests per unpipelined run; pipelined runs send 4× as many. */
  readonly requests: number;
  readonly rounds: number;
  readonly pipelines: readonly number[];
  /** Pipelines at which a third cluster, with IRIS_READ_CACHE_ABSENT_KEYS=no, runs too (negative entries off vs the default on). */
  readonly absentPipelines: readonly number[];
}

export const CLUSTER_TESTS = ['SET', 'GET'] as const;
/** The extra row: GET over a 200k key space of which only 100k keys exist. */
const ABSENT_TEST = 'GET, half the keys absent (-r 200000)';

/** iris: the default (negative entries on); irisAbsentOff: the third cluster, negative entries off. */
type SystemId = 'iris' | 'irisAbsentOff' | 'redis';

/**
 * Default settings but a 10 s failure detection (heartbeatMs 500 × 20): on
 * this shared, overloaded machine a node starved of CPU for 1.5 s under -P 16
 * was failed over mid-run, and redis-benchmark --cluster gives up when a
 * replica it never saw becomes a master (it would against Redis Cluster too).
 */
const IRIS_OPTIONS = { shards: 3, replicas: 1, failureThreshold: 20 } as const;

function best(runs: readonly BenchResult[][], test: string): BenchResult {
  const found = runs.map((r) => r.find((x) => x.test === test));
  if (found.length === 0 || found.some((x) => x === undefined)) throw new Error(`no successful redis-benchmark run printed a ${test} result`);
  return (found as BenchResult[]).reduce((a, b) => (b.rps > a.rps ? b : a));
}

export async function clusterBench(o: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const loadBefore = os.loadavg()[0]!;
  const failures: string[] = [];
  const started: Array<{ stop(): Promise<unknown> }> = [];
  try {
    const iris = await LocalCluster.start(IRIS_OPTIONS);
    started.push({ stop: () => iris.destroy() });
    const offCluster = o.absentPipelines.length === 0 ? null
      : await LocalCluster.start({ ...IRIS_OPTIONS, env: { IRIS_READ_CACHE_ABSENT_KEYS: 'no' } });
    if (offCluster !== null) started.push({ stop: () => offCluster.destroy() });
    const redis = await startRedisCluster(3, 1, ['--appendonly', 'yes', '--appendfsync', 'always']);
    started.push(redis);
    const ports: Record<SystemId, number | null> = {
      iris: await iris.seedPort(),
      irisAbsentOff: offCluster === null ? null : await offCluster.seedPort(),
      redis: redis.nodes[0]!.port,
    };
    /** Each system runs `opts` once per round; who goes first rotates each round. */
    const rounds = async (systems: readonly SystemId[], opts: Omit<BenchOptions, 'port'>): Promise<Record<SystemId, BenchResult[][]>> => {
      const runs: Record<SystemId, BenchResult[][]> = { iris: [], irisAbsentOff: [], redis: [] };
      for (let round = 0; round < o.rounds; round++) {
        for (let i = 0; i < systems.length; i++) {
          const id = systems[(i + round) % systems.length]!;
          try {
            runs[id].push(await redisBenchmark({ ...opts, port: ports[id]! }));
          } catch (err) {
            // One failed run (e.g. a failover mid-run) loses that round, not the section.
            failures.push(`${id} ${opts.tests} -P ${opts.pipeline} round ${round + 1}: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
            console.error(`bench cluster: ${failures[failures.length - 1]}`);
          }
        }
      }
      return runs;
    };
    const rows: ClusterRow[] = [];
    for (const pipeline of o.pipelines) {
      const requests = pipeline === 1 ? o.requests : o.requests * 4;
      const opts = { tests: 'set,get', requests, clients: 50, valueBytes: 100, keyspace: 100_000, pipeline, cluster: true };
      const systems: SystemId[] = ['iris', 'redis', ...(o.absentPipelines.includes(pipeline) && ports.irisAbsentOff !== null ? ['irisAbsentOff' as const] : [])];
      const runs = await rounds(systems, opts);
      for (const test of CLUSTER_TESTS) {
        rows.push({ test, pipeline, requests, iris: best(runs.iris, test), redis: best(runs.redis, test),
          irisAbsentOff: runs.irisAbsentOff.length === 0 ? null : best(runs.irisAbsentOff, test) });
      }
    }
    if (ports.irisAbsentOff !== null) {
      // The keys above are 0..99,999; a 200k key space makes every other GET miss, again and again:
      // the default cluster answers repeated misses from negative entries, the off cluster from SQLite.
      const opts = { tests: 'get', requests: o.requests * 4, clients: 50, valueBytes: 100, keyspace: 200_000, pipeline: 16, cluster: true };
      const systems: SystemId[] = ['irisAbsentOff', 'iris', 'redis'];
      const runs = await rounds(systems, opts);
      rows.push({ test: ABSENT_TEST, pipeline: 16, requests: opts.requests, iris: best(runs.iris, 'GET'), redis: best(runs.redis, 'GET'), irisAbsentOff: best(runs.irisAbsentOff, 'GET') });
    }
    return { rows, rounds: o.rounds, loadBefore, loadAfter: os.loadavg()[0]!, failures };
  } finally {
    for (const s of started.reverse()) await s.stop();
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
  console.log(`\n## Cluster: local IrisDB 3 shards × 1 replica (fsync always, default minSyncReplicas, readCacheAbsentKeys yes (default), failureThreshold 20) vs Redis Cluster 3 + 3 (appendonly yes, appendfsync always), redis-benchmark --cluster, 50 clients, 100-byte values, 100k keys, best of ${r.rounds} alternating rounds; load average ${fmt(r.loadBefore, 1)} before, ${fmt(r.loadAfter, 1)} after\n`);
  console.log('| test | pipeline | requests | irisdb req/s | p50 ms | p99 ms | redis cluster req/s | p50 ms | p99 ms | ratio | target | irisdb with readCacheAbsentKeys=no (negative entries off): req/s, ratio |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const x of r.rows) {
    const ratio = x.iris.rps / x.redis.rps;
    const t = target(x.test, x.pipeline);
    const off = x.irisAbsentOff === null ? '—' : `${fmt(x.irisAbsentOff.rps)}, ${fmt(x.irisAbsentOff.rps / x.redis.rps, 2)}`;
    const verdict = t === null ? '—' : `≥ ${fmt(t, 1)}: ${ratio >= t ? 'met' : 'not met'}`;
    console.log(`| ${x.test} | ${x.pipeline} | ${fmt(x.requests)} | ${fmt(x.iris.rps)} | ${fmt(x.iris.p50Ms, 3)} | ${fmt(x.iris.p99Ms, 3)} | ${fmt(x.redis.rps)} | ${fmt(x.redis.p50Ms, 3)} | ${fmt(x.redis.p99Ms, 3)} | **${fmt(ratio, 2)}** | ${verdict} | ${off} |`);
  }
  if (r.failures.length > 0) console.log(`\n**Warning:** ${r.failures.length} run(s) failed and are missing from the best-of: ${r.failures.join('; ')}`);
}

/**
 * BENCH_ONLY=cluster: BENCH_CLUSTER_REQUESTS (default BENCH_REQUESTS), BENCH_CLUSTER_ROUNDS (2), BENCH_CLUSTER_PIPELINES (1,16),
 * BENCH_CLUSTER_ABSENT_PIPELINES (1,16: where the third cluster, negative read-cache entries off, runs too; empty: no third cluster).
 */
export async function runClusterBench(requests: number): Promise<void> {
  const n = Number(process.env.BENCH_CLUSTER_REQUESTS ?? requests);
  const rounds = Number(process.env.BENCH_CLUSTER_ROUNDS ?? 2);
  const pipelines = (process.env.BENCH_CLUSTER_PIPELINES ?? '1,16').split(',').map(Number);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_CLUSTER_REQUESTS must be a positive integer, not ${process.env.BENCH_CLUSTER_REQUESTS}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_CLUSTER_ROUNDS must be a positive integer, not ${process.env.BENCH_CLUSTER_ROUNDS}`);
  const absentPipelines = (process.env.BENCH_CLUSTER_ABSENT_PIPELINES ?? '1,16').split(',').filter((x) => x !== '').map(Number);
  if ([...pipelines, ...absentPipelines].some((p) => !Number.isInteger(p) || p < 1)) throw new Error('BENCH_CLUSTER_PIPELINES and BENCH_CLUSTER_ABSENT_PIPELINES must be comma-separated lists of positive integers');
  printCluster(await clusterBench({ requests: n, rounds, pipelines, absentPipelines }));
}
