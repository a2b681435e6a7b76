/**
 * npm run bench: prints throughput/latency tables with the irisdb/redis
 * ratio, measured in the same run. Results are recorded by hand in
 * docs/benchmarks.md. BENCH_REQUESTS and BENCH_KEYS scale the run;
 * BENCH_FAILOVER_RUNS the control-plane section's failovers per fault
 * (there, 0 skips the failovers, and BENCH_KEYS=0 the rescale);
 * BENCH_FAILOVER_DURABILITY=preferred|required sets its cluster's dataDurability,
 * BENCH_FAILOVER_COMMAND_TIMEOUT_MS its checker client's commandTimeout (500),
 * BENCH_FAILOVER_RESUME=promoted resumes a SIGSTOPped primary once its replacement shows.
 * BENCH_ONLY=failover-vs-redis: the same BENCH_FAILOVER_RUNS and _DURABILITY, BENCH_FAILOVER_REPLICAS
 * (IrisDB replicas per shard, 1) and BENCH_FAILOVER_PAUSE_MS (how long a primary stays SIGSTOPped, 5000).
 */
import { singleNodeBench } from './single-node.js';
import { footprintBench } from './footprint.js';
import { replicationBench, type ReplRow } from './replication.js';
import { killChildrenOnExit } from './processes.js';
import { migrationBench, type MigrationBenchResult } from './migration.js';
import { CHECKER_CLIENT } from './failover-checker.js';
import { GAP_WINDOW_MS, failoverBench, type FailoverBenchResult } from './failover.js';
import { rescaleBench, type RescaleBenchResult } from './rescale.js';
import { backupBench, type BackupBenchResult } from './backup.js';
import { pubsubBench } from './pubsub.js';
import { importVerifyBench, importVerifyLines, importVerifyPassed } from './import-verify.js';
import { importBench, importCpuLine } from './import.js';
import { tracingBench } from './tracing.js';
import { clientPauseBench, printClientPause } from './client-pause.js';
import { consistencyBench } from './consistency.js';
import { printStalls, stallsBench } from './stalls.js';
import { tlsBench } from './tls.js';
import { aclBench } from './acl.js';
import { encryptionBench, printEncryption } from './encryption.js';

const requests = Number(process.env.BENCH_REQUESTS ?? 200_000);
const keys = Number(process.env.BENCH_KEYS ?? 1_000_000);
const only = process.env.BENCH_ONLY ?? '';
const CONSISTENCY_CLIENTS_LABEL = '16 keep-alive clients';
const failoverRuns = Number(process.env.BENCH_FAILOVER_RUNS ?? 20);
const failoverDurability = process.env.BENCH_FAILOVER_DURABILITY;

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function printReplication(rows: readonly ReplRow[]): void {
  console.log('\n## Replication: SET, 1 primary + 2 replicas, redis-benchmark 50 clients, 100-byte values, 100k keys, every node durable (fsync always / appendfsync always)\n');
  console.log('| system | client acknowledged after | pipeline | req/s | p50 ms | p99 ms | / irisdb single node | irisdb / redis 1+2 | error replies | slowest replica behind at end |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  const find = (id: string, pipeline: number): ReplRow => rows.find((r) => r.system.id === id && r.pipeline === pipeline)!;
  for (const r of rows) {
    const single = find('iris-single', r.pipeline).result.rps;
    const redis = find('redis', r.pipeline).result.rps;
    const vsSingle = r.system.kind === 'iris-shard' ? `**${fmt(r.result.rps / single, 2)}**` : '—';
    const vsRedis = r.system.kind === 'iris-shard' ? `**${fmt(r.result.rps / redis, 2)}**` : '—';
    const lag = r.lagAtEnd === null ? '—' : `${fmt(r.lagAtEnd)} ${r.system.kind === 'redis' ? 'bytes' : 'ops'}`;
    console.log(`| ${r.system.label} | ${r.system.acknowledged} | ${r.pipeline} | ${fmt(r.result.rps)} | ${fmt(r.result.p50Ms, 3)} | ${fmt(r.result.p99Ms, 3)} | ${vsSingle} | ${vsRedis} | ${fmt(r.errors)} | ${lag} |`);
  }
  for (const pipeline of [1, 16]) {
    const ratio = find('iris-msr1', pipeline).result.rps / find('iris-single', pipeline).result.rps;
    console.log(`\nTarget (pipeline ${pipeline}): minSyncReplicas=1 at ${fmt(ratio, 2)} of single-node durable SET (target ≥ 0.50): ${ratio >= 0.5 ? 'met' : 'not met'}.`);
  }
  if (rows.some((r) => r.errors > 0)) console.log('\n**Warning:** some runs got error replies (e.g. NOREPLICAS after ackTimeoutMs); their throughput is not comparable.');
}

function printMigration(m: MigrationBenchResult): void {
  console.log(`\n## Live slot migration: ${fmt(m.keys)} keys of ${m.valueBytes} bytes, all of shard-0's slots to shard-1 (2 shards × primary + 1 replica, fsync always, minSyncReplicas 1)\n`);
  const mb = m.bytesCopied / 2 ** 20;
  console.log('Throughput, nothing else running:\n');
  console.log('| keys copied | copy time s | keys/s | MB/s (keys+values) | total to done s (cleanup included) | write fence ms | loader keys/s |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(`| ${fmt(m.keysCopied)} | ${fmt(m.copySeconds, 2)} | **${fmt(m.keysCopied / m.copySeconds)}** | ${fmt(mb / m.copySeconds, 1)} | ${fmt(m.totalSeconds, 1)} | ${fmt(m.fenceMs, 1)} | ${fmt(m.loadKeysPerSec)} |`);
  console.log(`\nThe pause: ${fmt(m.pauseKeys)} keys (slots 0-1023) moved back to shard-0 under a steady unpipelined GET/SET load on keys of those slots (8 loops over 2 ioredis Cluster clients); copy ${fmt(m.pauseCopyKeysPerSec)} keys/s under that load, write fence ${fmt(m.pauseFenceMs, 1)} ms:\n`);
  console.log('| window | ops | p50 ms | p99 ms | max ms |');
  console.log('|---|---|---|---|---|');
  for (const [label, s] of [['no migration (baseline)', m.baseline], ['during the copy', m.duringCopy], ['around the flip (fence ± 0.5 s)', m.aroundFlip]] as const) {
    console.log(`| ${label} | ${fmt(s.ops)} | ${fmt(s.p50Ms, 3)} | ${fmt(s.p99Ms, 3)} | ${fmt(s.maxMs, 1)} |`);
  }
  const rate = m.keysCopied / m.copySeconds;
  const ratio = m.baseline.p99Ms === 0 ? Infinity : m.aroundFlip.p99Ms / m.baseline.p99Ms;
  console.log(`\nTarget: copy ≥ 50,000 keys/s: ${fmt(rate)} — ${rate >= 50_000 ? 'met' : 'not met'}. p99 around the flip ≤ 5× p99 without migration: ${fmt(ratio, 2)}× — ${ratio <= 5 ? 'met' : 'not met'}.`);
  if (m.clientErrors > 0) console.log(`\n**Warning:** the latency clients saw ${m.clientErrors} errors.`);
}

function printRescale(s: RescaleBenchResult): void {
  console.log(`\nRescaling 3 → 4 shards with ${fmt(s.keys)} keys of ${s.valueBytes} bytes (loaded at ${fmt(s.loadKeysPerSec)} keys/s), \`scale --shards 4\` until the operation is over and the cluster Ready:\n`);
  console.log('| total s | new shard up (first migration starts) s | keys moved | keys/s over the total | controller\'s RebalanceFinished | keys per shard after | sample read back |');
  console.log('|---|---|---|---|---|---|---|');
  const perShard = Object.entries(s.keysPerShard).map(([id, n]) => `${id} ${fmt(n)}`).join(', ');
  const total = Object.values(s.keysPerShard).reduce((a, b) => a + b, 0);
  const ctl = s.controllerMs === null ? '—' : `${fmt(s.controllerMs / 1000, 1)} s, ${s.migrations} migrations, ${fmt(s.controllerKeys ?? 0)} keys`;
  console.log(`| **${fmt(s.seconds, 1)}** | ${s.addSeconds === null ? '—' : fmt(s.addSeconds, 1)} | ${fmt(s.keysMoved)} | **${fmt(s.keysMoved / s.seconds)}** | ${ctl} | ${perShard} (sum ${fmt(total)}) | ${fmt(s.sampled - s.sampleBad)} of ${fmt(s.sampled)} correct |`);
  if (total !== s.keys) console.log(`\n**Warning:** the shards hold ${fmt(total)} keys, not the ${fmt(s.keys)} loaded.`);
  console.log(`\nEach migration (one at a time; the source's cleanup included), s: ${s.migrationSeconds.map((x) => fmt(x, 1)).join(', ') || '—'}.`);
  if (s.sampleBad > 0) console.log(`\n**Wrong keys after the rescale**, e.g.: ${s.sampleBadExamples.join('; ')}`);
}

function printFailover(f: FailoverBenchResult): void {
  const c = CHECKER_CLIENT;
  const durability = f.durability === 'default' ? 'dataDurability required (the default)' : `dataDurability ${f.durability}`;
  console.log(`\nFailover time, ${durability}: signal to the victim shard's primary → first OK to a write to that shard's slots sent after the signal (one ioredis Cluster client, unpipelined write loops on every shard; commandTimeout ${c.commandTimeoutMs} ms, slotsRefreshInterval ${c.slotsRefreshIntervalMs} ms, slotsRefreshTimeout ${c.slotsRefreshTimeoutMs} ms, retryDelayOnFailover ${c.retryDelayOnFailoverMs} ms). A paused primary stays paused until ${fmt(GAP_WINDOW_MS / 1000)} s after that first write and until status shows its replacement, then gets SIGCONT:\n`);
  console.log(`| fault | runs | min ms | median ms | max ms | median ≤ 2 s | max ≤ 5 s | no write within 30 s | longest gap between OKs in the ${fmt(GAP_WINDOW_MS / 1000)} s after the first write, median / max ms | controller: failover started, median ms after the signal | promoted, median ms | client: first write after the promotion, median ms | its FailoverFinished "took" min / median / max ms |`);
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const big = (n: number): string => (n === Infinity ? '> 30,000' : fmt(n));
  for (const m of f.modes) {
    // A run without a write within the bound counts as infinitely long.
    const ms = sorted(m.runs.map((x) => x.ms ?? Infinity));
    const took = sorted(known(m.runs.map((x) => x.controller.tookMs)));
    const started = sorted(known(m.runs.map((x) => x.controller.startedAfterMs)));
    const promoted = sorted(known(m.runs.map((x) => x.controller.finishedAfterMs)));
    const clientLag = sorted(m.runs.flatMap((x) => (x.ms === null || x.controller.finishedAfterMs === null ? [] : [x.ms - x.controller.finishedAfterMs])));
    const gaps = sorted(known(m.runs.map((x) => x.maxGapMs)));
    const missing = m.runs.filter((x) => x.ms === null).length;
    const med = median(ms);
    const max = ms[ms.length - 1] ?? Infinity;
    const tookText = took.length === 0 ? '—' : `${fmt(took[0]!)} / ${fmt(median(took))} / ${fmt(took[took.length - 1]!)}`;
    const gapText = gaps.length === 0 ? '—' : `${fmt(median(gaps))} / ${fmt(gaps[gaps.length - 1]!)}`;
    console.log(`| ${m.mode === 'kill' ? 'kill -9' : 'SIGSTOP'} | ${m.runs.length} | ${big(ms[0] ?? Infinity)} | **${big(med)}** | **${big(max)}** | ${med <= 2000 ? 'met' : 'not met'} | ${max <= 5000 ? 'met' : 'not met'} | ${missing} | ${gapText} | ${fmt(median(started))} | ${fmt(median(promoted))} | ${fmt(median(clientLag))} | ${tookText} |`);
  }
  const off = (n: number | null): string => (n === null ? '?' : fmt(n));
  for (const m of f.modes) {
    const runs = m.runs.map((x) => `${x.ms === null ? '—' : fmt(x.ms)} (${off(x.controller.startedAfterMs)}/${off(x.controller.finishedAfterMs)}; gap ${off(x.maxGapMs)})`);
    console.log(`\n${m.mode === 'kill' ? 'kill -9' : 'SIGSTOP'}, every run: ms to the first write (controller's failover started / promoted, ms after the signal; longest gap between OKs in the window after it): ${runs.join(', ')}`);
  }
  console.log(`\nAcknowledged writes: ${fmt(f.ackedWrites)} over ${fmt(f.keys)} keys; **lost: ${fmt(f.lost)}** (target 0: ${f.lost === 0 ? 'met' : 'not met'}). Errors the write loops saw while a shard had no primary: ${fmt(f.clientErrors)} (${f.clientErrorKinds.join('; ') || 'none'}).`);
  if (f.lost > 0) console.log(`\n**Lost writes**, e.g.: ${f.lostExamples.join('; ')}`);
}

function printBackup(b: BackupBenchResult): void {
  console.log(`\n## Backup and restore: ${fmt(b.keys)} keys of 100-byte random values, local cluster 3 shards × 1 replica (minSyncReplicas 1), file destination, gzip\n`);
  const mb = (n: number): number => n / 2 ** 20;
  console.log('| | wall s | keys/s | MB/s | notes |');
  console.log('|---|---|---|---|---|');
  console.log(`| irisdb backup create (until Completed) | ${fmt(b.backupSeconds, 1)} | ${fmt(b.keysInBackup / b.backupSeconds)} | ${fmt(mb(b.backupRawBytes) / b.backupSeconds, 1)} rows read, ${fmt(mb(b.backupStoredBytes) / b.backupSeconds, 1)} written | ${fmt(mb(b.backupRawBytes), 1)} MiB of rows → ${fmt(mb(b.backupStoredBytes), 1)} MiB stored, ${fmt(b.keysInBackup)} keys |`);
  console.log(`| irisdb local up --restore-from: data loaded and verified | ${fmt(b.restoreSeconds, 1)} | ${fmt(b.restoredKeys / b.restoreSeconds)} | ${fmt(mb(b.backupStoredBytes) / b.restoreSeconds, 1)} read | ${fmt(b.restoredKeys)} keys restored |`);
  console.log(`| irisdb restored cluster Ready (replicas resynced) | ${fmt(b.restoreReadySeconds, 1)} | | | |`);
  console.log(`| redis-server BGSAVE | ${fmt(b.redisBgsaveSeconds, 1)} | ${fmt(b.keys / b.redisBgsaveSeconds)} | ${fmt(mb(b.redisRdbBytes) / b.redisBgsaveSeconds, 1)} written | RDB ${fmt(mb(b.redisRdbBytes), 1)} MiB |`);
  console.log(`| redis-server restart from RDB (until DBSIZE is right) | ${fmt(b.redisRestartSeconds, 1)} | ${fmt(b.keys / b.redisRestartSeconds)} | | |`);
  const ratio = b.setOpsDuringBackup / b.setOpsBaseline;
  console.log(`\nForeground SET (32 unpipelined loops, one ioredis Cluster client): ${fmt(b.setOpsBaseline)} ops/s without a backup (${fmt(b.setOpsBefore)} before it, ${fmt(b.setOpsAfter)} after it; load average ${fmt(b.loadAverage[0], 1)} → ${fmt(b.loadAverage[1], 1)}), ${fmt(b.setOpsDuringBackup)} during it: **${fmt(ratio, 2)}** (target ≥ 0.8: ${ratio >= 0.8 ? 'met' : 'not met'}). Restore of ${fmt(b.keys)} keys into 3 shards: **${fmt(b.restoreSeconds, 1)} s** (target ≤ 30 s: ${b.restoreSeconds <= 30 ? 'met' : 'not met'}).`);
}

function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

function known(xs: ReadonlyArray<number | null>): number[] {
  return xs.filter((x): x is number => x !== null);
}

/** Median of an ascending list. */
function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

async function main(): Promise<void> {
  killChildrenOnExit();
  console.log(`# IrisDB benchmark — ${new Date().toISOString()} — node ${process.version}, ${requests} requests per unpipelined run`);
  // Not part of the full run (about 5 minutes per knob): BENCH_ONLY=storage-knobs [BENCH_KNOBS='page 1024,mmap 256 MiB'] [BENCH_ROUNDS=2].
  if (only === 'storage-knobs') await (await import('./storage-knobs.js')).runStorageKnobs(requests);
  // Not part of the full run (about 10 minutes): BENCH_ONLY=journal [BENCH_ROUNDS=3] — --write-journal no vs the default (the journal) vs redis-server, then replicated (minSyncReplicas=1) vs single node.
  if (only === 'journal') await (await import('./journal.js')).runJournalBench(requests);
  // Not part of the full run (about 3 minutes): BENCH_ONLY=resp-path [BENCH_RESP_BEFORE=other/dist/node/main.js] — GET of cached keys, CPU per request.
  if (only === 'resp-path') { const m = await import('./resp-path.js'); m.printRespPath(await m.respPathBench(requests)); }
  if (only === 'storage-schema') (await import('./storage-schema.js')).runStorageSchema(Number(process.env.BENCH_KEYS ?? 200_000), Number(process.env.BENCH_ROUNDS ?? 2));
  if (only === '' || only === 'single') {
    const rows = await singleNodeBench(requests);
    console.log('\n## Single node: redis-benchmark, 50 clients, 100-byte values, 100k keys\n');
    console.log('| durability (irisdb / redis) | test | pipeline | irisdb req/s | p50 ms | p99 ms | redis req/s | p50 ms | p99 ms | ratio |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.durability} | ${r.test} | ${r.pipeline} | ${fmt(r.iris.rps)} | ${fmt(r.iris.p50Ms, 3)} | ${fmt(r.iris.p99Ms, 3)} | ${fmt(r.redis.rps)} | ${fmt(r.redis.p50Ms, 3)} | ${fmt(r.redis.p99Ms, 3)} | **${fmt(r.iris.rps / r.redis.rps, 2)}** |`);
    }
  }
  if (only === '' || only === 'replication') {
    printReplication(await replicationBench(requests));
  }
  if (only === '' || only === 'migration') {
    printMigration(await migrationBench(keys));
  }
  if (only === '' || only === 'control-plane') {
    console.log('\n## Control plane: failover and rescaling (local cluster, default settings: 3 shards × 1 replica, minSyncReplicas 1, heartbeatMs 500, failureThreshold 3)');
    // Each part prints as soon as it is measured; 0 skips it.
    if (failoverDurability !== undefined && failoverDurability !== 'required' && failoverDurability !== 'preferred') throw new Error(`BENCH_FAILOVER_DURABILITY must be required or preferred, not ${failoverDurability}`);
    if (failoverRuns > 0) printFailover(await failoverBench(failoverRuns, failoverDurability));
    if (keys > 0) printRescale(await rescaleBench(keys));
  }
  if (only === '' || only === 'failover-vs-redis') await (await import('./failover-vs-redis-report.js')).runFailoverVsRedis(failoverRuns);
  if (only === '' || only === 'backup') {
    printBackup(await backupBench(keys));
  }
  if (only === '' || only === 'pubsub') {
    const rows = await pubsubBench(requests);
    console.log('\n## Pub/Sub: PUBLISH with one subscriber, redis-benchmark 50 clients, 100-byte messages\n');
    console.log('| pipeline | irisdb req/s | p50 ms | p99 ms | delivered | redis req/s | p50 ms | p99 ms | delivered | ratio |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.pipeline} | ${fmt(r.iris.rps)} | ${fmt(r.iris.p50Ms, 3)} | ${fmt(r.iris.p99Ms, 3)} | ${fmt(r.iris.delivered)} | ${fmt(r.redis.rps)} | ${fmt(r.redis.p50Ms, 3)} | ${fmt(r.redis.p99Ms, 3)} | ${fmt(r.redis.delivered)} | **${fmt(r.iris.rps / r.redis.rps, 2)}** |`);
    }
  }
  if (only === '' || only === 'import') {
    const m = await importBench(keys);
    console.log(`\n## Import from Redis: ${fmt(m.keys)} string keys (100-byte values, 1 in 10 with a TTL) from a redis-server\n`);
    console.log('| into | tool | copy s | keys/s |');
    console.log('|---|---|---|---|');
    console.log(`| irisdb, 3 shards × 1 replica (minSyncReplicas 1) | irisctl import (SCAN, bulk load) | ${fmt(m.irisScanSeconds, 1)} | **${fmt(m.irisScanKeysPerSec)}** |`);
    console.log(`| irisdb, same cluster | irisctl import --follow --until-lag 0 (full sync RDB) | ${fmt(m.irisFollowSeconds, 1)} | ${fmt(m.irisFollowKeysPerSec)} |`);
    console.log(`| Redis Cluster, 3 masters + 3 replicas | redis-cli --cluster import --cluster-copy | ${fmt(m.redisClusterSeconds, 1)} | ${fmt(m.redisClusterKeysPerSec)} (${fmt(m.redisClusterKeys)} keys) |`);
    // BENCH_IMPORT_SCAN_ONLY=1 measures no redis-cli row: say so rather than print a NaN ratio.
    const ratio = Number.isNaN(m.redisClusterKeysPerSec) ? 'not measured (BENCH_IMPORT_SCAN_ONLY)' : `**${fmt(m.irisScanKeysPerSec / m.redisClusterKeysPerSec, 2)}**`;
    console.log(`\nirisctl import / redis-cli --cluster import: ${ratio}. Target ≥ 50k keys/s: ${m.irisScanKeysPerSec >= 50_000 ? 'met' : 'not met'}.`);
    console.log(importCpuLine(m));
  }
  // Not in the default run (it loads N keys a second time and reads each back twice): BENCH_ONLY=import-verify.
  if (only === 'import-verify') {
    const source = process.env.BENCH_IMPORT_SOURCE === 'cluster' ? 'cluster' : 'redis';
    const m = await importVerifyBench(keys, source);
    console.log(importVerifyLines(m));
    // A scripted run must notice a copy that differs.
    if (!importVerifyPassed(m)) process.exitCode = 1;
  }
  if (only === '' || only === 'tracing') {
    const rows = await tracingBench(requests);
    const base = rows[0]!;
    console.log('\n## Tracing overhead: one node, fsync batch, redis-benchmark -P 16, 50 clients, 100-byte values, spans to a real OpenTelemetry Collector\n');
    console.log('| setting | SET req/s | / off | GET req/s | / off | SET / redis |');
    console.log('|---|---|---|---|---|---|');
    const redis = rows[rows.length - 1]!;
    for (const r of rows) {
      console.log(`| ${r.setting} | ${fmt(r.set.rps)} | **${fmt(r.set.rps / base.set.rps, 2)}** | ${fmt(r.get.rps)} | ${fmt(r.get.rps / base.get.rps, 2)} | ${fmt(r.set.rps / redis.set.rps, 2)} |`);
    }
  }
  if (only === '' || only === 'tls') {
    const rows = await tlsBench(requests);
    console.log('\n## TLS overhead: one node / one redis-server, each with a plain and a TLS port, redis-benchmark 50 clients, 100-byte values, fsync batch / appendfsync everysec\n');
    console.log('| system | port | pipeline | SET req/s | GET req/s | SET TLS / plain | GET TLS / plain | irisdb / redis (SET, GET) |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const plain = rows.find((x) => x.system === r.system && x.pipeline === r.pipeline && !x.tls)!;
      const redis = rows.find((x) => x.system === 'redis-server' && x.pipeline === r.pipeline && x.tls === r.tls)!;
      const vsRedis = r.system === 'irisdb' ? `**${fmt(r.set.rps / redis.set.rps, 2)}**, **${fmt(r.get.rps / redis.get.rps, 2)}**` : '—';
      console.log(`| ${r.system} | ${r.tls ? 'TLS' : 'plain'} | ${r.pipeline} | ${fmt(r.set.rps)} | ${fmt(r.get.rps)} | ${r.tls ? fmt(r.set.rps / plain.set.rps, 2) : '—'} | ${r.tls ? fmt(r.get.rps / plain.get.rps, 2) : '—'} | ${vsRedis} |`);
    }
  }
  if (only === '' || only === 'acl') {
    const rows = await aclBench(requests);
    console.log('\n## ACL overhead: one node / one redis-server, default user vs a user restricted to ~key:* +@all -@dangerous, redis-benchmark 50 clients, pipeline 16, 100-byte values\n');
    console.log('| system | user | SET req/s | GET req/s | SET restricted / default | GET restricted / default | irisdb / redis (SET, GET) |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const base = rows.find((x) => x.system === r.system && x.user === 'default')!;
      const redis = rows.find((x) => x.system === 'redis-server' && x.user === r.user)!;
      const vsRedis = r.system === 'irisdb' ? `**${fmt(r.set.rps / redis.set.rps, 2)}**, **${fmt(r.get.rps / redis.get.rps, 2)}**` : '—';
      const restricted = r.user === 'restricted';
      console.log(`| ${r.system} | ${r.user} | ${fmt(r.set.rps)} | ${fmt(r.get.rps)} | ${restricted ? fmt(r.set.rps / base.set.rps, 2) : '—'} | ${restricted ? fmt(r.get.rps / base.get.rps, 2) : '—'} | ${vsRedis} |`);
    }
  }
  if (only === '' || only === 'encryption') printEncryption(await encryptionBench(requests));
  if (only === '' || only === 'cluster') await (await import('./cluster.js')).runClusterBench(requests);
  if (only === '' || only === 'stalls') {
    const stallKeys = Number(process.env.BENCH_STALL_KEYS ?? 1_000_000);
    printStalls(await stallsBench(stallKeys), stallKeys, fmt);
  }
  if (only === '' || only === 'client-pause') {
    printClientPause(await clientPauseBench(Number(process.env.BENCH_CLIENT_PAUSE_RUNS ?? 3)));
  }
  if (only === '' || only === 'consistency') {
    const n = Number(process.env.BENCH_CONSISTENCY_REQUESTS ?? 20_000);
    const rows = await consistencyBench(n);
    const base = rows[0]!;
    console.log(`\n## Read consistency levels: HTTP GET of one key, 1 primary + 2 replicas (minSyncReplicas 1), ${CONSISTENCY_CLIENTS_LABEL}, ${fmt(n)} requests per round\n`);
    console.log('| level | served by | req/s | / default | p50 ms | p99 ms | errors |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.level} | ${r.served} | ${fmt(r.rps)} | **${fmt(r.rps / base.rps, 2)}** | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.errors)} |`);
  }
  if (only === '' || only === 'footprint') {
    const f = await footprintBench(keys);
    console.log(`\n## Footprint after loading ${fmt(f.keys)} keys (100-byte values)\n`);
    console.log('| | irisdb | redis |');
    console.log('|---|---|---|');
    console.log(`| bytes on disk per key | ${fmt(f.irisDiskBytesPerKey, 1)} (SQLite file) | ${fmt(f.redisRdbBytesPerKey, 1)} (RDB snapshot) |`);
    console.log(`| RSS | ${fmt(f.irisRssBytes / 2 ** 20, 1)} MiB | ${fmt(f.redisRssBytes / 2 ** 20, 1)} MiB |`);
  }
}

main().then(() => process.exit(0), (err: Error) => { console.error(err); process.exit(1); });
