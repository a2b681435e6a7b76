/**
 * Live slot migration (issue #4): two shards, each a primary and a replica
 * (every node durable: fsync always, minSyncReplicas 1). BENCH_KEYS keys of
 * 100 bytes are loaded into shard-0's slots.
 *  1. Throughput: all of those slots move to shard-1, nothing else running:
 *     keys/s and MB/s (key+value bytes) from the start of the copy to the
 *     write fence, the total time to done (the source's cleanup included),
 *     and how long the write fence held.
 *  2. The client-visible pause: a steady, unpipelined GET/SET load (ioredis
 *     Cluster clients) on keys of an eighth of those slots, first without a
 *     migration (baseline), then while those slots move back to shard-0:
 *     p50/p99/max latency in the second around the ownership flip against
 *     the baseline (and during that copy, for reference).
 */
import { performance } from 'node:perf_hooks';
import { Cluster, Redis } from 'ioredis';
import type { SlotRange } from '../common/cluster-map.js';
import { MigrationAdminClient } from '../common/migration-admin-client.js';
import type { MigrationStatus } from '../common/migration.js';
import { TestCluster } from '../test/support/cluster-harness.js';
import { CLUSTER_TOKEN, type ShardNode } from '../test/support/repl-shard.js';
import { keysInSlots } from '../test/support/slot-keys.js';

export interface LatencyStats {
  readonly ops: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface MigrationBenchResult {
  readonly keys: number;
  readonly valueBytes: number;
  readonly loadKeysPerSec: number;
  readonly keysCopied: number;
  readonly bytesCopied: number;
  /** From the start of the copy (target ready) to the write fence. */
  readonly copySeconds: number;
  /** From the request to done (cleanup on the source included). */
  readonly totalSeconds: number;
  readonly fenceMs: number;
  /** Phase 2: keys moved back under the latency load, at what copy rate, and its fence. */
  readonly pauseKeys: number;
  readonly pauseCopyKeysPerSec: number;
  readonly pauseFenceMs: number;
  readonly baseline: LatencyStats;
  readonly duringCopy: LatencyStats;
  readonly aroundFlip: LatencyStats;
  readonly clientErrors: number;
}

const VALUE_BYTES = 100;
/** All of shard-0's slots (two shards, split evenly). */
const MOVING: SlotRange[] = [[0, 8191]];
/** Phase 2 moves these back (an eighth of the keys) under the latency load. */
const PAUSE_SLOTS: SlotRange[] = [[0, 1023]];
const BASELINE_MS = Number(process.env.BENCH_MIGRATION_BASELINE_MS ?? 5000);
const SETTLE_MS = 5000;
/** Latency loops (each one unpipelined request at a time). */
const LOOPS = 8;
/** "Around the flip": operations that started within this of the fence. */
const FLIP_MARGIN_MS = 500;

interface Sample {
  readonly at: number;
  readonly ms: number;
}

/** Steady unpipelined GET/SET loops over ioredis Cluster clients on `keys`; every op's start time and latency recorded. */
class LatencyLoad {
  readonly samples: Sample[] = [];
  errors = 0;
  readonly errorTexts = new Set<string>();
  private stopFlag = false;
  private readonly clients: Cluster[] = [];
  private readonly loops: Promise<void>[] = [];

  constructor(seedPort: number, private readonly keys: readonly string[]) {
    for (let c = 0; c < 2; c++) {
      const client = new Cluster([{ host: '127.0.0.1', port: seedPort }], {
        maxRedirections: 64, retryDelayOnTryAgain: 20, retryDelayOnMoved: 0, redisOptions: { enableReadyCheck: false },
      });
      client.on('error', () => {});
      this.clients.push(client);
    }
    for (let i = 0; i < LOOPS; i++) this.loops.push(this.loop(this.clients[i % 2]!, i));
  }

  private async loop(client: Cluster, i: number): Promise<void> {
    const value = 'v'.repeat(VALUE_BYTES);
    for (let n = 0; !this.stopFlag; n++) {
      const key = this.keys[(n * 7919 + i * 104729) % this.keys.length]!;
      const at = Date.now();
      const t0 = performance.now();
      try {
        if (n % 2 === 0) await client.set(key, value);
        else await client.get(key);
        this.samples.push({ at, ms: performance.now() - t0 });
      } catch (err) {
        this.errors++;
        this.errorTexts.add((err as Error).message.slice(0, 100));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopFlag = true;
    await Promise.all(this.loops);
    for (const c of this.clients) c.disconnect();
  }

  stats(from: number, to: number): LatencyStats {
    const ms = this.samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.ms).sort((a, b) => a - b);
    const q = (p: number): number => (ms.length === 0 ? 0 : ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!);
    return { ops: ms.length, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: ms.length === 0 ? 0 : ms[ms.length - 1]! };
  }
}

/** Pipelined SETs straight to the owning primary: 4 connections, 1000 commands per pipeline. */
async function load(port: number, keys: readonly string[]): Promise<number> {
  const value = 'x'.repeat(VALUE_BYTES);
  const conns = await Promise.all(Array.from({ length: 4 }, async () => {
    const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableReadyCheck: false });
    r.on('error', () => {});
    await r.connect();
    return r;
  }));
  const t0 = performance.now();
  let next = 0;
  await Promise.all(conns.map(async (r) => {
    for (;;) {
      const start = next;
      next += 1000;
      if (start >= keys.length) return;
      const pipe = r.pipeline();
      for (let i = start; i < Math.min(start + 1000, keys.length); i++) pipe.set(keys[i]!, value);
      const res = (await pipe.exec())!;
      const bad = res.find(([err]) => err !== null);
      if (bad !== undefined) throw new Error(`loading failed: ${bad[0]!.message}`);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  for (const r of conns) r.disconnect();
  return keys.length / seconds;
}

/** The wall-clock time of the first log line of `node` whose message is `message`. */
function logTime(logs: string, message: string): number {
  for (const line of logs.split('\n')) {
    if (!line.includes(message)) continue;
    try {
      const o = JSON.parse(line) as { message?: string; timestamp?: string };
      if (o.message === message && o.timestamp !== undefined) return Date.parse(o.timestamp);
    } catch {
      // not a JSON line
    }
  }
  throw new Error(`no log line "${message}"`);
}

function logField(logs: string, message: string, field: string): number {
  for (const line of logs.split('\n')) {
    if (!line.includes(message)) continue;
    const o = JSON.parse(line) as Record<string, unknown>;
    if (o.message === message && typeof o[field] === 'number') return o[field] as number;
  }
  throw new Error(`no log line "${message}" with ${field}`);
}

/** Starts migration `id` on `source` and polls it to done; returns when it was requested and finished (wall clock). */
async function migrate(source: ShardNode, id: string, slots: readonly SlotRange[], targetShard: string): Promise<{ status: MigrationStatus; requested: number; done: number }> {
  const admin = new MigrationAdminClient(source.node.url, CLUSTER_TOKEN);
  const requested = Date.now();
  await admin.start(id, slots, targetShard);
  for (;;) {
    const status = await admin.get(id);
    if (status.stage === 'done') return { status, requested, done: Date.now() };
    if (!status.running && status.error !== null) throw new Error(`migration ${id} stopped at ${status.stage}: ${status.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stage times of migration `id` from its source's info logs (wall clock). */
function stageTimes(logs: string, id: string): { copyStart: number; fenceUp: number; fenceLifted: number; fenceMs: number } {
  const mine = logs.split('\n').filter((l) => l.includes(`"id":"${id}"`)).join('\n');
  return {
    copyStart: logTime(mine, 'slot migration copying'),
    fenceUp: logTime(mine, 'slot migration: write fence up'),
    fenceLifted: logTime(mine, 'slot migration: write fence lifted'),
    fenceMs: logField(mine, 'slot migration: write fence lifted', 'fenceMs'),
  };
}

/**
 * Phase 1, throughput: BENCH_KEYS keys move from shard-0 to shard-1 with no
 * other load. Phase 2, the pause: with the steady latency load on keys of
 * PAUSE_SLOTS (now on shard-1), first a baseline, then those slots move back
 * to shard-0 under the load; latencies around that flip against the baseline.
 */
export async function migrationBench(keyCount: number): Promise<MigrationBenchResult> {
  const prevLevel = process.env.IRIS_LOG_LEVEL;
  // The sources' info logs carry the stage times the pause is measured around.
  process.env.IRIS_LOG_LEVEL = 'info';
  const cluster = await TestCluster.start({ shards: 2, replicas: 1, args: ['--ack-timeout-ms', '10000'] });
  if (prevLevel === undefined) delete process.env.IRIS_LOG_LEVEL;
  else process.env.IRIS_LOG_LEVEL = prevLevel;
  try {
    const shard0 = cluster.shards[0]!.primary;
    const shard1 = cluster.shards[1]!.primary;
    const keys = keysInSlots('mk:', MOVING, keyCount);
    const loadKeysPerSec = await load(shard0.node.port, keys);
    await cluster.waitForConvergence(300_000);
    // Let the load's aftermath (WAL checkpoints on every node) finish before anything is measured.
    await new Promise((r) => setTimeout(r, SETTLE_MS));

    // ---- phase 1: throughput
    const bulk = await migrate(shard0, 'bench-bulk', MOVING, 'shard-1');
    const t1 = stageTimes(shard0.node.logs(), 'bench-bulk');
    const map = await shard0.admin.clusterMap();
    await cluster.pushMap(map!);
    await cluster.waitForConvergence(300_000);

    // ---- phase 2: the client-visible pause
    const pauseKeys = keysInSlots('mk:', PAUSE_SLOTS, Math.max(1, Math.round((keyCount * (PAUSE_SLOTS[0]![1] - PAUSE_SLOTS[0]![0] + 1)) / 8192)));
    const probeKeys = pauseKeys.filter((_, i) => i % Math.max(1, Math.floor(pauseKeys.length / 20_000)) === 0);
    const lat = new LatencyLoad(shard1.node.port, probeKeys);
    let baselineFrom = 0;
    let baselineTo = 0;
    let back: Awaited<ReturnType<typeof migrate>>;
    try {
      // Warm up (connections, slot maps), then the baseline without a migration.
      await new Promise((r) => setTimeout(r, 1000));
      baselineFrom = Date.now();
      await new Promise((r) => setTimeout(r, BASELINE_MS));
      baselineTo = Date.now();
      back = await migrate(shard1, 'bench-pause', PAUSE_SLOTS, 'shard-0');
      // A little after the flip too, so the window around it is complete.
      await new Promise((r) => setTimeout(r, FLIP_MARGIN_MS + 200));
    } finally {
      await lat.stop();
    }
    const t2 = stageTimes(shard1.node.logs(), 'bench-pause');
    return {
      keys: keyCount,
      valueBytes: VALUE_BYTES,
      loadKeysPerSec,
      keysCopied: bulk.status.keysCopied,
      bytesCopied: bulk.status.bytesCopied,
      copySeconds: (t1.fenceUp - t1.copyStart) / 1000,
      totalSeconds: (bulk.done - bulk.requested) / 1000,
      fenceMs: t1.fenceMs,
      pauseKeys: back!.status.keysCopied,
      pauseCopyKeysPerSec: back!.status.keysCopied / ((t2.fenceUp - t2.copyStart) / 1000),
      pauseFenceMs: t2.fenceMs,
      baseline: lat.stats(baselineFrom, baselineTo),
      duringCopy: lat.stats(t2.copyStart, t2.fenceUp - FLIP_MARGIN_MS),
      aroundFlip: lat.stats(t2.fenceUp - FLIP_MARGIN_MS, t2.fenceLifted + FLIP_MARGIN_MS),
      clientErrors: lat.errors,
    };
  } finally {
    await cluster.stop();
  }
}
