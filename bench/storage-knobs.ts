/**
 * Storage knobs (issue #16): irisdb-node with the default SQLite settings
 * and with one knob changed, side by side with redis-server in the same run
 * (the single-node loads: SET/GET, 50 clients, 100-byte values, 100k keys,
 * -P 1 and -P 16, fsync always and batch). Every system gets a fresh data
 * directory; rounds rotate which system goes first. BENCH_KNOBS picks the
 * variants by name (comma-separated; default: all of KNOBS).
 */
import os from 'node:os';
import { redisBenchmark, type BenchResult } from './redis-benchmark.js';
import { startNode, startRedis } from './processes.js';

/** name → the irisdb-node flags of that variant (the baseline is the defaults). */
export const KNOBS: Readonly<Record<string, readonly string[]>> = {
  'page 1024': ['--sqlite-page-size', '1024'],
  'page 2048': ['--sqlite-page-size', '2048'],
  'page 4096': ['--sqlite-page-size', '4096'],
  'page 8192': ['--sqlite-page-size', '8192'],
  'mmap 256 MiB': ['--sqlite-mmap-bytes', '256mib'],
  'cache 128 MiB': ['--sqlite-cache-bytes', '128mib'],
};

const PAIRS = [
  { durability: 'always', iris: ['--fsync', 'always'], redis: ['--appendonly', 'yes', '--appendfsync', 'always'] },
  { durability: 'batch', iris: ['--fsync', 'batch'], redis: ['--appendonly', 'yes', '--appendfsync', 'everysec'] },
];

export interface KnobRow {
  durability: string;
  test: string;
  pipeline: number;
  redis: BenchResult;
  /** Best round of each irisdb variant; 'default' is the baseline. */
  iris: Record<string, BenchResult>;
  /** Every round's req/s per system (spread). */
  rounds: Record<string, number[]>;
}

export interface KnobRun {
  rows: KnobRow[];
  loadBefore: number[];
  loadAfter: number[];
}

export async function storageKnobsBench(requests: number, rounds: number, names: readonly string[]): Promise<KnobRun> {
  for (const n of names) if (KNOBS[n] === undefined) throw new Error(`BENCH_KNOBS: unknown knob ${JSON.stringify(n)} (known: ${Object.keys(KNOBS).join(', ')})`);
  const loadBefore = os.loadavg();
  const rows: KnobRow[] = [];
  for (const pair of PAIRS) {
    const systems: Array<{ name: string; port: number; stop(): Promise<void> }> = [];
    try {
      const redis = await startRedis(pair.redis);
      systems.push({ name: 'redis', port: redis.port, stop: async () => { await redis.stop(); } });
      for (const name of ['default', ...names]) {
        const node = await startNode({ args: [...pair.iris, ...(KNOBS[name] ?? [])] });
        systems.push({ name, port: node.port, stop: async () => { await node.stop(); } });
      }
      for (const pipeline of [1, 16]) {
        const n = pipeline === 1 ? requests : requests * 4;
        const opts = { tests: 'set,get', requests: n, clients: 50, valueBytes: 100, keyspace: 100_000, pipeline };
        const runs = new Map<string, BenchResult[][]>(systems.map((s) => [s.name, []]));
        for (let round = 0; round < rounds; round++) {
          // Rotate the order so no system always runs first (or right after a given other).
          for (let i = 0; i < systems.length; i++) {
            const s = systems[(i + round) % systems.length]!;
            runs.get(s.name)!.push(await redisBenchmark({ ...opts, port: s.port }));
          }
        }
        for (const test of ['SET', 'GET']) {
          const pick = (name: string): BenchResult[] => runs.get(name)!.map((r) => r.find((x) => x.test === test)!);
          const best = (name: string): BenchResult => pick(name).reduce((a, b) => (b.rps > a.rps ? b : a));
          const iris: Record<string, BenchResult> = {};
          const spread: Record<string, number[]> = {};
          for (const s of systems) {
            spread[s.name] = pick(s.name).map((r) => r.rps);
            if (s.name !== 'redis') iris[s.name] = best(s.name);
          }
          rows.push({ durability: pair.durability, test, pipeline, redis: best('redis'), iris, rounds: spread });
        }
      }
    } finally {
      for (const s of systems) await s.stop();
    }
  }
  return { rows, loadBefore, loadAfter: os.loadavg() };
}

export function printStorageKnobs(run: KnobRun, names: readonly string[]): void {
  const fmt = (x: number, d = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const load = (l: number[]): string => l.map((x) => fmt(x, 2)).join(' ');
  console.log(`\n## Storage knobs (issue #16): ratio to redis-server in the same run, best of rounds; load average before ${load(run.loadBefore)}, after ${load(run.loadAfter)}\n`);
  console.log(`| fsync | test | pipeline | redis req/s | default | ${names.map((n) => `${n} | ÷ default`).join(' | ')} |`);
  console.log(`|---|---|---|---|---|${names.map(() => '---|---').join('|')}|`);
  for (const r of run.rows) {
    const base = r.iris['default']!.rps;
    const cells = names.map((n) => `${fmt(r.iris[n]!.rps / r.redis.rps, 2)} | ${fmt(r.iris[n]!.rps / base, 2)}`);
    console.log(`| ${r.durability} | ${r.test} | ${r.pipeline} | ${fmt(r.redis.rps)} | ${fmt(base / r.redis.rps, 2)} | ${cells.join(' | ')} |`);
  }
  console.log('\nEvery round (req/s):');
  for (const r of run.rows) {
    console.log(`- ${r.durability} ${r.test} -P ${r.pipeline}: ${Object.entries(r.rounds).map(([k, v]) => `${k} ${v.map((x) => fmt(x)).join('/')}`).join('; ')}`);
  }
}

/** BENCH_ONLY=storage-knobs: measures and prints (BENCH_KNOBS, BENCH_ROUNDS). */
export async function runStorageKnobs(requests: number): Promise<void> {
  const names = (process.env.BENCH_KNOBS ?? Object.keys(KNOBS).join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  printStorageKnobs(await storageKnobsBench(requests, Number(process.env.BENCH_ROUNDS ?? 2), names), names);
}
