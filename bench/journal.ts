/**
 * Write journal (issue #16): irisdb-node with --write-journal no (one
 * SQLite commit per turn) and with the default write path (the journal),
 * side by side with redis-server in the same run
 * (redis-benchmark SET/GET, 50 clients, 100-byte values, 100k keys, -P 1
 * and -P 16, fsync always vs appendfsync always and batch vs everysec).
 * Rounds rotate which system goes first. Also the bytes each process wrote
 * per SET (/proc/<pid>/io wchar: journal + WAL + checkpoints, or the AOF),
 * which does not depend on the machine's speed.
 *
 * Each run also records CPU per request (/proc): the server's (all threads,
 * and for irisdb its main thread, which runs every command) and
 * redis-benchmark's own, so each row shows what bounds it on this machine
 * (docs/benchmarks.md, "CPU per request").
 *
 * Then the replicated rows (journal-replicated.ts; BENCH_JOURNAL_REPLICATED=no skips them).
 *
 * BENCH_ONLY=journal [BENCH_ROUNDS=3] npm run bench
 */
import fs from 'node:fs';
import os from 'node:os';
import { redisBenchmark, type BenchResult } from './redis-benchmark.js';
import { startNode, startRedis } from './processes.js';
import { cpuSince, processCpu, waitedChildrenCpu, type CpuTime } from './proc-cpu.js';
import { printReplicatedJournal, replicatedJournalBench } from './journal-replicated.js';

const PAIRS = [
  { durability: 'always', iris: ['--fsync', 'always'], redis: ['--appendonly', 'yes', '--appendfsync', 'always'] },
  { durability: 'batch', iris: ['--fsync', 'batch'], redis: ['--appendonly', 'yes', '--appendfsync', 'everysec'] },
];
/** off: --write-journal no; default: the journal (the default since it was proved by the suite). */
const SYSTEMS = ['redis', 'off', 'default'] as const;
type SystemName = (typeof SYSTEMS)[number];

/** CPU per request of one run, µs. */
export interface RunCpu {
  /** The server process, all threads. */
  readonly server: CpuTime;
  /** The server's main thread (irisdb's event loop; redis-server's too). */
  readonly main: CpuTime;
  /** redis-benchmark. */
  readonly client: CpuTime;
}

interface Run extends BenchResult {
  readonly cpu: RunCpu;
}

interface Row {
  durability: string;
  test: string;
  pipeline: number;
  best: Record<SystemName, Run>;
  rounds: Record<SystemName, number[]>;
}

const perRequest = (c: CpuTime, n: number): CpuTime => ({ userUs: c.userUs / n, sysUs: c.sysUs / n });

/** One redis-benchmark run of one test, with the CPU the server (all threads, main thread) and the client used per request. */
async function measuredRun(port: number, pid: number, opts: Omit<Parameters<typeof redisBenchmark>[0], 'port'>): Promise<Run> {
  const s0 = processCpu(pid);
  const m0 = processCpu(pid, pid);
  const c0 = waitedChildrenCpu();
  const [result] = await redisBenchmark({ ...opts, port });
  const n = opts.requests;
  const cpu = { server: perRequest(cpuSince(s0, processCpu(pid)), n), main: perRequest(cpuSince(m0, processCpu(pid, pid)), n), client: perRequest(cpuSince(c0, waitedChildrenCpu()), n) };
  return { ...result!, cpu };
}

/** Bytes the process passed to write()/pwrite() so far (Linux). */
function writtenBytes(pid: number): number {
  const m = /^wchar: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
  return m === null ? NaN : Number(m[1]);
}

export async function journalBench(requests: number, rounds: number): Promise<{ rows: Row[]; bytesPerSet: Array<{ durability: string; system: SystemName; bytes: number }>; load: [number[], number[]] }> {
  const before = os.loadavg();
  const rows: Row[] = [];
  const bytesPerSet: Array<{ durability: string; system: SystemName; bytes: number }> = [];
  for (const pair of PAIRS) {
    const systems: Array<{ name: SystemName; port: number; pid: number; stop(): Promise<void> }> = [];
    try {
      const redis = await startRedis(pair.redis);
      systems.push({ name: 'redis', port: redis.port, pid: redis.process.pid!, stop: async () => { await redis.stop(); } });
      for (const [name, extra] of [['off', ['--write-journal', 'no']], ['default', []]] as const) {
        const node = await startNode({ args: [...pair.iris, ...extra] });
        systems.push({ name, port: node.port, pid: node.process.pid!, stop: async () => { await node.stop(); } });
      }
      for (const pipeline of [1, 16]) {
        const opts = { requests: pipeline === 1 ? requests : requests * 4, clients: 50, valueBytes: 100, keyspace: 100_000, pipeline };
        const runs = new Map<SystemName, Run[][]>(systems.map((s) => [s.name, []]));
        for (let round = 0; round < rounds; round++) {
          for (let i = 0; i < systems.length; i++) {
            const s = systems[(i + round) % systems.length]!;
            // SET then GET, as one -t set,get run did, but measured apart so each has its own CPU figures.
            const set = await measuredRun(s.port, s.pid, { ...opts, tests: 'set' });
            const get = await measuredRun(s.port, s.pid, { ...opts, tests: 'get' });
            runs.get(s.name)!.push([set, get]);
          }
        }
        for (const test of ['SET', 'GET']) {
          const pick = (n: SystemName): Run[] => runs.get(n)!.map((r) => r.find((x) => x.test === test)!);
          const best = {} as Record<SystemName, Run>;
          const spread = {} as Record<SystemName, number[]>;
          for (const n of SYSTEMS) {
            best[n] = pick(n).reduce((a, b) => (b.rps > a.rps ? b : a));
            spread[n] = pick(n).map((r) => r.rps);
          }
          rows.push({ durability: pair.durability, test, pipeline, best, rounds: spread });
        }
      }
      // Bytes written per SET: one -P 16 SET run per system, overwriting the same 100k keys.
      const n = requests * 4;
      for (const s of systems) {
        const w0 = writtenBytes(s.pid);
        await redisBenchmark({ port: s.port, tests: 'set', requests: n, clients: 50, valueBytes: 100, keyspace: 100_000, pipeline: 16 });
        bytesPerSet.push({ durability: pair.durability, system: s.name, bytes: (writtenBytes(s.pid) - w0) / n });
      }
    } finally {
      for (const s of systems) await s.stop();
    }
  }
  return { rows, bytesPerSet, load: [before, os.loadavg()] };
}

export async function runJournalBench(requests: number): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const r = await journalBench(requests, rounds);
  const fmt = (x: number, d = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const load = (l: number[]): string => l.map((x) => fmt(x, 2)).join(' ');
  console.log(`\n## Write journal (issue #16): best of ${rounds} rounds; load average before ${load(r.load[0])}, after ${load(r.load[1])}\n`);
  console.log('| fsync | test | pipeline | redis req/s | journal off req/s | default (journal) req/s | off ÷ redis | default ÷ redis | default ÷ off | p99 ms redis / off / default |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const x of r.rows) {
    const { redis, off: d, default: j } = x.best;
    console.log(`| ${x.durability} | ${x.test} | ${x.pipeline} | ${fmt(redis.rps)} | ${fmt(d.rps)} | ${fmt(j.rps)} | ${fmt(d.rps / redis.rps, 2)} | ${fmt(j.rps / redis.rps, 2)} | ${fmt(j.rps / d.rps, 2)} | ${fmt(redis.p99Ms, 2)} / ${fmt(d.p99Ms, 2)} / ${fmt(j.p99Ms, 2)} |`);
  }
  printCpuPerRequest(r.rows, fmt);
  console.log('\nEvery round (req/s):');
  for (const x of r.rows) console.log(`- ${x.durability} ${x.test} -P ${x.pipeline}: ${SYSTEMS.map((n) => `${n} ${x.rounds[n].map((v) => fmt(v)).join('/')}`).join('; ')}`);
  console.log('\nBytes written per SET (write()/pwrite() bytes of the process during a -P 16 SET run over 100k keys):\n');
  console.log('| fsync | redis | journal off | default (journal) |');
  console.log('|---|---|---|---|');
  for (const d of ['always', 'batch']) {
    const get = (s: SystemName): string => fmt(r.bytesPerSet.find((b) => b.durability === d && b.system === s)?.bytes ?? NaN);
    console.log(`| ${d} | ${get('redis')} | ${get('off')} | ${get('default')} |`);
  }
  if (process.env.BENCH_JOURNAL_REPLICATED !== 'no') printReplicatedJournal(await replicatedJournalBench(requests, Math.max(2, Math.min(rounds, 3))));
}

/**
 * CPU per request in each row's kept round, and the ceilings it implies on
 * this machine: one core for the main thread, and every core shared by the
 * server's threads and redis-benchmark (2 vCPUs here).
 */
function printCpuPerRequest(rows: readonly Row[], fmt: (x: number, d?: number) => string): void {
  const cores = os.availableParallelism();
  const us = (c: CpuTime): string => `${fmt(c.userUs + c.sysUs, 1)} (${fmt(c.userUs, 1)} + ${fmt(c.sysUs, 1)})`;
  const total = (c: CpuTime): number => c.userUs + c.sysUs;
  console.log(`\nCPU per request, µs, user + system (/proc), in each row's kept round; ceilings on ${cores} cores: main thread 1 s ÷ its µs, machine ${cores} s ÷ (server + client):\n`);
  console.log('| fsync | test | pipeline | redis server | redis client | irisdb server, all threads | irisdb main thread | irisdb client | irisdb ceiling: main thread / machine (req/s) | redis ceiling: machine (req/s) | ratio if both ran at their machine ceiling |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const x of rows) {
    const { redis, default: j } = x.best;
    const irisMachine = (cores * 1e6) / (total(j.cpu.server) + total(j.cpu.client));
    const redisMachine = (cores * 1e6) / (total(redis.cpu.server) + total(redis.cpu.client));
    console.log(`| ${x.durability} | ${x.test} | ${x.pipeline} | ${us(redis.cpu.server)} | ${us(redis.cpu.client)} | ${us(j.cpu.server)} | ${us(j.cpu.main)} | ${us(j.cpu.client)} | ${fmt(1e6 / total(j.cpu.main))} / ${fmt(irisMachine)} | ${fmt(redisMachine)} | ${fmt(irisMachine / redisMachine, 2)} |`);
  }
}
