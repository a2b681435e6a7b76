/**
 * Import from Redis (issue #19): BENCH_KEYS string keys (100-byte values,
 * one in ten with a TTL) in a redis-server, then
 *  - `irisctl import` (SCAN, bulk load PUT /v1/kv:import) into a local cluster of 3 shards ×
 *    1 replica (minSyncReplicas 1, every write durable on two nodes),
 *  - `irisctl import --follow --until-lag 0` (the same keys again, from the
 *    RDB of a full sync),
 *  - `redis-cli --cluster import --cluster-copy` into a 3 + 3 Redis Cluster,
 * in the same run, each as keys/s over its copy, and the CPU per key of
 * irisctl and of the cluster's processes during the first (less dependent
 * on what else the machine runs than keys/s), and the rate at which
 * --follow applies a stream of SET/INCR (import-stream.ts).
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { IRISCTL, LocalCluster } from '../test/support/local-cluster.js';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { run } from '../test/support/run.js';
import { startRedis } from './processes.js';
import { statCpu } from './proc-cpu.js';
import { followStreamBench, type StreamBenchResult } from './import-stream.js';

export interface ImportBenchResult {
  readonly keys: number;
  readonly irisScanKeysPerSec: number;
  readonly irisScanSeconds: number;
  readonly irisFollowKeysPerSec: number;
  readonly irisFollowSeconds: number;
  readonly redisClusterKeysPerSec: number;
  readonly redisClusterSeconds: number;
  readonly redisClusterKeys: number;
  /** CPU (user + system) per copied key of the SCAN import: irisctl's, and the local cluster's processes' (nodes and controller). */
  readonly irisctlCpuUsPerKey: number;
  readonly clusterCpuUsPerKey: number;
  /** The same, split: the three primaries, the three replicas, the controller. */
  readonly clusterCpuUsPerKeyByRole: ClusterCpu;
  /** --follow's command stream (import-stream.ts). */
  readonly stream: StreamBenchResult;
  /** The 1-minute load average when the SCAN import started and ended: other work on the machine moves these numbers. */
  readonly loadAverage: readonly [number, number];
}

function loadAverage(): number {
  return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

const VALUE_BYTES = 100;

/** The i-th key's SET as RESP for redis-cli --pipe (much faster than a client): a 100-byte value, one in ten with a one-hour TTL. */
export function setCommand(prefix: string, i: number): { key: string; resp: string; withTtl: boolean } {
  const key = `${prefix}:${String(i).padStart(9, '0')}`;
  const value = `${i}:`.padEnd(VALUE_BYTES, 'x');
  const withTtl = i % 10 === 0;
  const resp = withTtl
    ? `*5\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n$2\r\nPX\r\n$7\r\n3600000\r\n`
    : `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
  return { key, resp, withTtl };
}

function protocol(from: number, to: number): Buffer {
  const parts: string[] = [];
  for (let i = from; i < to; i++) parts.push(setCommand('imp', i).resp);
  return Buffer.from(parts.join(''));
}

async function load(port: number, keys: number): Promise<void> {
  for (let i = 0; i < keys; i += 200_000) {
    const r = await run('redis-cli', ['-p', String(port), '--pipe'], { input: protocol(i, Math.min(keys, i + 200_000)), timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`redis-cli --pipe: ${r.stderr}`);
  }
}

/** CPU seconds (user + system) of a local cluster's processes (their command lines contain `marker`, its directory), by role at the start: pod 0 of each shard is its primary. */
interface ClusterCpu {
  readonly primaries: number;
  readonly replicas: number;
  /** The controller and anything else of the cluster. */
  readonly other: number;
}

function clusterCpuOf(marker: string): ClusterCpu {
  const ticks = { primaries: 0, replicas: 0, other: 0 };
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(marker)) continue;
      const c = statCpu(fs.readFileSync(`/proc/${entry}/stat`, 'utf8'));
      const t = (c.userUs + c.sysUs) / 1e6;
      const pod = /--node-name\0[^\0]*-(\d+)\0/.exec(cmdline);
      if (pod === null) ticks.other += t;
      else if (pod[1] === '0') ticks.primaries += t;
      else ticks.replicas += t;
    } catch {
      // the process exited while we looked
    }
  }
  return ticks;
}

/** irisctl import through sh, whose `times` reports the finished child's CPU (user + system). */
async function irisImport(dir: string, port: number, extra: string[]): Promise<{ copied: number; seconds: number; cpuSeconds: number }> {
  const r = await run('/bin/sh', ['-c', '"$0" "$@"; code=$?; times >&2; exit $code', process.execPath, IRISCTL, 'import', '--dir', dir, '--from', `redis://127.0.0.1:${port}`, '--json', ...extra], { timeoutMs: 3_600_000 });
  if (r.code !== 0) throw new Error(`irisctl import ${extra.join(' ')} exited with ${r.code}: ${r.stderr}`);
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(r.stderr);
  const cpuSeconds = m === null ? NaN : Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
  return { ...(JSON.parse(r.stdout) as { copied: number; seconds: number }), cpuSeconds };
}

/** The lines under the import table: CPU per key, and --follow's command stream. */
export function importCpuLine(m: ImportBenchResult): string {
  return `CPU per key copied by irisctl import: irisctl ${m.irisctlCpuUsPerKey.toFixed(1)} µs, the local cluster's nodes and controller ${m.clusterCpuUsPerKey.toFixed(1)} µs ` +
    `(primaries ${m.clusterCpuUsPerKeyByRole.primaries.toFixed(1)}, replicas ${m.clusterCpuUsPerKeyByRole.replicas.toFixed(1)}, controller ${m.clusterCpuUsPerKeyByRole.other.toFixed(1)}) ` +
    `(load average ${m.loadAverage[0].toFixed(1)} → ${m.loadAverage[1].toFixed(1)} during it).\n` +
    `irisctl import --follow's command stream: ${m.stream.commands} SET/INCR over 10,000 keys (redis-benchmark -P 16) applied in ${m.stream.seconds.toFixed(1)} s, ${Math.round(m.stream.commandsPerSec)} commands/s.`;
}

type ScanPart = Pick<ImportBenchResult, 'keys' | 'irisScanKeysPerSec' | 'irisScanSeconds' | 'irisctlCpuUsPerKey' | 'clusterCpuUsPerKey' | 'clusterCpuUsPerKeyByRole' | 'loadAverage'>;

function scanResult(keys: number, scan: { copied: number; seconds: number; cpuSeconds: number }, cpu: ClusterCpu, loadAverage: readonly [number, number]): ScanPart {
  const perKey = (sec: number): number => (sec * 1e6) / scan.copied;
  return {
    keys, irisScanKeysPerSec: scan.copied / scan.seconds, irisScanSeconds: scan.seconds, irisctlCpuUsPerKey: perKey(scan.cpuSeconds),
    clusterCpuUsPerKey: perKey(cpu.primaries + cpu.replicas + cpu.other),
    clusterCpuUsPerKeyByRole: { primaries: perKey(cpu.primaries), replicas: perKey(cpu.replicas), other: perKey(cpu.other) },
    loadAverage,
  };
}

export async function importBench(keys: number): Promise<ImportBenchResult> {
  const source = await startRedis();
  try {
    await load(source.port, keys);
    const cluster = await LocalCluster.start({ shards: 3, replicas: 1 });
    let scan: { copied: number; seconds: number; cpuSeconds: number };
    let follow: { copied: number; seconds: number };
    let clusterCpu: ClusterCpu;
    let stream: StreamBenchResult;
    let loadAtStart = NaN;
    let loadAtEnd = NaN;
    try {
      const before = clusterCpuOf(cluster.dir);
      loadAtStart = loadAverage();
      // BENCH_IMPORT_BATCH: irisctl import --batch N (default: irisctl's own, 3000 per primary), to compare batch sizes in the same conditions.
      const batch = process.env.BENCH_IMPORT_BATCH;
      scan = await irisImport(cluster.dir, source.port, batch !== undefined && batch !== '' ? ['--batch', batch] : []);
      loadAtEnd = loadAverage();
      const after = clusterCpuOf(cluster.dir);
      clusterCpu = { primaries: after.primaries - before.primaries, replicas: after.replicas - before.replicas, other: after.other - before.other };
      // BENCH_IMPORT_SCAN_ONLY=1: the SCAN import alone (to compare settings or builds in alternation); the other rows read NaN.
      if (process.env.BENCH_IMPORT_SCAN_ONLY === '1') {
        return { ...scanResult(keys, scan, clusterCpu, [loadAtStart, loadAtEnd]), irisFollowKeysPerSec: NaN, irisFollowSeconds: NaN,
          redisClusterKeysPerSec: NaN, redisClusterSeconds: NaN, redisClusterKeys: NaN, stream: { commands: 0, seconds: NaN, commandsPerSec: NaN } };
      }
      follow = await irisImport(cluster.dir, source.port, ['--follow', '--until-lag', '0', '--verify', '0']);
      stream = await followStreamBench(cluster.dir, Math.min(100_000, keys));
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
        ...scanResult(keys, scan, clusterCpu, [loadAtStart, loadAtEnd]),
        irisFollowKeysPerSec: follow.copied / follow.seconds, irisFollowSeconds: follow.seconds,
        redisClusterKeysPerSec: redisKeys / seconds, redisClusterSeconds: seconds, redisClusterKeys: redisKeys, stream,
      };
    } finally {
      await redisCluster.stop();
    }
  } finally {
    await source.stop();
  }
}
