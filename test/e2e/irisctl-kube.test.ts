/**
 * `irisctl --kube` and `kubectl irisdb` against a real kube-apiserver, the
 * test kubelet and the operator from the Helm chart (issue #18): one
 * 2-shard × 1-replica IrisCluster; status rendered from the resource;
 * switchover and failover asked through the irisdb.io/request annotation
 * change the primary, are acknowledged in status.request and run once; a
 * malformed annotation is refused; scale --shards --replicas goes through
 * the spec and is followed through the migration until the new nodes stream; `kubectl irisdb status`
 * runs the plugin from PATH with the real kubectl; backup create refuses
 * a cluster without spec.backup (irisctl-kube-backup.test.ts runs backups).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../support/kube/binaries.js';
import { run, type RunResult } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, type KubeEnv } from './helpers.js';
import { clusterEvents, deployOperator, diagnostics, getCluster, installCrds, irisClusterManifest, waitForStatus, type IrisClusterObject } from './operator-support.js';

const CLUSTER = 'iris';
const IRISCTL = path.join(REPO_ROOT, 'dist/operator/cli/irisctl.js');
const PLUGIN = path.join(REPO_ROOT, 'dist/operator/cli/kubectl-irisdb.js');

interface Shard { id: string; primary: string; epoch: number; replicas: Array<{ name: string; link: string }> }
interface Status { request?: { annotation: string; phase: string; message: string; operation: string } }

const shardOf = (c: IrisClusterObject, id: string): Shard => c.status!.shards!.find((s) => s.id === id)! as Shard;
const requestOf = (c: IrisClusterObject): Status['request'] => (c.status as Status | undefined)?.request;

function readyWith(nodes: number) {
  return (c: IrisClusterObject): boolean => c.status?.phase === 'Ready' && c.status.ready === `${nodes}/${nodes}`;
}

describe('e2e: irisctl --kube and the kubectl irisdb plugin', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  let pluginDir: string;

  /** irisctl --kube against the environment, kube flags in kubectl's places. */
  const irisctl = (args: string[]): Promise<RunResult> =>
    run(process.execPath, [IRISCTL, '--kube', '--kubeconfig', env.kubeconfig, '-n', ns, CLUSTER, ...args], { timeoutMs: 300000 });

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    ns = await createNamespace(env, 'irisctl');
    await installCrds(env, ns);
    await deployOperator(env, ns);
    // What `npm link` / a global install makes: an executable kubectl-irisdb on PATH, linked to the package's bin.
    pluginDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-plugin-'));
    fs.chmodSync(PLUGIN, 0o755);
    fs.symlinkSync(PLUGIN, path.join(pluginDir, 'kubectl-irisdb'));
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 2, replicasPerShard: 1 }));
    await waitForStatus(env, ns, CLUSTER, 'phase Ready with 4/4 nodes', readyWith(4), 240000);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && env !== undefined && ns !== undefined) {
      process.stderr.write(`\n--- diagnostics for "${this.currentTest.title}" ---\n${await diagnostics(env, ns, CLUSTER)}\n`);
    }
  });

  after(async () => {
    if (pluginDir !== undefined) fs.rmSync(pluginDir, { recursive: true, force: true });
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('shows the status from the resource with the local renderer, and as JSON', async () => {
    const r = await irisctl(['status']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^cluster iris {2}phase Ready {2}map epoch \d+ {2}slots assigned 16384\/16384 {2}\(spec: 2 shards × 1 replica/);
    const c = await getCluster(env, ns, CLUSTER);
    for (const s of c.status!.shards!) {
      expect(r.stdout).to.contain(s.id);
      expect(r.stdout).to.match(new RegExp(`${s.primary} +primary +up `));
      expect(r.stdout).to.match(new RegExp(`${s.replicas[0]!.name} +replica +up .* streaming`));
    }
    const json = await irisctl(['status', '--json']);
    const view = JSON.parse(json.stdout) as { phase: string; shards: Array<{ id: string; primary: string; nodes: Array<{ up: boolean }> }> };
    expect(view.phase).to.equal('Ready');
    expect(view.shards.map((s) => [s.id, s.primary])).to.deep.equal(c.status!.shards!.map((s) => [s.id, s.primary]));
    expect(view.shards.flatMap((s) => s.nodes.map((n) => n.up))).to.deep.equal([true, true, true, true]);
  });

  it('switches over and fails over through the resource: the primary changes, the request is acknowledged and runs once', async () => {
    const before = await getCluster(env, ns, CLUSTER);
    const s0 = shardOf(before, 'shard-0');
    const target = s0.replicas[0]!.name;
    const sw = await irisctl(['switchover', 'shard-0', '--to', target]);
    expect(sw.code, `${sw.stdout}\n${sw.stderr}`).to.equal(0);
    expect(sw.stdout).to.match(/asked IrisCluster .*irisdb\.io\/request="switchover shard-0 to=.* id=[0-9a-f]{8}"/);
    expect(sw.stdout).to.match(/switchover of shard-0 started \(\S+\)/);
    expect(sw.stdout).to.contain(`shard-0: primary ${s0.primary} → ${target}`);
    let c = await getCluster(env, ns, CLUSTER);
    expect(shardOf(c, 'shard-0').primary).to.equal(target);
    const swReq = requestOf(c)!;
    expect(swReq.phase).to.equal('Started');
    expect(swReq.annotation).to.equal(c.metadata?.annotations?.['irisdb.io/request']);

    const s1 = shardOf(c, 'shard-1');
    const fo = await irisctl(['failover', '1']);
    expect(fo.code, `${fo.stdout}\n${fo.stderr}`).to.equal(0);
    expect(fo.stdout).to.match(/failover of shard-1 started/);
    c = await waitForStatus(env, ns, CLUSTER, 'Ready again after the failover', readyWith(4), 120000);
    const after1 = shardOf(c, 'shard-1');
    expect(after1.primary).to.equal(s1.replicas[0]!.name);
    // A failover raises the epoch by two: run twice it would be four.
    expect(after1.epoch).to.equal(s1.epoch + 2);
    const foReq = requestOf(c)!;
    expect([foReq.phase, foReq.annotation]).to.deep.equal(['Started', c.metadata?.annotations?.['irisdb.io/request']]);
    expect(foReq.annotation).to.match(/^failover shard-1 id=/);
    const events = await clusterEvents(env, ns, CLUSTER);
    expect(events.filter((e) => e.reason === 'SwitchoverRequested').length, 'SwitchoverRequested events').to.equal(1);
    expect(events.filter((e) => e.reason === 'FailoverRequested').length, 'FailoverRequested events').to.equal(1);
    // Later passes leave the handled request alone: shard-0 keeps its switched-over primary and epoch.
    expect(shardOf(c, 'shard-0').primary).to.equal(target);
    expect(shardOf(c, 'shard-0').epoch).to.equal(shardOf(await getCluster(env, ns, CLUSTER), 'shard-0').epoch);
  });

  it('refuses a malformed request annotation once, in status and as a Warning Event', async () => {
    await env.kubectl(['annotate', '--overwrite', '-n', ns, `irisclusters/${CLUSTER}`, 'irisdb.io/request=failover shard-0']);
    const c = await waitForStatus(env, ns, CLUSTER, 'the request refused', (x) => requestOf(x)?.annotation === 'failover shard-0' && requestOf(x)?.phase === 'Refused', 60000);
    expect(requestOf(c)!.message).to.match(/is not a request: needs id=ID/);
    // Events are written after the status (the recorder queues them).
    const warnings = await waitFor('the RequestRefused Event', async () => {
      const evs = (await clusterEvents(env, ns, CLUSTER)).filter((e) => e.reason === 'RequestRefused');
      return evs.length > 0 && evs;
    }, { timeoutMs: 30000, intervalMs: 250 });
    expect(warnings.map((e) => e.type)).to.deep.equal(['Warning']);
    // irisctl status says so while the annotation stays.
    const r = await irisctl(['status']);
    expect(r.stdout).to.contain('request "failover shard-0": Refused');
  });

  it('scales shards and replicas through the spec and follows the migration until every new node streams', async () => {
    const r = await irisctl(['scale', '--shards', '3', '--replicas', '2', '--timeout', '5m']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.match(/spec shards 3, replicasPerShard 2 \(generation \d+\)/);
    // Not a terminal: one plain progress line per change, as the local verbs print them.
    expect(r.stdout).to.match(/scale shards 2 → 3: (add|migrate|remove) · moves \d+\/\d+ · slots/);
    expect(r.stdout).to.match(/done in .*: phase Ready/);
    const c = await getCluster(env, ns, CLUSTER);
    expect([c.spec?.shards, c.spec?.replicasPerShard, c.status?.ready]).to.deep.equal([3, 2, '9/9']);
    expect(c.status!.shards!.map((s) => s.slotCount).sort()).to.deep.equal([5461, 5461, 5462]);
    expect(c.status!.shards!.map((s) => s.replicas.map((x) => x.link))).to.deep.equal([['streaming', 'streaming'], ['streaming', 'streaming'], ['streaming', 'streaming']]);
  });

  it('runs as `kubectl irisdb` from PATH with the real kubectl; backup create needs spec.backup on the cluster', async () => {
    const envVars = { ...process.env, KUBECONFIG: env.kubeconfig, PATH: `${pluginDir}:${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    const list = await run(env.kubectlPath, ['plugin', 'list'], { env: envVars });
    expect(list.stdout).to.contain(path.join(pluginDir, 'kubectl-irisdb'));
    const st = await run(env.kubectlPath, ['irisdb', '-n', ns, CLUSTER, 'status'], { env: envVars });
    expect(st.code, st.stderr).to.equal(0);
    expect(st.stdout).to.match(/^cluster iris {2}phase Ready .*\(spec: 3 shards × 2 replicas/);
    const help = await run(env.kubectlPath, ['irisdb', '--help'], { env: envVars });
    expect(help.stdout).to.contain('kubectl irisdb [--kubeconfig FILE] [--context C] [-n NS] CLUSTER VERB');
    const backup = await run(env.kubectlPath, ['irisdb', '-n', ns, CLUSTER, 'backup', 'create'], { env: envVars });
    expect(backup.code).to.equal(1);
    expect(backup.stderr).to.contain(`IrisCluster ${ns}/${CLUSTER} has no spec.backup.destination`);
    const missing = await run(env.kubectlPath, ['irisdb', '-n', ns, 'nosuch', 'status'], { env: envVars });
    expect([missing.code, missing.stderr.trim()]).to.deep.equal([1, `irisctl: IrisCluster ${ns}/nosuch not found (kubectl get irisclusters -n ${ns})`]);
  });
});
