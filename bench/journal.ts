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
 * Then the replicated rows (journal-replicated.ts; BENCH_JOURNAL_REPLICATED=no skips them).
 *
 * BENCH_ONLY=journal [BENCH_ROUNDS=3] npm run bench
 */
import fs from 'node:fs';
import os from 'node:os';
import { redisBenchmark, type BenchResult } from './redis-benchmark.js';
import { startNode, startRedis } from './processes.js';
import { printReplicatedJournal, replicatedJournalBench } from './journal-replicated.js';

const PAIRS = [
  { durability: 'always', iris: ['--fsync', 'always'], redis: ['--appendonly', 'yes', '--appendfsync', 'always'] },
  { durability: 'batch', iris: ['--fsync', 'batch'], redis: ['--appendonly', 'yes', '--appendfsync', 'everysec'] },
];
/** off: --write-journal no; default: the journal (the default since it was proved by the suite). */
const SYSTEMS = ['redis', 'off', 'default'] as const;
type SystemName = (typeof SYSTEMS)[number];

interface Row {
  durability: string;
  test: string;
  pipeline: number;
  best: Record<SystemName, BenchResult>;
  rounds: Record<SystemName, number[]>;
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
        const opts = { tests: 'set,get', requests: pipeline === 1 ? requests : requests * 4, clients: 50, valueBytes: 100, keyspace: 100_000, pipeline };
        const runs = new Map<SystemName, BenchResult[][]>(systems.map((s) => [s.name, []]));
        for (let round = 0; round < rounds; round++) {
          for (let i = 0; i < systems.length; i++) {
            const s = systems[(i + round) % systems.length]!;
            runs.get(s.name)!.push(await redisBenchmark({ ...opts, port: s.port }));
          }
        }
        for (const test of ['SET', 'GET']) {
          const pick = (n: SystemName): BenchResult[] => runs.get(n)!.map((r) => r.find((x) => x.test === test)!);
          const best = {} as Record<SystemName, BenchResult>;
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
