/**
 * Backup and restore (issue #15): BENCH_KEYS keys of 100-byte random values
 * in the default local cluster (3 shards × 1 replica, minSyncReplicas 1),
 * `irisctl backup create` to a filesystem destination (wall time, keys/s,
 * MB/s of rows read and of objects written), foreground SET throughput
 * during the backup as a ratio of the same load without one (the mean of a
 * window before and one after the backup), then `irisctl
 * local up --restore-from` into a new 3-shard cluster until it is Ready.
 * Next to redis-server in the same run: BGSAVE time and restart-from-RDB
 * time for the same keys.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Cluster, Redis } from 'ioredis';
import { LocalCluster } from '../test/support/local-cluster.js';
import { run } from '../test/support/run.js';
import { waitFor } from '../test/support/wait.js';
import { bulkClient, delay, waitCaughtUp } from './control-plane.js';
import { startRedis } from './processes.js';
import { cpuMicros } from './proc-cpu.js';
import type { ShardManifest } from '../common/backup/manifest.js';

export interface BackupBenchResult {
  readonly keys: number;
  /** The preloaded keys plus the load's own (written before the backup). */
  readonly keysInBackup: number;
  readonly backupSeconds: number;
  readonly backupRawBytes: number;
  readonly backupStoredBytes: number;
  /** The mean of the windows before and after the backup (the load's rate drifts as the preload's checkpoints settle). */
  readonly setOpsBaseline: number;
  readonly setOpsBefore: number;
  readonly setOpsAfter: number;
  readonly setOpsDuringBackup: number;
  /** 1-minute load average at the start and the end of the SET windows. */
  readonly loadAverage: readonly [number, number];
  readonly restoreSeconds: number;
  readonly restoreReadySeconds: number;
  readonly restoredKeys: number;
  readonly redisBgsaveSeconds: number;
  readonly redisRestartSeconds: number;
  readonly redisRdbBytes: number;
}

const VALUE_BYTES = 100;
/** Concurrent unpipelined SET loops of the foreground load. */
const LOOPS = 32;
const BASELINE_MS = 10_000;
const WARMUP_MS = 15_000;

function value(): string {
  return randomBytes(75).toString('base64');
}

async function preload(seedPort: number, keys: number): Promise<void> {
  const client = bulkClient(seedPort);
  try {
    for (let i = 0; i < keys; i += 5000) {
      const n = Math.min(5000, keys - i);
      await Promise.all(Array.from({ length: n }, (_, j) => client.set(`bk:${String(i + j).padStart(9, '0')}`, value())));
    }
  } finally {
    client.disconnect();
  }
}

/** A connected cluster client (slots known), so its start-up is not counted in a window. */
async function loadClient(seedPort: number): Promise<Cluster> {
  const client = new Cluster([{ host: '127.0.0.1', port: seedPort }], { maxRedirections: 64, redisOptions: { enableReadyCheck: false } });
  client.on('error', () => {});
  await Promise.all(Array.from({ length: LOOPS }, (_, l) => client.set(`load:${l}:warm`, 'x')));
  return client;
}

/** SET loops on their own keys until `until` resolves; ops/s. */
async function setLoad(client: Cluster, until: Promise<unknown>): Promise<number> {
  let stop = false;
  void until.finally(() => (stop = true));
  let ops = 0;
  const t0 = performance.now();
  try {
    await Promise.all(Array.from({ length: LOOPS }, async (_, l) => {
      for (let i = 0; !stop; i++) {
        await client.set(`load:${l}:${i % 1000}`, 'x'.repeat(VALUE_BYTES));
        ops++;
      }
    }));
    return ops / ((performance.now() - t0) / 1000);
  } finally {
    stop = true;
  }
}

/** CPU seconds (user + system) the node processes have used (Linux /proc; their snapshot child processes not included): the nodes' own cost. */
function nodesCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMicros(pid), 0) / 1e6;
}

async function nodePids(c: LocalCluster): Promise<number[]> {
  const names = (await c.status()).shards.flatMap((s) => s.nodes.map((n) => n.name));
  return Promise.all(names.map((n) => c.pidOf(n)));
}

/** Each node's V8 garbage-collection seconds so far (prom-client's nodejs_gc_duration_seconds on its /metrics), by node name. */
async function gcSecondsByNode(c: LocalCluster): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const n of (await c.status()).shards.flatMap((s) => s.nodes)) {
    const text = await (await fetch(`${n.httpUrl!}/metrics`)).text();
    let sum = 0;
    for (const m of text.matchAll(/^irisdb_process_nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm)) sum += Number(m[1]);
    out.set(n.name, sum);
  }
  return out;
}

function massInsert(keys: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < keys; i++) {
    const k = `bk:${String(i).padStart(9, '0')}`;
    parts.push(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$100\r\n${value()}\r\n`);
  }
  return Buffer.from(parts.join(''));
}

async function redisSide(keys: number): Promise<{ bgsave: number; restart: number; rdbBytes: number }> {
  const redis = await startRedis();
  const load = await run('redis-cli', ['-p', String(redis.port), '--pipe'], { input: massInsert(keys), timeoutMs: 900_000 });
  if (load.code !== 0) throw new Error(`loading redis failed: ${load.stdout} ${load.stderr}`);
  const client = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: false });
  let bgsave: number;
  try {
    const before = await client.lastsave();
    const t0 = performance.now();
    await client.bgsave();
    await waitFor('BGSAVE to finish', async () => {
      const info = await client.info('persistence');
      return /rdb_bgsave_in_progress:0/.test(info) && (await client.lastsave()) !== before ? true : null;
    }, { timeoutMs: 600_000, intervalMs: 20 });
    bgsave = (performance.now() - t0) / 1000;
  } finally {
    client.disconnect();
  }
  await redis.stop();
  const rdb = path.join(redis.dir, 'dump.rdb');
  const rdbBytes = fs.statSync(rdb).size;
  // Restart on the same file: until the keys are served (PING answers LOADING while it loads).
  const t0 = performance.now();
  const again = await startRedis(['--dir', redis.dir, '--dbfilename', 'dump.rdb']);
  const c2 = new Redis({ port: again.port, host: '127.0.0.1', enableReadyCheck: false, retryStrategy: () => 10 });
  try {
    await waitFor('redis to load its RDB', async () => ((await c2.dbsize().catch(() => -1)) === keys ? true : null), { timeoutMs: 600_000, intervalMs: 10 });
  } finally {
    c2.disconnect();
  }
  const restart = (performance.now() - t0) / 1000;
  await again.stop();
  await fs.promises.rm(redis.dir, { recursive: true, force: true });
  return { bgsave, restart, rdbBytes };
}

export async function backupBench(keys: number): Promise<BackupBenchResult> {
  // BENCH_BACKUP_DIR: where the file destination goes (another disk, or /dev/shm to see what the destination's own writes cost the nodes).
  const dest = await fs.promises.mkdtemp(path.join(process.env.BENCH_BACKUP_DIR ?? os.tmpdir(), 'irisdb-bench-backup-'));
  const url = `file://${dest}`;
  const source = await LocalCluster.start({ shards: 3, replicas: 1 });
  let restored: LocalCluster | null = null;
  try {
    await preload(await source.seedPort(), keys);
    await waitCaughtUp(source, 600_000);
    await delay(3000); // the load's aftermath (checkpoints) settles before measuring
    const load = await loadClient(await source.seedPort());
    // Not measured: the nodes' throughput climbs for a while after the preload (its checkpoints, JIT); the windows compared start after it.
    await setLoad(load, delay(WARMUP_MS));
    const loadBefore = os.loadavg()[0]!;
    const pids = await nodePids(source);
    const cpu0 = nodesCpuSeconds(pids);
    const setOpsBefore = await setLoad(load, delay(BASELINE_MS));
    const cpu1 = nodesCpuSeconds(pids);

    const gc0 = await gcSecondsByNode(source);
    const t0 = performance.now();
    // BENCH_BACKUP_MAX_RATE (bytes/s per node): the backup's read pace limit, to see what it buys the foreground.
    const rate = process.env.BENCH_BACKUP_MAX_RATE;
    const rec = await source.client.createBackup({ destination: url, ...(rate !== undefined ? { maxBytesPerSecond: Number(rate) } : {}) });
    const finished = waitFor('the backup', async () => {
      const b = await source.client.backup(rec.id);
      if (b.phase === 'Failed') throw new Error(`backup failed: ${b.message ?? ''}`);
      return b.phase === 'Completed' ? b : null;
    }, { timeoutMs: 900_000, intervalMs: 50 });
    const [setOpsDuringBackup, done] = await Promise.all([setLoad(load, finished), finished]);
    const backupSeconds = (performance.now() - t0) / 1000;
    const cpu2 = nodesCpuSeconds(pids);
    const gc1 = await gcSecondsByNode(source);
    const readers = new Set(done.shards.map((x) => x.node).filter((n): n is string => n !== null));
    const gcMs = (names: string[]): string => (names.reduce((a, n) => a + (gc1.get(n)! - gc0.get(n)!), 0) * 1000 / names.length / backupSeconds).toFixed(1);
    console.log(`V8 GC during the backup, ms per second per node: the ${readers.size} reading nodes ${gcMs([...readers])}, the others ${gcMs([...gc0.keys()].filter((n) => !readers.has(n)))}`);
    const setOpsAfter = await setLoad(load, delay(BASELINE_MS));
    const cpu3 = nodesCpuSeconds(pids);
    // The nodes' own CPU per acknowledged SET in each window: what the backup costs the node processes, however busy the machine.
    const perSet = (cpu: number, rate: number, seconds: number): string => ((cpu * 1e6) / (rate * seconds)).toFixed(0);
    console.log(`node processes' CPU per SET (us): before ${perSet(cpu1 - cpu0, setOpsBefore, BASELINE_MS / 1000)}, during the backup ${perSet(cpu2 - cpu1, setOpsDuringBackup, backupSeconds)}, after ${perSet(cpu3 - cpu2, setOpsAfter, BASELINE_MS / 1000)}`);
    const loadAfter = os.loadavg()[0]!;
    load.disconnect();
    let raw = 0;
    let stored = 0;
    let inBackup = 0;
    const cpus: Array<NonNullable<ShardManifest['snapshotCpu']>> = [];
    for (const s of done.shards) {
      const m = JSON.parse(await fs.promises.readFile(path.join(dest, s.manifest!.key), 'utf8')) as ShardManifest;
      inBackup += m.keys;
      raw += m.rawBytes;
      stored += m.bytes;
      if (m.snapshotCpu !== undefined) cpus.push(m.snapshotCpu);
    }
    // The snapshot processes' own CPU (each reports its process.cpuUsage()): what the backup takes from the foreground on a saturated machine.
    if (cpus.length > 0) {
      const cpuSeconds = cpus.reduce((a, c) => a + c.cpuSeconds, 0);
      const shares = cpus.map((c) => `${((100 * c.cpuSeconds) / c.seconds).toFixed(0)}% over ${c.seconds.toFixed(1)} s`).join(', ');
      console.log(`snapshot processes: ${cpuSeconds.toFixed(2)} s CPU, ${((cpuSeconds * 1e6) / inBackup).toFixed(1)} us per key; each (budget ${cpus[0]!.cpuPercent}% of a core): ${shares}; backup ${backupSeconds.toFixed(1)} s`);
    }
    await source.destroy();
    // BENCH_BACKUP_FOREGROUND_ONLY=1: the foreground ratio alone (alternating builds for it); restore and redis-server rows read NaN.
    if (process.env.BENCH_BACKUP_FOREGROUND_ONLY === '1') {
      return {
        keys, keysInBackup: inBackup, backupSeconds, backupRawBytes: raw, backupStoredBytes: stored,
        setOpsBaseline: (setOpsBefore + setOpsAfter) / 2, setOpsBefore, setOpsAfter, setOpsDuringBackup, loadAverage: [loadBefore, loadAfter],
        restoreSeconds: NaN, restoreReadySeconds: NaN, restoredKeys: NaN, redisBgsaveSeconds: NaN, redisRestartSeconds: NaN, redisRdbBytes: NaN,
      };
    }

    const r0 = performance.now();
    restored = await LocalCluster.launch({ shards: 3, replicas: 1, extraArgs: ['--restore-from', url, '--backup', rec.id] });
    const line = await waitFor('the restore to load', async () => /restored (\d+) keys/.exec(restored!.output()), { timeoutMs: 600_000, intervalMs: 20 });
    const restoreSeconds = (performance.now() - r0) / 1000;
    await restored.waitReady(600_000);
    const restoreReadySeconds = (performance.now() - r0) / 1000;

    const redis = await redisSide(keys);
    return {
      keys, keysInBackup: inBackup, backupSeconds, backupRawBytes: raw, backupStoredBytes: stored,
      setOpsBaseline: (setOpsBefore + setOpsAfter) / 2, setOpsBefore, setOpsAfter, setOpsDuringBackup, loadAverage: [loadBefore, loadAfter],
      restoreSeconds, restoreReadySeconds, restoredKeys: Number(line[1]),
      redisBgsaveSeconds: redis.bgsave, redisRestartSeconds: redis.restart, redisRdbBytes: redis.rdbBytes,
    };
  } finally {
    await restored?.destroy();
    await source.destroy();
    await fs.promises.rm(dest, { recursive: true, force: true });
  }
}
