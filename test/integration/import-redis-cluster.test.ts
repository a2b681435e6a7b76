/**
 * irisctl import from a real Redis Cluster (3 masters + 3 replicas made with
 * redis-cli --cluster create) into a local IrisDB cluster (issue #19):
 * the source is detected as a cluster, every master is scanned, and
 * afterwards every key and TTL equals the source's; keys of other types are
 * counted by type.
 */
import { expect } from 'chai';
import { Redis, type Cluster } from 'ioredis';
import { compareAll, loadStrings, startBoth } from '../support/import-fixture.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { type RunningRedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { run } from '../support/run.js';
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
});
