/**
 * Write journal (issue #16), replicated: SET on a primary with one replica
 * at minSyncReplicas=1 (the reply waits for the replica's durable apply),
 * with --write-journal no on every node and with the default (the journal),
 * next to a single node of each, fsync always, 50 clients, 100-byte values,
 * 100k keys, -P 1 and -P 16. Every system starts fresh each round and the
 * rounds alternate the order; each keeps its better round.
 *
 * Part of BENCH_ONLY=journal.
 */
import fs from 'node:fs';
import { redisBenchmark, type BenchResult } from './redis-benchmark.js';
import { Shard, startNode } from './processes.js';

const MODES = [
  { id: 'off', args: ['--fsync', 'always', '--write-journal', 'no'] },
  { id: 'default', args: ['--fsync', 'always'] },
] as const;
const SHAPES = ['single', 'msr1'] as const;

export interface ReplicatedJournalRow {
  readonly shape: (typeof SHAPES)[number];
  readonly mode: (typeof MODES)[number]['id'];
  readonly pipeline: number;
  readonly best: BenchResult;
  readonly rounds: number[];
}

async function start(shape: (typeof SHAPES)[number], args: readonly string[]): Promise<{ port: number; stop(): Promise<void> }> {
  if (shape === 'single') {
    const node = await startNode({ args: [...args] });
    return {
      port: node.port,
      async stop() {
        await node.stop();
        fs.rmSync(node.dataDir, { recursive: true, force: true });
      },
    };
  }
  const shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, ackTimeoutMs: 10_000, args: [...args], namePrefix: 'bench-journal' });
  return {
    port: shard.primary.node.port,
    async stop() {
      await shard.stop();
      for (const n of shard.nodes) fs.rmSync(n.node.dataDir, { recursive: true, force: true });
    },
  };
}

export async function replicatedJournalBench(requests: number, rounds: number): Promise<ReplicatedJournalRow[]> {
  const systems = SHAPES.flatMap((shape) => MODES.map((mode) => ({ shape, mode })));
  const runs = new Map<string, BenchResult[]>();
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? systems : [...systems].reverse();
    for (const s of order) {
      const sys = await start(s.shape, s.mode.args);
      try {
        for (const pipeline of [1, 16]) {
          const [r] = await redisBenchmark({ port: sys.port, tests: 'set', requests: pipeline === 1 ? Math.round(requests / 2) : requests, clients: 50, valueBytes: 100, keyspace: 100_000, pipeline });
          const key = `${s.shape}/${s.mode.id}/${pipeline}`;
          runs.set(key, [...(runs.get(key) ?? []), r!]);
        }
      } finally {
        await sys.stop();
      }
    }
  }
  const rows: ReplicatedJournalRow[] = [];
  for (const pipeline of [1, 16]) {
    for (const s of systems) {
      const rs = runs.get(`${s.shape}/${s.mode.id}/${pipeline}`)!;
      rows.push({ shape: s.shape, mode: s.mode.id, pipeline, best: rs.reduce((a, b) => (b.rps > a.rps ? b : a)), rounds: rs.map((r) => r.rps) });
    }
  }
  return rows;
}

export function printReplicatedJournal(rows: readonly ReplicatedJournalRow[]): void {
  const fmt = (x: number, d = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log('\n### Replicated SET (1 primary + 1 replica, minSyncReplicas=1) vs single node, fsync always\n');
  console.log('| system | pipeline | journal off req/s | default (journal) req/s | default ÷ off | p99 ms off / default | rounds off; default |');
  console.log('|---|---|---|---|---|---|---|');
  for (const pipeline of [1, 16]) {
    for (const shape of SHAPES) {
      const off = rows.find((r) => r.shape === shape && r.mode === 'off' && r.pipeline === pipeline)!;
      const on = rows.find((r) => r.shape === shape && r.mode === 'default' && r.pipeline === pipeline)!;
      const label = shape === 'single' ? 'single node' : '1+1, minSyncReplicas=1';
      console.log(`| ${label} | ${pipeline} | ${fmt(off.best.rps)} | ${fmt(on.best.rps)} | ${fmt(on.best.rps / off.best.rps, 2)} | ${fmt(off.best.p99Ms, 2)} / ${fmt(on.best.p99Ms, 2)} | ${off.rounds.map((v) => fmt(v)).join('/')}; ${on.rounds.map((v) => fmt(v)).join('/')} |`);
    }
  }
}
