/**
 * BENCH_ONLY=resp-path (issue #16): the RESP request path of GET, where every
 * key exists and is in the read cache, so what is measured is parse, dispatch,
 * reply and the event loop rather than SQLite. redis-benchmark GET, 50
 * clients, 100-byte values, 100k keys, unpipelined and -P 16, against
 * redis-server in the same run (fsync batch / appendfsync everysec), rounds
 * alternating who goes first; each side keeps its best round.
 *
 * Besides req/s and latency it reports the server's CPU time per request
 * (utime+stime from /proc/<pid>/stat around the run): on a shared machine
 * throughput swings with the neighbours' load, CPU per request much less.
 *
 * BENCH_RESP_BEFORE=<path to another build's dist/node/main.js> adds that
 * build as a third system (before/after comparisons); BENCH_RESP_PRELOAD
 * (default 1,000,000) SETs before measuring, enough for every one of the 100k
 * keys to exist; BENCH_ROUNDS (2).
 */
import fs from 'node:fs';
import { redisBenchmark, type BenchResult } from './redis-benchmark.js';
import { startNode, startRedis } from './processes.js';
import { cpuMicros } from './proc-cpu.js';

export interface RespPathRow {
  readonly system: string;
  readonly pipeline: number;
  readonly result: BenchResult;
  /** Server CPU µs per request in the round kept. */
  readonly cpuUsPerRequest: number;
  readonly loadAverage: number;
}

interface System {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<unknown>;
}

function loadAverage(): number {
  return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

const BASE = { tests: 'get', clients: 50, valueBytes: 100, keyspace: 100_000 };

export async function respPathBench(requests: number): Promise<RespPathRow[]> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const preload = Number(process.env.BENCH_RESP_PRELOAD ?? 1_000_000);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, not ${process.env.BENCH_ROUNDS}`);
  if (!Number.isInteger(preload) || preload < 0) throw new Error(`BENCH_RESP_PRELOAD must be a non-negative integer, not ${process.env.BENCH_RESP_PRELOAD}`);
  const before = process.env.BENCH_RESP_BEFORE;
  if (before !== undefined && !fs.existsSync(before)) throw new Error(`BENCH_RESP_BEFORE: no such file ${before}`);
  const systems: System[] = [];
  try {
    const node = await startNode({ args: ['--fsync', 'batch'] });
    systems.push({ name: 'irisdb', port: node.port, pid: node.process.pid!, stop: () => node.stop() });
    if (before !== undefined) {
      const old = await startNode({ args: ['--fsync', 'batch'], main: before });
      systems.push({ name: 'irisdb before', port: old.port, pid: old.process.pid!, stop: () => old.stop() });
    }
    const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    systems.push({ name: 'redis', port: redis.port, pid: redis.process.pid!, stop: () => redis.stop() });
    for (const s of systems) {
      if (preload > 0) await redisBenchmark({ ...BASE, tests: 'set', port: s.port, requests: preload, pipeline: 16 });
      // Warm-up: fills IrisDB's read cache (and V8's optimised code) before anything is kept.
      await redisBenchmark({ ...BASE, port: s.port, requests: 200_000, pipeline: 16 });
    }
    const rows: RespPathRow[] = [];
    for (const pipeline of [1, 16]) {
      const n = pipeline === 1 ? requests : requests * 4;
      const best = new Map<string, RespPathRow>();
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? systems : [...systems].reverse();
        for (const s of order) {
          const c0 = cpuMicros(s.pid);
          const [result] = await redisBenchmark({ ...BASE, port: s.port, requests: n, pipeline });
          const row: RespPathRow = { system: s.name, pipeline, result: result!, cpuUsPerRequest: (cpuMicros(s.pid) - c0) / n, loadAverage: loadAverage() };
          const kept = best.get(s.name);
          if (kept === undefined || row.result.rps > kept.result.rps) best.set(s.name, row);
        }
      }
      rows.push(...systems.map((s) => best.get(s.name)!));
    }
    return rows;
  } finally {
    for (const s of systems) await s.stop();
  }
}

export function printRespPath(rows: readonly RespPathRow[]): void {
  const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log('\n## RESP path: GET of present, cached keys, redis-benchmark 50 clients, 100-byte values, 100k keys\n');
  console.log('| pipeline | system | req/s | p50 ms | p99 ms | server CPU µs/request | load avg | req/s ratio to redis | p99 ratio to redis |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const redis = rows.find((x) => x.system === 'redis' && x.pipeline === r.pipeline)!;
    console.log(`| ${r.pipeline} | ${r.system} | ${fmt(r.result.rps)} | ${fmt(r.result.p50Ms, 3)} | ${fmt(r.result.p99Ms, 3)} | ${fmt(r.cpuUsPerRequest, 2)} | ${fmt(r.loadAverage, 1)} | **${fmt(r.result.rps / redis.result.rps, 2)}** | ${fmt(r.result.p99Ms / redis.result.p99Ms, 2)} |`);
  }
}
