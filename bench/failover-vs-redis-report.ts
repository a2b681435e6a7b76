/**
 * Prints the failover-vs-redis benchmark (failover-vs-redis.ts) as the
 * tables of docs/benchmarks.md: per nemesis and system, recovery and
 * unavailable window (median and max), lost writes and stale reads, and
 * the IrisDB / Redis Cluster ratios.
 */
import { CHECKER_CLIENT } from './failover-checker.js';
import type { IrisTargetOptions } from './failover-target.js';
import { failoverVsRedisBench, type Nemesis, type VsResult, type VsRun } from './failover-vs-redis.js';
import { REDIS_NODE_TIMEOUT_MS } from './redis-cluster-failover.js';

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return n > 0 ? '> 30,000' : '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Median and max of the values; a run without a value (no write within the bound) counts as infinitely long. */
export function medianMax(xs: ReadonlyArray<number | null>): { median: number; max: number } {
  const s = xs.map((x) => x ?? Infinity).sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, max: NaN };
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, max: s[s.length - 1]! };
}

interface Row {
  readonly runs: number;
  readonly recovery: { median: number; max: number };
  readonly unavailable: { median: number; max: number };
  readonly none: number;
  readonly acked: number;
  readonly lost: number;
  readonly lostRuns: number;
  readonly reads: number;
  readonly stale: number;
  readonly staleRuns: number;
  readonly impossible: number;
  readonly late: number;
}

function row(runs: readonly VsRun[]): Row {
  const sum = (f: (r: VsRun) => number): number => runs.reduce((a, r) => a + f(r), 0);
  return {
    runs: runs.length,
    recovery: medianMax(runs.map((r) => r.recoveryMs)),
    unavailable: medianMax(runs.map((r) => r.unavailableMs)),
    none: runs.filter((r) => r.recoveryMs === null).length,
    acked: sum((r) => r.check.ackedWrites),
    lost: sum((r) => r.check.lostWrites),
    lostRuns: runs.filter((r) => r.check.lostWrites > 0).length,
    reads: sum((r) => r.check.reads),
    stale: sum((r) => r.check.staleReads),
    staleRuns: runs.filter((r) => r.check.staleReads > 0).length,
    impossible: sum((r) => r.check.impossible),
    late: sum((r) => r.check.late),
  };
}

const LABEL: Record<Nemesis, string> = { kill: 'kill -9 of a primary', stop: 'SIGSTOP of a primary' };

export function printFailoverVsRedis(res: VsResult): void {
  const c = CHECKER_CLIENT;
  const i = res.iris;
  const iris = `${i.replicas} replica${i.replicas === 1 ? '' : 's'}, dataDurability ${i.dataDurability ?? 'required (the default)'}`;
  console.log(`\n## Failover and pause recovery vs Redis Cluster: IrisDB local cluster 3 shards × ${iris} (other settings default, --fsync always) next to Redis Cluster 3 masters + 3 replicas (cluster-node-timeout ${REDIS_NODE_TIMEOUT_MS}, appendonly yes, appendfsync always)\n`);
  console.log(`Same workload on both, a fresh one per run: 2 unpipelined loops per shard (one ioredis Cluster client per system: commandTimeout ${c.commandTimeoutMs} ms, slotsRefreshInterval ${c.slotsRefreshIntervalMs} ms), SET key <increasing sequence> then GET key, 3 writes per key. `
    + `Recovery: signal → first OK to a write to the victim shard's slots sent after the signal. Unavailable: the longest stretch without an OK on those slots, from the last OK before the signal to ${fmt(res.gapWindowMs / 1000)} s after recovery (or after the SIGCONT, which comes ${fmt(res.pauseMs / 1000, 1)} s after the SIGSTOP). `
    + 'Lost: acknowledged writes whose value is missing or older when read back after the run. Stale: reads returning a value older than one acknowledged before the read was sent. '
    + 'A read or end value older than an acknowledged write but written by a SET that got no OK (it timed out, yet may still be applied later, after newer writes, from the client queue or a socket buffer): counted apart, neither stale nor lost.\n');
  const ms = (x: { median: number; max: number }): string => `**${fmt(x.median)}** / ${fmt(x.max)}`;
  const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? fmt(a / b, 2) : '—');
  for (const nemesis of ['kill', 'stop'] as const) {
    console.log(`\n### ${LABEL[nemesis]}\n`);
    console.log('| system | runs | recovery median / max ms | no write within 30 s | unavailable median / max ms | acknowledged writes | lost writes (runs with any) | reads | stale reads (runs with any) | older value of a write without OK | impossible values |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    const rows = res.systems.map((s) => [s, row(res.runs.filter((r) => r.system === s && r.nemesis === nemesis))] as const);
    for (const [s, r] of rows) {
      console.log(`| ${s} | ${r.runs} | ${ms(r.recovery)} | ${r.none} | ${ms(r.unavailable)} | ${fmt(r.acked)} | **${fmt(r.lost)}** (${r.lostRuns}) | ${fmt(r.reads)} | **${fmt(r.stale)}** (${r.staleRuns}) | ${fmt(r.late)} | ${fmt(r.impossible)} |`);
    }
    if (rows.length === 2) {
      const [a, b] = [rows[0]![1], rows[1]![1]];
      console.log(`| ${rows[0]![0]} / ${rows[1]![0]} | | **${ratio(a.recovery.median, b.recovery.median)}** / ${ratio(a.recovery.max, b.recovery.max)} | | **${ratio(a.unavailable.median, b.unavailable.median)}** / ${ratio(a.unavailable.max, b.unavailable.max)} | | | | | | |`);
    }
    for (const s of res.systems) {
      const every = res.runs.filter((r) => r.system === s && r.nemesis === nemesis).map((r) => `${r.recoveryMs === null ? '—' : fmt(r.recoveryMs)}/${fmt(r.unavailableMs)}`);
      console.log(`\n${s}, every run (recovery / unavailable ms): ${every.join(', ')}`);
    }
  }
  const examples = res.runs.flatMap((r) => r.check.examples.map((e) => `${r.system} ${r.nemesis}: ${e}`)).slice(0, 10);
  if (examples.length > 0) console.log(`\nViolations, e.g.: ${examples.join('; ')}`);
}

/** The IrisDB cluster's shape from BENCH_FAILOVER_REPLICAS (1) and BENCH_FAILOVER_DURABILITY (the cluster's default). */
function irisOptions(env: NodeJS.ProcessEnv): IrisTargetOptions {
  const replicas = Number(env.BENCH_FAILOVER_REPLICAS ?? 1);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 4) throw new Error(`BENCH_FAILOVER_REPLICAS must be an integer from 1 to 4, not ${env.BENCH_FAILOVER_REPLICAS}`);
  const d = env.BENCH_FAILOVER_DURABILITY;
  if (d !== undefined && d !== 'required' && d !== 'preferred') throw new Error(`BENCH_FAILOVER_DURABILITY must be required or preferred, not ${d}`);
  return d === undefined ? { replicas } : { replicas, dataDurability: d };
}

/** The hook of bench/run.ts (BENCH_ONLY=failover-vs-redis). */
export async function runFailoverVsRedis(runs: number): Promise<void> {
  if (runs > 0) printFailoverVsRedis(await failoverVsRedisBench(runs, irisOptions(process.env)));
}
