/**
 * The import's bulk route (PUT /v1/kv:import, issue #19) on a real local
 * cluster (3 shards × 1 replica, minSyncReplicas 1): rows with and without
 * a TTL applied and readable over RESP; a body holding a key of another
 * shard is refused whole (421, nothing applied); a malformed body is a 400.
 * Fault: a target primary killed with kill -9 while `irisctl import` runs:
 * the import either rides through the failover (SETs through the Cluster
 * client) or stops and resumes from its checkpoint, and afterwards every
 * source key is in IrisDB with its value and TTL, and every replica's
 * per-slot digests equal its primary's.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Redis, type Cluster } from 'ioredis';
import { keySlot } from '../../common/slot.js';
import { CHECKPOINT_FILE, parseCheckpoint } from '../../operator/import/checkpoint.js';
import { targetNodes } from '../../operator/import/target.js';
import { encodeRows } from '../../node/replication/row-codec.js';
import { compareAll, loadStrings, startBoth } from '../support/import-fixture.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { type RunningRedis, startRedis } from '../support/redis-server.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { waitReplicasEqual } from '../support/replica-digests.js';
import { clusterClient } from './migration-support.js';

const TTL_TOLERANCE_MS = 15_000;

function rowsBody(rows: { key: string; value: string; ttl: number | null }[]): Buffer {
  return encodeRows(rows.map((r) => ({ key: Buffer.from(r.key), value: Buffer.from(r.value), flags: 0, version: 0, expiresAt: r.ttl })));
}

async function put(url: string, body: Buffer): Promise<{ status: number; json: { error?: { code: string }; applied?: number } }> {
  const res = await fetch(`${url}/v1/kv:import`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'x-iris-forwarded': '1' }, body });
  return { status: res.status, json: (await res.json()) as { error?: { code: string }; applied?: number } };
}

describe('irisctl import: the bulk route and kill -9 of a target primary (issue #19)', function () {
  this.timeout(600_000);
  let cluster: LocalCluster;
  let redis: RunningRedis;
  let src: Redis;
  let dst: Cluster;

  before(async () => {
    await startBoth(LocalCluster.start({ shards: 3, replicas: 1, minSyncReplicas: 1 }), startRedis(), (c, r) => { cluster = c!; redis = r!; });
    src = new Redis({ port: redis.port, host: '127.0.0.1' });
    dst = clusterClient(await cluster.seedPort(), { autoPipeline: true });
    await dst.ping();
  });

  after(async () => {
    src?.disconnect();
    dst?.disconnect();
    await Promise.all([cluster?.destroy(), redis?.stop()]);
  });

  /** A key whose slot the primary at `url` serves, and one it does not. */
  async function keysFor(url: string): Promise<{ own: (i: number) => string; other: string }> {
    const nodes = await targetNodes({ kind: 'dir', dir: cluster.dir });
    const ownerUrl = (k: string): string | undefined => nodes.httpByAddress.get(dst.slots[keySlot(k)]![0]!);
    const own: string[] = [];
    let other = '';
    for (let i = 0; own.length < 10 || other === ''; i++) {
      const k = `bulk:${i}`;
      if (ownerUrl(k) === url) own.push(k);
      else if (other === '') other = k;
    }
    return { own: (i) => own[i]!, other };
  }

  it('applies rows with and without a TTL, refuses a body with a key of another shard whole, and a malformed one', async () => {
    const nodes = await targetNodes({ kind: 'dir', dir: cluster.dir });
    const url = nodes.httpByAddress.get(`${nodes.primaries[0]!.host}:${nodes.primaries[0]!.port}`)!;
    const { own, other } = await keysFor(url);

    const ok = await put(url, rowsBody([{ key: own(0), value: 'v0', ttl: null }, { key: own(1), value: 'v1', ttl: 100_000 }]));
    expect(ok.status, JSON.stringify(ok.json)).to.equal(200);
    expect(ok.json.applied).to.equal(2);
    expect(await dst.get(own(0))).to.equal('v0');
    expect(await dst.pttl(own(0))).to.equal(-1);
    expect(await dst.get(own(1))).to.equal('v1');
    expect(await dst.pttl(own(1))).to.be.within(100_000 - TTL_TOLERANCE_MS, 100_000);

    const moved = await put(url, rowsBody([{ key: own(2), value: 'x', ttl: null }, { key: other, value: 'y', ttl: null }]));
    expect(moved.status).to.equal(421);
    expect(moved.json.error?.code).to.equal('moved');
    expect([await dst.exists(own(2)), await dst.exists(other)], 'nothing of a refused body is applied').to.deep.equal([0, 0]);

    const bad = await put(url, Buffer.from('not rows'));
    expect(bad.status).to.equal(400);
    const badTtl = await put(url, rowsBody([{ key: own(3), value: 'x', ttl: 0 }]));
    expect(badTtl.status).to.equal(400);
    expect(await dst.exists(own(3))).to.equal(0);
  });

  it('a target primary killed with kill -9 mid-import: the import completes (resuming if it stopped) and every key is in IrisDB', async () => {
    const n = 30_000;
    const db2 = new Redis({ port: redis.port, host: '127.0.0.1', db: 2 });
    let after2: Cluster | undefined;
    try {
      await loadStrings(db2, 'k:', n);
      const args = [IRISCTL, 'import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${redis.port}/2`, '--batch', '200', '--json'];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const file = path.join(cluster.dir, CHECKPOINT_FILE);
      await waitFor('the import to copy a few batches', () => {
        const cp = fs.existsSync(file) ? parseCheckpoint(fs.readFileSync(file, 'utf8')) : null;
        return cp !== null && cp.counts.copied > 0;
      }, { timeoutMs: 120_000, intervalMs: 20 });
      const shard = await cluster.shard('shard-0');
      const victim = shard.primary!;
      expect(child.exitCode, 'the import is still running at the kill').to.equal(null);
      process.kill(await cluster.pidOf(victim), 'SIGKILL');
      let code = await exited;
      let reports = [out];
      // Rerun until done, as a user would ("run the same command again to resume"): bounded.
      for (let attempt = 0; code !== 0 && attempt < 3; attempt++) {
        const again = await run(process.execPath, args, { timeoutMs: 300_000 });
        code = again.code;
        err += again.stderr;
        reports = [...reports, again.stdout];
      }
      expect(code, err.slice(-2000)).to.equal(0);
      const last = JSON.parse(reports[reports.length - 1]!) as { writes: { bulk: number; set: number }; verify: { mismatches: string[] } };
      expect(last.verify.mismatches).to.deep.equal([]);
      const bulk = reports.filter((r) => r.trim() !== '').map((r) => (JSON.parse(r) as { writes: { bulk: number } }).writes.bulk).reduce((a, b) => a + b, 0);
      expect(bulk, 'the bulk route carried the copy').to.be.greaterThan(0);
      expect(fs.existsSync(file), 'checkpoint removed when done').to.equal(false);
      await waitFor(`${victim} back in shard-0`, async () => (await cluster.shard('shard-0')).nodes.find((x) => x.name === victim)?.up === true, { timeoutMs: 120_000, intervalMs: 200 });
      // A fresh client: the suite's one saw the old primary go.
      after2 = clusterClient(await cluster.seedPort());
      const all = await compareAll(db2, after2, 'k:', TTL_TOLERANCE_MS);
      expect(all.checked).to.equal(n);
      expect(all.differences.slice(0, 5)).to.deep.equal([]);
      // The rows the bulk route acknowledged before the kill were durable on a replica (minSyncReplicas 1): every replica now equals its primary.
      await waitReplicasEqual(cluster);
    } finally {
      after2?.disconnect();
      db2.disconnect();
    }
  });
});
