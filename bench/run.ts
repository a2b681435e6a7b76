/**
 * npm run bench: prints throughput/latency tables with the irisdb/redis
 * ratio, measured in the same run. Results are recorded by hand in
 * docs/benchmarks.md. BENCH_REQUESTS and BENCH_KEYS scale the run.
 */
import { singleNodeBench } from './single-node.js';
import { footprintBench } from './footprint.js';
import { replicationBench, type ReplRow } from './replication.js';
import { killChildrenOnExit } from './processes.js';
import { migrationBench, type MigrationBenchResult } from './migration.js';

const requests = Number(process.env.BENCH_REQUESTS ?? 200_000);
const keys = Number(process.env.BENCH_KEYS ?? 1_000_000);
const only = process.env.BENCH_ONLY ?? '';

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

async function main(): Promise<void> {
  killChildrenOnExit();
  console.log(`# IrisDB benchmark — ${new Date().toISOString()} — node ${process.version}, ${requests} requests per unpipelined run`);
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
