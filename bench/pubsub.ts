/**
 * Pub/Sub (issue #17): PUBLISH throughput with one subscriber, redis-benchmark
 * 50 clients, 100-byte messages, unpipelined and pipelined 16, against
 * redis-server in the same run; every message must reach the subscriber.
 */
import { Redis } from 'ioredis';
import { startNode, startRedis } from './processes.js';
import { redisBenchmark, type BenchResult } from './redis-benchmark.js';
import { waitFor } from '../test/support/wait.js';

export interface PubSubRow {
  readonly pipeline: number;
  readonly iris: BenchResult & { delivered: number };
  readonly redis: BenchResult & { delivered: number };
}

const MESSAGE = 'm'.repeat(100);

async function measure(port: number, requests: number, pipeline: number): Promise<BenchResult & { delivered: number }> {
  const sub = new Redis({ port, lazyConnect: true });
  sub.on('error', () => {});
  await sub.connect();
  let delivered = 0;
  sub.on('messageBuffer', () => { delivered++; });
  try {
    await sub.subscribe('bench');
    const [r] = await redisBenchmark({ port, tests: 'publish', requests, clients: 50, valueBytes: 100, keyspace: 1, pipeline, command: ['PUBLISH', 'bench', MESSAGE] });
    // Delivery is asynchronous: wait (bounded) for the subscriber to have read everything.
    await waitFor('the subscriber to read every message', () => delivered >= requests, { timeoutMs: 60_000 }).catch(() => null);
    return { ...r!, delivered };
  } finally {
    sub.disconnect();
  }
}

export async function pubsubBench(requests: number): Promise<PubSubRow[]> {
  const node = await startNode({ args: ['--fsync', 'batch'] });
  const redis = await startRedis();
  try {
    const rows: PubSubRow[] = [];
    for (const pipeline of [1, 16]) {
      const n = pipeline === 1 ? requests : requests * 4;
      const iris = await measure(node.port, n, pipeline);
      const red = await measure(redis.port, n, pipeline);
      rows.push({ pipeline, iris, redis: red });
    }
    return rows;
  } finally {
    await node.stop();
    await redis.stop();
  }
}
