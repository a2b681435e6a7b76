/**
 * irisctl import from a real redis-server into a local cluster (3 shards ×
 * 1 replica), issue #19: 50,000 string keys in every RDB encoding, a fifth
 * with a TTL, and keys of every other type (counted by type, not copied);
 * afterwards every key and TTL equals the source's. An import killed with
 * kill -9 mid-way resumes from its checkpoint and ends complete. Export
 * writes an RDB file a real redis-server loads with the same keys and TTLs
 * (and JSON lines). The RDB reader reads a real redis-server's dump with
 * every type and encoding.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Redis, type Cluster } from 'ioredis';
import { CHECKPOINT_FILE, parseCheckpoint } from '../../operator/import/checkpoint.js';
import { parseJsonLine } from '../../operator/import/export-formats.js';
import { readRdb } from '../../operator/import/rdb-reader.js';
import { compareAll, loadStrings, startBoth } from '../support/import-fixture.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { type RunningRedis, startRedis } from '../support/redis-server.js';
import { makeTempDir } from '../support/node-process.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { clusterClient } from './migration-support.js';

const N = 50_000;
/** Expiries are written relative (SET PX) a moment after they were read. */
const TTL_TOLERANCE_MS = 15_000;

/** Keys of every other type, in small and large encodings (listpack/intset and hashtable/skiplist/quicklist), and a stream with a consumer group. */
async function loadOtherTypes(r: Redis): Promise<Record<string, number>> {
  const p = r.pipeline();
  p.rpush('o:list-small', 'a', 'b', 'c');
  p.rpush('o:list-big', ...Array.from({ length: 2000 }, (_, i) => `item-${i}-${'x'.repeat(i % 50)}`));
  p.hset('o:hash-small', 'f', 'v');
  p.hset('o:hash-big', ...Array.from({ length: 600 }, (_, i) => [`f${i}`, `v${i}`]).flat());
  p.sadd('o:set-ints', 1, 2, 3);
  p.sadd('o:set-big', ...Array.from({ length: 600 }, (_, i) => `m${i}`));
  p.sadd('o:set-small', 'a', 'b');
  p.zadd('o:zset-small', 1, 'a', 2.5, 'b');
  p.zadd('o:zset-big', ...Array.from({ length: 600 }, (_, i) => [i / 3, `m${i}`]).flat());
  p.xadd('o:stream', '*', 'f', 'v');
  p.xadd('o:stream', '*', 'f', 'w');
  p.xgroup('CREATE', 'o:stream', 'g', '0');
  p.xreadgroup('GROUP', 'g', 'consumer-1', 'COUNT', 1, 'STREAMS', 'o:stream', '>');
  await p.exec();
  return { list: 2, hash: 2, set: 3, zset: 2, stream: 1 };
}

describe('irisctl import from a real redis-server (issue #19)', function () {
  this.timeout(600_000);
  let cluster: LocalCluster;
  let redis: RunningRedis;
  let src: Redis;
  let dst: Cluster;
  let otherTypes: Record<string, number>;
  let withTtl: number;

  before(async () => {
    await startBoth(LocalCluster.start({ shards: 3, replicas: 1 }), startRedis(), (c, r) => { cluster = c!; redis = r!; });
    src = new Redis({ port: redis.port, host: '127.0.0.1' });
    dst = clusterClient(await cluster.seedPort(), { autoPipeline: true });
    withTtl = await loadStrings(src, 's:', N);
    otherTypes = await loadOtherTypes(src);
  });

  after(async () => {
    src?.disconnect();
    dst?.disconnect();
    await Promise.all([cluster?.destroy(), redis?.stop()]);
  });

  it('copies every string key with its TTL, counts the other types, and verifies a sample', async () => {
    const r = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${redis.port}`, '--json', '--verify', '2000'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as { copied: number; withTtl: number; scanned: number; skippedByType: Record<string, number>; verify: { checked: number; mismatches: string[] } };
    expect(report.copied).to.equal(N);
    expect(report.withTtl).to.equal(withTtl);
    expect(report.skippedByType).to.deep.equal(otherTypes);
    expect(report.verify.checked).to.equal(2000);
    expect(report.verify.mismatches).to.deep.equal([]);
    expect(r.stderr).to.match(/keys scanned/);
    const all = await compareAll(src, dst, 's:', TTL_TOLERANCE_MS);
    expect(all.checked).to.equal(N);
    expect(all.differences.slice(0, 5)).to.deep.equal([]);
    expect(fs.existsSync(path.join(cluster.dir, CHECKPOINT_FILE)), 'checkpoint removed when done').to.equal(false);
  });

  it('an import killed with kill -9 mid-way resumes from its checkpoint and ends complete', async () => {
    const db1 = new Redis({ port: redis.port, host: '127.0.0.1', db: 1 });
    try {
      const n = 40_000;
      await loadStrings(db1, 'r:', n);
      const args = [IRISCTL, 'import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${redis.port}/1`, '--batch', '100'];
      const child = spawn(process.execPath, args, { stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const file = path.join(cluster.dir, CHECKPOINT_FILE);
      const copiedAtKill = await waitFor('the import to copy a few batches', () => {
        const cp = fs.existsSync(file) ? parseCheckpoint(fs.readFileSync(file, 'utf8')) : null;
        return cp !== null && cp.counts.copied > 0 ? cp.counts.copied : null; // the first record after the start (about a second in)
      }, { timeoutMs: 120_000, intervalMs: 20 });
      child.kill('SIGKILL');
      await exited;
      const cp = parseCheckpoint(fs.readFileSync(file, 'utf8'));
      expect(cp, 'the checkpoint survives kill -9').to.not.equal(null);
      expect(cp!.counts.copied).to.be.at.least(copiedAtKill).and.below(n);
      expect(Object.values(cp!.nodes)[0]!.done).to.equal(false);

      const again = await run(process.execPath, [...args.slice(0, -2), '--json'], { timeoutMs: 300_000 });
      expect(again.code, again.stderr).to.equal(0);
      expect(again.stderr).to.match(/resuming the import/);
      const report = JSON.parse(again.stdout) as { copied: number };
      expect(report.copied).to.be.at.least(n); // a batch in flight at the kill is copied twice
      const all = await compareAll(db1, dst, 'r:', TTL_TOLERANCE_MS);
      expect(all.checked).to.equal(n);
      expect(all.differences.slice(0, 5)).to.deep.equal([]);
    } finally {
      db1.disconnect();
    }
  });

  it('refuses to mix up sources: a checkpoint of another source is not resumed', async () => {
    const file = path.join(cluster.dir, CHECKPOINT_FILE);
    fs.writeFileSync(file, JSON.stringify({ version: 1, source: 'redis://elsewhere:1/0', nodes: { 'elsewhere:1': { cursor: '5', done: false } }, counts: { scanned: 1, copied: 1, withTtl: 0, vanished: 0, skippedByType: {} } }));
    try {
      const r = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${redis.port}`]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/unfinished import from redis:\/\/elsewhere:1\/0.*--restart/);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('export writes an RDB file that redis-server loads with the same keys and TTLs, and JSON lines', async () => {
    const out = { dir: await makeTempDir('irisdb-export-') };
    const rdb = path.join(out.dir, 'dump.rdb');
    const r = await run(process.execPath, [IRISCTL, 'export', '--dir', cluster.dir, '--to', rdb], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/exported 90,000 keys/);
    const loaded = await startRedis(['--dbfilename', 'dump.rdb', '--dir', out.dir]);
    const back = new Redis({ port: loaded.port, host: '127.0.0.1' });
    try {
      expect(await back.dbsize()).to.equal(90_000);
      for (const prefix of ['s:', 'r:']) {
        const all = await compareAll(back, dst, prefix, TTL_TOLERANCE_MS);
        expect(all.differences.slice(0, 5)).to.deep.equal([]);
      }
      expect((await compareAll(back, dst, 's:', TTL_TOLERANCE_MS)).checked).to.equal(N);
    } finally {
      back.disconnect();
      await loaded.stop();
    }

    const jsonl = path.join(out.dir, 'keys.jsonl');
    const j = await run(process.execPath, [IRISCTL, 'export', '--dir', cluster.dir, '--to', jsonl], { timeoutMs: 300_000 });
    expect(j.code, j.stderr).to.equal(0);
    const lines = fs.readFileSync(jsonl, 'utf8').trimEnd().split('\n').map(parseJsonLine);
    expect(lines).to.have.length(90_000);
    const sample = lines.filter((l) => l.key.toString().startsWith('s:')).slice(0, 200);
    for (const l of sample) expect((await dst.getBuffer(l.key))?.equals(l.value), l.key.toString()).to.equal(true);
    expect(lines.filter((l) => l.expiresAt !== null).length).to.be.greaterThan(0);
  });

  it("reads a real redis-server's RDB: every string, every other type by its lengths, the checksum", async () => {
    await src.call('SAVE');
    const file = fs.readFileSync(path.join(redis.dir, 'dump.rdb'));
    const byType: Record<string, number> = {};
    const perDb: Record<number, number> = {};
    let ttl = 0;
    const summary = readRdb(file, {
      onString: (db, key, value, at) => {
        perDb[db] = (perDb[db] ?? 0) + 1;
        if (at !== null) ttl++;
        if (key.toString() === 's:2') expect(value.toString()).to.equal(`s:${'abc'.repeat(12)}2`);
      },
      onOther: (_db, _key, type) => { byType[type] = (byType[type] ?? 0) + 1; },
    });
    expect(summary.checksumChecked).to.equal(true);
    expect(summary.aux['redis-ver']).to.match(/^\d+\.\d+/);
    expect(perDb).to.deep.equal({ 0: N, 1: 40_000 });
    expect(ttl).to.be.greaterThan(withTtl);
    expect(byType).to.deep.equal(otherTypes);
  });
});
