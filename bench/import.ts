/**
 * Import from Redis (issue #19): BENCH_KEYS string keys (100-byte values,
 * one in ten with a TTL) in a redis-server, then
 *  - `irisctl import` (SCAN, bulk load PUT /v1/kv:import) into a local cluster of 3 shards ×
 *    1 replica (minSyncReplicas 1, every write durable on two nodes),
 *  - `irisctl import --follow --until-lag 0` (the same keys again, from the
 *    RDB of a full sync),
 *  - `redis-cli --cluster import --cluster-copy` into a 3 + 3 Redis Cluster,
 * in the same run, each as keys/s over its copy.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { IRISCTL, LocalCluster } from '../test/support/local-cluster.js';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { run } from '../test/support/run.js';
import { startRedis } from './processes.js';

export interface ImportBenchResult {
  readonly keys: number;
  readonly irisScanKeysPerSec: number;
  readonly irisScanSeconds: number;
  readonly irisFollowKeysPerSec: number;
  readonly irisFollowSeconds: number;
  readonly redisClusterKeysPerSec: number;
  readonly redisClusterSeconds: number;
  readonly redisClusterKeys: number;
}

const VALUE_BYTES = 100;

/** The keys as RESP for redis-cli --pipe: much faster than a client. */
function protocol(from: number, to: number): Buffer {
  const parts: string[] = [];
  for (let i = from; i < to; i++) {
    const key = `imp:${String(i).padStart(9, '0')}`;
    const value = `${i}:`.padEnd(VALUE_BYTES, 'x');
    if (i % 10 === 0) parts.push(`*5\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n$2\r\nPX\r\n$7\r\n3600000\r\n`);
    else parts.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`);
  }
  return Buffer.from(parts.join(''));
}

async function load(port: number, keys: number): Promise<void> {
  for (let i = 0; i < keys; i += 200_000) {
    const r = await run('redis-cli', ['-p', String(port), '--pipe'], { input: protocol(i, Math.min(keys, i + 200_000)), timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`redis-cli --pipe: ${r.stderr}`);
  }
}

async function irisImport(dir: string, port: number, extra: string[]): Promise<{ copied: number; seconds: number }> {
  const r = await run(process.execPath, [IRISCTL, 'import', '--dir', dir, '--from', `redis://127.0.0.1:${port}`, '--json', ...extra], { timeoutMs: 3_600_000 });
  if (r.code !== 0) throw new Error(`irisctl import ${extra.join(' ')} exited with ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { copied: number; seconds: number };
}

export async function importBench(keys: number): Promise<ImportBenchResult> {
  const source = await startRedis();
  try {
    await load(source.port, keys);
    const cluster = await LocalCluster.start({ shards: 3, replicas: 1 });
    let scan: { copied: number; seconds: number };
    let follow: { copied: number; seconds: number };
    try {
      scan = await irisImport(cluster.dir, source.port, []);
      follow = await irisImport(cluster.dir, source.port, ['--follow', '--until-lag', '0', '--verify', '0']);
    } finally {
      await cluster.destroy();
    }
    const redisCluster = await startRedisCluster(3, 1);
    try {
      const t0 = performance.now();
      const r = await run('redis-cli', ['--cluster', 'import', `127.0.0.1:${redisCluster.nodes[0]!.port}`, '--cluster-from', `127.0.0.1:${source.port}`, '--cluster-copy'], { timeoutMs: 3_600_000 });
      const seconds = (performance.now() - t0) / 1000;
      if (r.code !== 0) throw new Error(`redis-cli --cluster import: ${r.stdout.slice(-2000)}\n${r.stderr}`);
      let redisKeys = 0;
      for (const port of await redisCluster.masterPorts()) {
        const c = new Redis({ port, host: '127.0.0.1' });
        redisKeys += await c.dbsize();
        c.disconnect();
      }
      return {
        keys,
        irisScanKeysPerSec: scan.copied / scan.seconds, irisScanSeconds: scan.seconds,
        irisFollowKeysPerSec: follow.copied / follow.seconds, irisFollowSeconds: follow.seconds,
        redisClusterKeysPerSec: redisKeys / seconds, redisClusterSeconds: seconds, redisClusterKeys: redisKeys,
      };
    } finally {
      await redisCluster.stop();
    }
  } finally {
    await source.stop();
  }
}
