/**
 * `irisctl --kube CLUSTER import` on the Kubernetes harness (issue #19): a
 * real redis-server as the source, an IrisCluster of two shards made by the
 * operator, and irisctl run as a user runs it (--kubeconfig, -n, the
 * cluster's name): the nodes come from the resource's status (the pods'
 * addresses), the checkpoint goes to $XDG_STATE_HOME/irisdb/import/NS.CLUSTER
 * and is removed once done. Every key and TTL is then read from both sides.
 * `--follow --until-lag 0` through --kube (a full sync: the source's RDB
 * through the bulk load) brings what the source wrote since (INCRBY,
 * APPEND, SET PX) and ends by itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Cluster, Redis } from 'ioredis';
import { REPO_ROOT } from '../support/kube/binaries.js';
import { compareAll, loadStrings } from '../support/import-fixture.js';
import { makeTempDir } from '../support/node-process.js';
import { type RunningRedis, startRedis } from '../support/redis-server.js';
import { run } from '../support/run.js';
import { listPods, type KubeEnv } from './helpers.js';
import { irisClusterManifest, operatorNamespace, waitForStatus, type IrisClusterObject } from './operator-support.js';

const CLUSTER = 'imp';
const IRISCTL = path.join(REPO_ROOT, 'dist/operator/cli/irisctl.js');
const NODES = `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`;
const KEYS = 3000;
const TTL_TOLERANCE_MS = 15_000;

describe('e2e: irisctl --kube CLUSTER import from a redis-server', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  let redis: RunningRedis | undefined;
  let src: Redis | undefined;
  let dst: Cluster | undefined;
  let state: string;

  operatorNamespace('import', CLUSTER, (e, n) => {
    env = e;
    ns = n;
  });

  before(async () => {
    redis = await startRedis();
    src = new Redis({ host: '127.0.0.1', port: redis.port });
    state = await makeTempDir('irisdb-import-state-');
  });

  after(async () => {
    src?.disconnect();
    dst?.disconnect();
    await redis?.stop();
  });

  const irisctl = (...args: string[]) => run(process.execPath, [IRISCTL, '--kube', '--kubeconfig', env.kubeconfig, '-n', ns, CLUSTER, ...args],
    { env: { ...process.env, XDG_STATE_HOME: state }, timeoutMs: 240000 });

  it('copies every string with its TTL into the IrisCluster, then --follow applies later writes', async () => {
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 2, replicasPerShard: 0 }));
    const withTtl = await loadStrings(src!, 'k:', KEYS);
    await src!.lpush('not-a-string', 'x');
    await waitForStatus(env, ns, CLUSTER, 'Ready 2/2', (c: IrisClusterObject) => c.status?.phase === 'Ready' && c.status.ready === '2/2', 240000);

    const r = await irisctl('import', '--from', `redis://127.0.0.1:${redis!.port}`, '--json');
    expect(r.code, r.stderr).to.equal(0);
    const checkpointDir = path.join(state, 'irisdb', 'import', `${ns}.${CLUSTER}`);
    expect(r.stderr).to.contain(`checkpoint in ${checkpointDir}`);
    const report = JSON.parse(r.stdout) as { copied: number; withTtl: number; skippedByType: Record<string, number>; verify: { checked: number; mismatches: string[] } };
    expect(report.copied).to.equal(KEYS);
    expect(report.withTtl).to.equal(withTtl);
    expect(report.skippedByType).to.deep.equal({ list: 1 });
    expect(report.verify.mismatches).to.deep.equal([]);
    expect(fs.readdirSync(checkpointDir), 'checkpoint removed when done').to.deep.equal([]);

    // Every key and TTL, read through the pods' own addresses (what the status announces).
    const pod = (await listPods(env, ns, NODES))[0]!;
    const seed = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
    dst = new Cluster([{ host: seed.host, port: seed.port }], { redisOptions: { maxRetriesPerRequest: 3 } });
    const all = await compareAll(src!, dst, 'k:', TTL_TOLERANCE_MS);
    expect(all.checked).to.equal(KEYS);
    expect(all.differences.slice(0, 5)).to.deep.equal([]);
    expect(await dst.pttl('k:0'), 'k:0 has a TTL').to.be.greaterThan(0);

    await src!.incrby('k:0', 5);
    await src!.append('k:1', '-more');
    await src!.set('k:2', 'replaced', 'PX', 600_000);
    const f = await irisctl('import', '--from', `redis://127.0.0.1:${redis!.port}`, '--follow', '--until-lag', '0', '--verify', '100');
    expect(f.code, f.stderr).to.equal(0);
    expect(f.stdout).to.match(/lag 0 B/);
    for (const k of ['k:0', 'k:1', 'k:2']) expect(await dst.get(k), k).to.equal(await src!.get(k));
    expect(await dst.pttl('k:2')).to.be.within(500_000, 600_000);
    expect(fs.readdirSync(checkpointDir), 'follow checkpoint removed after its report').to.deep.equal([]);
  });
});
