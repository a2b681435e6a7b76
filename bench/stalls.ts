/**
 * Event-loop stalls during background jobs (issue #16): a primary and a
 * replica loaded with N keys (BENCH_STALL_KEYS, 1,000,000 by default), then
 * the longest event-loop delay on each node while one job runs at a time:
 * a digest comparison (primary + replica), active expiry of 100k keys that
 * expire together, and a full resync of every key to a new replica. The
 * delay is the node's own irisdb_event_loop_delay_seconds{quantile="1"}
 * (perf_hooks.monitorEventLoopDelay, max since the last scrape), scraped
 * every 200 ms and maxed over the job; a client PINGing every 5 ms gives the
 * worst reply time a user saw. Next to it: the node's own CPU time and its
 * run-queue wait in its worst late tick (irisdb_event_loop_worst_tick_seconds),
 * which tell the node's work from the machine's, and how many SQLite commits
 * took over 50 ms (irisdb_sqlite_commit_duration_seconds), and how many of the
 * write journal's batch COMMITs did (irisdb_journal_batch_commit_duration_seconds:
 * they run on the event loop). The last job is a SET load (redis-benchmark
 * -P 16 over BENCH_STALL_WRITE_KEYS keys, BENCH_STALL_WRITES requests; 0 skips
 * it): the batch commits' stall under writes.
 *
 * BENCH_STALL_NODE_MAIN: another build's node/main.js (old vs new in the same
 * harness; a build without the worst-tick gauge shows "–" there).
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { AdminClient } from '../common/admin-client.js';
import { CLUSTER_TOKEN, Shard, connectClient, metric, metricValue, metricsText, startNamedNode, type ShardNode } from '../test/support/repl-shard.js';
import { waitFor } from '../test/support/wait.js';
import { redisBenchmark } from './redis-benchmark.js';

export interface StallRow {
  readonly job: string;
  /** Longest event-loop delay per node, ms. */
  readonly loopMaxMs: Record<string, number>;
  /**
   * Share of the job's wall time each node's main thread spent runnable but
   * waiting for a CPU, % (Linux schedstat): high means the machine, not the
   * node, made the delay (every other process wanted the same two cores).
   */
  readonly cpuWaitPct: Record<string, number>;
  /** Per node, the job's latest tick: its delay and the main thread's own CPU and run-queue wait over it, ms (null: not measured). */
  readonly worstTick: Record<string, WorstTick>;
  /** Per node, SQLite commits during the job: all, and over 50 ms. */
  readonly commits: Record<string, { readonly all: number; readonly over50ms: number }>;
  /** Per node, the write journal's batch COMMITs during the job: all, and over 50 ms. */
  readonly batchCommits: Record<string, { readonly all: number; readonly over50ms: number }>;
  /** Longest PING round trip to the primary during the job, ms. */
  readonly pingMaxMs: number;
  readonly seconds: number;
}

export interface WorstTick {
  readonly delayMs: number;
  readonly ownCpuMs: number | null;
  readonly cpuWaitMs: number | null;
}

/** BENCH_STALL_NODE_ARGS: extra node flags, e.g. `--replica-apply-slice-ms 1000` to see a replica without apply slices. */
const ARGS = ['--fsync', 'batch', ...(process.env.BENCH_STALL_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')];
const MAIN = process.env.BENCH_STALL_NODE_MAIN === undefined || process.env.BENCH_STALL_NODE_MAIN === '' ? undefined : process.env.BENCH_STALL_NODE_MAIN;
const COMMITS = 'irisdb_sqlite_commit_duration_seconds';
const BATCH_COMMITS = 'irisdb_journal_batch_commit_duration_seconds';
const WRITES = Number(process.env.BENCH_STALL_WRITES ?? 1_000_000);
const VALUE = 'v'.repeat(100);
const EXPIRING = Number(process.env.BENCH_STALL_EXPIRING ?? 100_000);
const SCRAPE_MS = 200;
/** The expiring keys all expire this long after their PEXPIREATs start. */
const EXPIRE_AFTER_MS = 30_000;

/** Loads keys `${prefix}i` for i in [0, n) with MSET, pipelined. */
async function load(redis: Redis, prefix: string, n: number): Promise<void> {
  const PER_CMD = 500;
  const DEPTH = 8;
  let i = 0;
  while (i < n) {
    const pipe = redis.pipeline();
    for (let d = 0; d < DEPTH && i < n; d++) {
      const args: string[] = [];
      for (let k = 0; k < PER_CMD && i < n; k++, i++) args.push(`${prefix}${i}`, VALUE);
      pipe.mset(...args);
    }
    const res = await pipe.exec();
    for (const [err] of res ?? []) if (err) throw err;
  }
}

/** Time the process's main thread has waited for a CPU so far, ms (/proc/PID/task/PID/schedstat, field 2; 0 where there is none). */
function cpuWaitMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return Number(fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return 0;
  }
}

/** Max of each node's event-loop delay and of PING round trips while `job` runs. */
async function during(name: string, nodes: () => ShardNode[], port: number, job: () => Promise<void>): Promise<StallRow> {
  const loopMax: Record<string, number> = {};
  const waitAtStart: Record<string, number> = {};
  const worstTick: Record<string, WorstTick> = {};
  const commitsAt: Record<string, { all: number; le50: number }> = {};
  const commitsNow: Record<string, { all: number; le50: number }> = {};
  const batchAt: Record<string, { all: number; le50: number }> = {};
  const batchNow: Record<string, { all: number; le50: number }> = {};
  const scrape = async (): Promise<void> => {
    for (const n of nodes()) {
      waitAtStart[n.name] ??= cpuWaitMs(n.node.process.pid);
      // One scrape per node: each resets the per-scrape gauges.
      const text = await metricsText(n.node).catch(() => '');
      const v = metricValue(text, 'irisdb_event_loop_delay_seconds', { quantile: '1' });
      loopMax[n.name] = Math.max(loopMax[n.name] ?? 0, v * 1000);
      const delay = metricValue(text, 'irisdb_event_loop_worst_tick_seconds', { part: 'delay' }) * 1000;
      if (text.includes('irisdb_event_loop_worst_tick_seconds') && delay > (worstTick[n.name]?.delayMs ?? -1)) {
        const has = text.includes('irisdb_event_loop_worst_tick_seconds{part="own_cpu"}');
        worstTick[n.name] = {
          delayMs: delay,
          ownCpuMs: has ? metricValue(text, 'irisdb_event_loop_worst_tick_seconds', { part: 'own_cpu' }) * 1000 : null,
          cpuWaitMs: has ? metricValue(text, 'irisdb_event_loop_worst_tick_seconds', { part: 'cpu_wait' }) * 1000 : null,
        };
      }
      if (text !== '') {
        const c = { all: metricValue(text, `${COMMITS}_count`), le50: metricValue(text, `${COMMITS}_bucket`, { le: '0.05' }) };
        commitsAt[n.name] ??= c;
        commitsNow[n.name] = c;
        const bc = { all: metricValue(text, `${BATCH_COMMITS}_count`), le50: metricValue(text, `${BATCH_COMMITS}_bucket`, { le: '0.05' }) };
        batchAt[n.name] ??= bc;
        batchNow[n.name] = bc;
      }
    }
  };
  await scrape(); // resets the nodes' histograms: only the job's delays count
  for (const k of Object.keys(loopMax)) loopMax[k] = 0;
  for (const k of Object.keys(worstTick)) delete worstTick[k];
  const pinger = await connectClient(port);
  let running = true;
  let pingMax = 0;
  const pings = (async () => {
    while (running) {
      const t = performance.now();
      await pinger.ping();
      pingMax = Math.max(pingMax, performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const scrapes = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, SCRAPE_MS));
      await scrape();
    }
  })();
  const t0 = performance.now();
  try {
    await job();
  } finally {
    running = false;
    await Promise.all([pings, scrapes]);
    pinger.disconnect();
  }
  const seconds = (performance.now() - t0) / 1000;
  await scrape();
  const cpuWaitPct: Record<string, number> = {};
  for (const n of nodes()) cpuWaitPct[n.name] = ((cpuWaitMs(n.node.process.pid) - (waitAtStart[n.name] ?? 0)) / (seconds * 1000)) * 100;
  const delta = (nowBy: typeof commitsNow, atBy: typeof commitsAt): Record<string, { all: number; over50ms: number }> => {
    const out: Record<string, { all: number; over50ms: number }> = {};
    for (const [k, now] of Object.entries(nowBy)) {
      const at = atBy[k]!;
      out[k] = { all: now.all - at.all, over50ms: now.all - at.all - (now.le50 - at.le50) };
    }
    return out;
  };
  return { job: name, loopMaxMs: loopMax, cpuWaitPct, worstTick, commits: delta(commitsNow, commitsAt), batchCommits: delta(batchNow, batchAt), pingMaxMs: pingMax, seconds };
}

export async function stallsBench(keys: number): Promise<StallRow[]> {
  const shard = await Shard.start({ replicas: 1, minSyncReplicas: 0, args: ARGS, namePrefix: 'stall', main: MAIN });
  let extra: ShardNode | undefined;
  const rows: StallRow[] = [];
  const writer = await connectClient(shard.primary.node.port);
  try {
    const port = shard.primary.node.port;
    const base = (): ShardNode[] => shard.nodes;
    rows.push(await during(`load ${keys} keys (MSET ×500, 8 deep)`, base, port, async () => {
      await load(writer, 'k:', keys);
      await shard.waitForConvergence(600_000);
    }));
    rows.push(await during('idle, 2 s', base, port, () => new Promise((r) => setTimeout(r, 2000))));
    rows.push(await during('digest comparison (primary + replica)', base, port, async () => {
      // A digest of 1M keys in 10 ms slices outlasts the admin client's default 30 s on a loaded machine.
      const diff = await new AdminClient(shard.primary.node.url, CLUSTER_TOKEN, 900_000).digestDiff();
      if (diff.replicas.some((r) => r.error !== null || r.differing.length > 0)) throw new Error(`digest diff: ${JSON.stringify(diff)}`);
    }));
    // Every one of them expires at the same instant, after the PEXPIREATs are in.
    await load(writer, 'e:', EXPIRING);
    const at = Date.now() + EXPIRE_AFTER_MS;
    for (let i = 0; i < EXPIRING;) {
      const pipe = writer.pipeline();
      for (let d = 0; d < 2000 && i < EXPIRING; d++, i++) pipe.pexpireat(`e:${i}`, at);
      for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
    }
    if (Date.now() >= at) throw new Error(`setting ${EXPIRING} expiries took longer than ${EXPIRE_AFTER_MS} ms`);
    await shard.waitForConvergence(600_000);
    rows.push(await during(`active expiry of ${EXPIRING} keys`, base, port, async () => {
      await waitFor('every expiring key deleted', async () => Number(await writer.dbsize()) <= keys, { timeoutMs: 600_000, intervalMs: 100 });
      await shard.waitForConvergence(600_000);
    }));
    extra = await startNamedNode('stall9', { minSyncReplicas: 0, args: ARGS, main: MAIN });
    const added = extra;
    rows.push(await during(`full resync of ${keys} keys to a new replica`, () => [...shard.nodes, added], port, async () => {
      await added.admin.setRole({ role: 'replica', epoch: shard.epoch, primary: Shard.busAddress(shard.primary) });
      await shard.primary.admin.setRole({ role: 'primary', epoch: shard.epoch, replicas: [...shard.replicas.map((r) => r.name), added.name] });
      await waitFor('the new replica streams', async () => (await added.admin.replication()).primary?.state === 'streaming', { timeoutMs: 900_000, intervalMs: 200 });
    }));
    const keysOnNew = await metric(added.node, 'redis_db_keys');
    if (keysOnNew < keys) throw new Error(`new replica holds ${keysOnNew} keys, expected ${keys}`);
    if (WRITES > 0) {
      const writeKeys = Number(process.env.BENCH_STALL_WRITE_KEYS ?? keys);
      rows.push(await during(`SET load: ${WRITES} SETs -P 16 over ${writeKeys} keys (2 replicas)`, () => [...shard.nodes, added], port, async () => {
        await redisBenchmark({ port, tests: 'set', requests: WRITES, clients: 50, valueBytes: 100, keyspace: writeKeys, pipeline: 16 });
      }));
    }
  } finally {
    writer.disconnect();
    await shard.stop();
    if (extra !== undefined) {
      await extra.node.kill9().catch(() => undefined);
      fs.rmSync(extra.node.dataDir, { recursive: true, force: true });
    }
  }
  return rows;
}

/**
 * The section's tables: per node, the longest loop delay and (in brackets) how much of the job its
 * main thread waited for a CPU; then its worst late tick split into own CPU and run-queue wait, and its slow commits.
 */
export function printStalls(rows: readonly StallRow[], keys: number, fmt: (n: number, digits?: number) => string): void {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.loopMaxMs)))];
  console.log(`\n## Event-loop stalls: 1 primary + 1 replica, ${fmt(keys)} keys (100-byte values), longest event-loop delay per node during each job (in brackets: % of the job its main thread waited for a CPU)\n`);
  console.log(`| job | s | ${names.map((n) => `${n} max loop delay ms`).join(' | ')} | worst PING to the primary ms |`);
  console.log(`|---|---|${names.map(() => '---|').join('')}---|`);
  const cell = (r: StallRow, n: string): string => (r.loopMaxMs[n] === undefined ? '–' : `${fmt(r.loopMaxMs[n]!, 1)} (${fmt(r.cpuWaitPct[n] ?? 0, 0)} %)`);
  for (const r of rows) console.log(`| ${r.job} | ${fmt(r.seconds, 1)} | ${names.map((n) => cell(r, n)).join(' | ')} | ${fmt(r.pingMaxMs, 1)} |`);
  console.log('\nWorst late tick per node: its delay ms (the main thread\'s own CPU and run-queue wait over the tick\'s interval, ms; the rest of 10 ms + delay it was blocked, e.g. in a COMMIT); then commits over 50 ms / all commits during the job (with the write journal: its batch COMMITs over 50 ms / all)\n');
  console.log(`| job | ${names.map((n) => `${n} worst tick | ${n} commits > 50 ms`).join(' | ')} |`);
  console.log(`|---|${names.map(() => '---|---|').join('')}`);
  const tick = (r: StallRow, n: string): string => {
    const w = r.worstTick[n];
    if (w === undefined) return '–';
    if (w.ownCpuMs === null || w.cpuWaitMs === null) return `${fmt(w.delayMs, 1)} (–)`;
    return `${fmt(w.delayMs, 1)} (${fmt(w.ownCpuMs, 1)} cpu, ${fmt(w.cpuWaitMs, 1)} wait)`;
  };
  const pair = (c: { over50ms: number; all: number } | undefined): string => (c === undefined ? '–' : `${fmt(c.over50ms)} / ${fmt(c.all)}`);
  const commits = (r: StallRow, n: string): string => `${pair(r.commits[n])}${r.batchCommits[n] === undefined || r.batchCommits[n]!.all === 0 ? '' : ` (batches ${pair(r.batchCommits[n])})`}`;
  for (const r of rows) console.log(`| ${r.job} | ${names.map((n) => `${tick(r, n)} | ${commits(r, n)}`).join(' | ')} |`);
}
