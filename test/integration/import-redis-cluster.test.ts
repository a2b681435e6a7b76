/**
 * irisctl import from a real Redis Cluster (3 masters + 3 replicas made with
 * redis-cli --cluster create) into a local IrisDB cluster (issue #19):
 * the source is detected as a cluster, every master is scanned, and
 * afterwards every key and TTL equals the source's; keys of other types are
 * counted by type. `--follow` from a cluster node follows every master
 * (one replica link each) while a writer writes; after Ctrl-C every key
 * equals the source.
 */
import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { Redis, type Cluster } from 'ioredis';
import { compareAll, loadStrings, startBoth } from '../support/import-fixture.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { type RunningRedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { clusterClient } from './migration-support.js';

const N = 20_000;

describe('irisctl import from a real Redis Cluster (issue #19)', function () {
  this.timeout(600_000);
  let cluster: LocalCluster;
  let source: RunningRedisCluster;
  let dst: Cluster;

  before(async () => {
    await startBoth(LocalCluster.start({ shards: 3, replicas: 1 }), startRedisCluster(3, 1), (c, r) => { cluster = c!; source = r!; });
    dst = clusterClient(await cluster.seedPort(), { autoPipeline: true });
  });

  after(async () => {
    dst?.disconnect();
    await Promise.all([cluster?.destroy(), source?.stop()]);
  });

  it('scans every master and copies every string with its TTL', async () => {
    const src = source.client();
    let withTtl: number;
    try {
      withTtl = await loadStrings(src, 'rc:', N, 4);
      await src.rpush('rc-list', 'a');
      await src.hset('rc-hash', 'f', 'v');
    } finally {
      src.disconnect();
    }
    const masters = await source.masterPorts();
    expect(masters).to.have.length(3);
    // Any node will do as the URL: the masters are found with CLUSTER NODES.
    const r = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${source.nodes[0]!.port}`, '--json'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/Redis Cluster, 3 masters/);
    const report = JSON.parse(r.stdout) as { copied: number; withTtl: number; skippedByType: Record<string, number>; verify: { mismatches: string[] } };
    expect(report.copied).to.equal(N);
    expect(report.withTtl).to.equal(withTtl);
    expect(report.skippedByType).to.deep.equal({ list: 1, hash: 1 });
    expect(report.verify.mismatches).to.deep.equal([]);
    let checked = 0;
    for (const port of masters) {
      const node = new Redis({ port, host: '127.0.0.1' });
      try {
        const all = await compareAll(node, dst, 'rc:', 15_000);
        expect(all.differences.slice(0, 5)).to.deep.equal([]);
        checked += all.checked;
      } finally {
        node.disconnect();
      }
    }
    expect(checked).to.equal(N);
  });

  it('--follow over the whole Redis Cluster: one replica link per master, a writer still writing, after Ctrl-C every key equals the source', async () => {
    const child = spawn(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${source.nodes[0]!.port}`, '--follow', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const src = source.client();
    let ops = 0;
    try {
      await waitFor('the full syncs to start', () => /of each of its 3 masters: full sync/.test(stderr) || child.exitCode !== null, { timeoutMs: 60_000 });
      // Single-key writes, bounded: sets, TTLs, counters, appends and deletes spread over every master.
      const deadline = Date.now() + 60_000;
      await Promise.all(Array.from({ length: 4 }, async (_, l) => {
        for (let i = 0; i < 600 && Date.now() < deadline; i++, ops++) {
          const k = `fw:${(i * 31 + l * 7) % 400}`;
          switch (i % 6) {
            case 0: await src.set(k, `v${l}-${i}`); break;
            case 1: await src.set(k, `t${l}-${i}`, 'PX', 300_000 + i); break;
            case 2: await src.incr(`fw:c${i % 40}`); break;
            case 3: await src.append(k, '+'); break;
            case 4: await src.del(k); break;
            default: await src.set(`rc:${(i * 13 + l) % N}`, `overwritten-${l}-${i}`); break;
          }
        }
      }));
      child.kill('SIGINT'); // the cut-over: the writer has stopped
      expect(await exited, stderr).to.equal(0);
    } finally {
      src.disconnect();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(ops).to.be.greaterThan(1000);
    const report = JSON.parse(stdout) as { offsets: Record<string, number>; lagBytes: number; stream: { applied: number; errors: number }; verify: { mismatches: string[] } };
    expect(Object.keys(report.offsets)).to.have.length(3);
    expect(report.lagBytes).to.equal(0);
    expect(report.stream.errors).to.equal(0);
    expect(report.stream.applied).to.be.greaterThan(500);
    expect(report.verify.mismatches).to.deep.equal([]);
    for (const port of await source.masterPorts()) {
      const node = new Redis({ port, host: '127.0.0.1' });
      try {
        for (const prefix of ['rc:', 'fw:']) {
          const all = await compareAll(node, dst, prefix, 15_000);
          expect(all.differences.slice(0, 5), `${prefix} on ${port}`).to.deep.equal([]);
        }
        // Keys the writer deleted are gone from IrisDB too.
        for (let i = 0; i < 400; i += 7) {
          const k = `fw:${i}`;
          if ((await node.exists(k).catch(() => -1)) === 0) expect(await dst.exists(k), k).to.equal(0);
        }
      } finally {
        node.disconnect();
      }
    }
  });
});
