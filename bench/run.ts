/**
 * npm run bench: prints throughput/latency tables with the irisdb/redis
 * ratio, measured in the same run. Results are recorded by hand in
 * docs/benchmarks.md. BENCH_REQUESTS and BENCH_KEYS scale the run.
 */
import { singleNodeBench } from './single-node.js';
import { footprintBench } from './footprint.js';

const requests = Number(process.env.BENCH_REQUESTS ?? 200_000);
const keys = Number(process.env.BENCH_KEYS ?? 1_000_000);
const only = process.env.BENCH_ONLY ?? '';

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
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
