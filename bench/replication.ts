/**
 * Replicated SET throughput and latency (issue #3): IrisDB 1 primary + 2
 * replicas at minSyncReplicas 0, 1 and 2, next to a single IrisDB node and to
 * redis-server with two real Redis replicas, all measured in the same run.
 * Every server is durable (fsync always / appendfsync always) and binds to
 * 127.0.0.1; 50 clients, 100-byte values, 100k-key space, unpipelined and
 * -P 16.
 */
import fs from 'node:fs';
import { redisBenchmark, type BenchOptions, type BenchResult } from './redis-benchmark.js';
import { Shard, redisInfo, startNode, startRedisWithReplicas } from './processes.js';

export interface System {
  /** Stable key, e.g. 'iris-msr1'. */
  readonly id: string;
  readonly label: string;
  /** When the client gets its reply. */
  readonly acknowledged: string;
  /** null: not replicated (the single-node baseline) or Redis (no per-write sync ack). */
  readonly minSyncReplicas: number | null;
  readonly kind: 'iris-single' | 'iris-shard' | 'redis';
}

export interface ReplRow {
  readonly system: System;
  readonly pipeline: number;
  /** The better round by throughput. */
  readonly result: BenchResult;
  /** Error replies the server counted during the kept round (INFO stats total_error_replies); must be 0. */
  readonly errors: number;
  /**
   * How far the slowest replica was behind when the load stopped: operations
   * for IrisDB, bytes of replication stream for Redis; null for a single node.
   */
  readonly lagAtEnd: number | null;
}

const REPLICAS = 2;
const IRIS_ARGS = ['--fsync', 'always'];
/** appendfsync always on every Redis (replicas too), as IrisDB fsyncs on every node. */
const REDIS_ARGS = ['--appendonly', 'yes', '--appendfsync', 'always'];
/** A replica that cannot acknowledge within this fails the write; generous so only a real stall counts. */
const ACK_TIMEOUT_MS = 10_000;

export const SYSTEMS: readonly System[] = [
  { id: 'iris-single', label: 'irisdb single node', acknowledged: 'local fsync', minSyncReplicas: null, kind: 'iris-single' },
  ...[0, 1, 2].map((k): System => ({
    id: `iris-msr${k}`,
    label: `irisdb 1+2, minSyncReplicas=${k}`,
    acknowledged: k === 0 ? 'local fsync; replication asynchronous' : `local fsync + ${k} replica${k > 1 ? 's' : ''} durably applied`,
    minSyncReplicas: k,
    kind: 'iris-shard',
  })),
  { id: 'redis', label: 'redis 1+2 (replicaof)', acknowledged: 'local fsync; replication **asynchronous** (Redis has no per-write sync ack)', minSyncReplicas: null, kind: 'redis' },
];

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

/** A started system: where to send the load, how to read replica lag, how to stop it. */
interface Running {
  readonly port: number;
  lag(): Promise<number | null>;
  stop(): Promise<void>;
}

async function startSystem(s: System): Promise<Running> {
  if (s.kind === 'iris-single') {
    const node = await startNode({ args: IRIS_ARGS });
    return {
      port: node.port,
      lag: async () => null,
      async stop() {
        await node.stop();
        fs.rmSync(node.dataDir, { recursive: true, force: true });
      },
    };
  }
  if (s.kind === 'iris-shard') {
    const shard = await Shard.start({ replicas: REPLICAS, minSyncReplicas: s.minSyncReplicas!, ackTimeoutMs: ACK_TIMEOUT_MS, args: IRIS_ARGS, namePrefix: 'bench' });
    return {
      port: shard.primary.node.port,
      async lag() {
        const st = await shard.primary.admin.replication();
        return Math.max(0, ...st.replicas.map((r) => r.lagOps));
      },
      async stop() {
        await shard.stop();
        for (const n of shard.nodes) fs.rmSync(n.node.dataDir, { recursive: true, force: true });
      },
    };
  }
  const group = await startRedisWithReplicas(REPLICAS, REDIS_ARGS);
  return {
    port: group.primary.port,
    async lag() {
      const info = await redisInfo(group.primary.port, 'replication');
      const head = Number(info.get('master_repl_offset') ?? 0);
      const offsets = [...info].filter(([k]) => /^slave\d+$/.test(k)).map(([, v]) => Number(/offset=(\d+)/.exec(v)?.[1] ?? 0));
      return Math.max(0, ...offsets.map((o) => head - o));
    },
    stop: () => group.stop(),
  };
}

async function errorReplies(port: number): Promise<number> {
  return Number((await redisInfo(port, 'stats')).get('total_error_replies') ?? 0);
}

interface Measured {
  result: BenchResult;
  errors: number;
  lagAtEnd: number | null;
}

/** One fresh start of `s`: SET unpipelined then pipelined. */
async function measure(s: System, opts: Record<number, Omit<BenchOptions, 'port'>>): Promise<Record<number, Measured>> {
  const sys = await startSystem(s);
  try {
    const out: Record<number, Measured> = {};
    for (const pipeline of [1, 16]) {
      const before = await errorReplies(sys.port);
      const [result] = await redisBenchmark({ ...opts[pipeline]!, port: sys.port });
      const lagAtEnd = await sys.lag();
      const errors = (await errorReplies(sys.port)) - before;
      out[pipeline] = { result: result!, errors, lagAtEnd };
    }
    return out;
  } finally {
    await sys.stop();
  }
}

/**
 * Each round starts every system fresh and loads it; rounds alternate the
 * order of the systems so drift on this shared machine favours none. Each
 * system keeps its better round per pipeline depth.
 */
export async function replicationBench(requests: number): Promise<ReplRow[]> {
  const base = { tests: 'set', clients: 50, valueBytes: 100, keyspace: 100_000 };
  // Half the single-node section's load per run (N/2 unpipelined, N pipelined): five systems, each started fresh per round, in a few minutes.
  const opts = { 1: { ...base, requests: Math.round(requests / 2), pipeline: 1 }, 16: { ...base, requests, pipeline: 16 } };
  const best = new Map<string, Measured>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse();
    for (const s of order) {
      const m = await measure(s, opts);
      for (const pipeline of [1, 16]) {
        const key = `${s.id}/${pipeline}`;
        const prev = best.get(key);
        if (prev === undefined || m[pipeline]!.result.rps > prev.result.rps) best.set(key, m[pipeline]!);
      }
    }
  }
  const rows: ReplRow[] = [];
  for (const pipeline of [1, 16]) {
    for (const s of SYSTEMS) {
      const m = best.get(`${s.id}/${pipeline}`)!;
      rows.push({ system: s, pipeline, ...m });
    }
  }
  return rows;
}
