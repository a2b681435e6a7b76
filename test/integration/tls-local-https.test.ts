/**
 * `irisctl local up --tls` serves HTTPS on the nodes' HTTP ports: plain HTTP
 * is refused, HTTPS trusting DIR/tls/ca.crt answers (curl), and the
 * controller, its dashboard and irisctl manage the cluster through it
 * (status, per-node metrics, irisctl watch, a failover; a write through the replica is forwarded to the new primary
 * over HTTPS).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';

describe('local cluster with --tls: HTTPS on the node HTTP ports', function () {
  this.timeout(240_000);
  let cluster: LocalCluster | undefined;
  let caFile: string;
  const irisctl = (...args: string[]) => run(process.execPath, [IRISCTL, ...args, '--dir', cluster!.dir], { timeoutMs: 120_000 });
  const curl = (...args: string[]) => run('curl', ['-sS', '--max-time', '10', ...args]);

  before(async function () {
    cluster = await LocalCluster.start({ shards: 1, replicas: 1, heartbeatMs: 200, failureThreshold: 3, extraArgs: ['--tls'] });
    caFile = path.join(cluster.dir, 'tls', 'ca.crt');
  });
  after(async function () {
    await cluster?.destroy();
  });

  it('every node answers HTTPS with the local CA and refuses plain HTTP', async function () {
    const nodes = (await cluster!.status()).shards.flatMap((s) => s.nodes);
    expect(nodes).to.have.length(2);
    for (const n of nodes) {
      expect(n.httpUrl, n.name).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ok = await curl('--cacert', caFile, `${n.httpUrl!}/healthz`, '-o', '/dev/null', '-w', '%{http_code}');
      expect(ok.stdout, `${n.name}: ${ok.stderr}`).to.equal('200');
      const plain = await curl(`${n.httpUrl!.replace('https:', 'http:')}/healthz`, '-o', '/dev/null', '-w', '%{http_code}');
      expect(plain.stdout === '200', `${n.name} answered plain HTTP`).to.equal(false);
      const untrusted = await curl(`${n.httpUrl!}/healthz`);
      expect(untrusted.code, `${n.name} accepted a client that does not trust the CA`).to.not.equal(0);
    }
  });

  it('the dashboard samples every node\'s metrics over HTTPS', async function () {
    const view = await waitFor('per-node metrics in the dashboard view', async () => {
      const res = await fetch(`${cluster!.client.url}/dashboard/api/view`);
      const v = await res.json() as { charts?: Array<{ name: string; points: unknown[]; error: string | null | undefined }> };
      return v.charts !== undefined && v.charts.length === 2 && v.charts.every((c) => c.points.length > 0) ? v : null;
    });
    expect(view.charts!.map((c) => c.error ?? null)).to.deep.equal([null, null]);
  });

  it('irisctl watch follows the change feed over HTTPS', async function () {
    const watch = spawn(process.execPath, [IRISCTL, 'watch', '--json', '--dir', cluster!.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    watch.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    watch.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    try {
      const primary = (await cluster!.status()).shards[0]!.nodes.find((n) => n.role === 'primary')!;
      await waitFor('the watched change', async () => {
        const put = await curl('--cacert', caFile, '-X', 'PUT', '--data-binary', 'watched', `${primary.httpUrl!}/v1/kv/watch-key`, '-o', '/dev/null', '-w', '%{http_code}');
        expect(put.stdout).to.match(/^2/);
        return out.includes('"watch-key"');
      }, { timeoutMs: 30_000, intervalMs: 500 });
      expect(err).not.to.match(/certificate|fetch failed/);
    } finally {
      watch.kill('SIGKILL');
    }
  });

  it('irisctl status and failover work; a write through the replica is forwarded to the new primary over HTTPS', async function () {
    const status = await irisctl('status');
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.match(/shard-0|Ready/);
    const before = (await cluster!.status()).shards[0]!;
    const oldPrimary = before.nodes.find((n) => n.role === 'primary')!.name;
    const fo = await irisctl('failover', before.id, '--timeout', '90s');
    expect(fo.code, fo.stdout + fo.stderr).to.equal(0);
    const primary = await waitFor('a new primary', async () => {
      const s = (await cluster!.status()).shards[0]!;
      const p = s.nodes.find((n) => n.role === 'primary');
      return p !== undefined && p.name !== oldPrimary ? p : null;
    }, { timeoutMs: 60_000 });
    // Written through the replica (the old primary): it forwards to the primary, node to node over HTTPS.
    const replica = (await cluster!.status()).shards[0]!.nodes.find((n) => n.name === oldPrimary)!;
    await waitFor('a write through the replica, forwarded over HTTPS', async () => {
      const put = await curl('--cacert', caFile, '-X', 'PUT', '--data-binary', 'v1', `${replica.httpUrl!}/v1/kv/https-key`, '-o', '/dev/null', '-w', '%{http_code}');
      return put.stdout.startsWith('2');
    }, { timeoutMs: 30_000 });
    const got = await curl('--cacert', caFile, `${primary.httpUrl!}/v1/kv/https-key`);
    expect(got.stdout).to.contain('v1');
  });
});
