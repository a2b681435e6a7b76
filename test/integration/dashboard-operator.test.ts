/**
 * The dashboard as the Kubernetes operator serves it (operator/dashboard/
 * server.ts: its own loopback port, several clusters by namespace/name),
 * over a real controller running real node processes (localUp in this
 * process, so the test holds the Controller as the operator's ClusterRunner
 * does). Checks the cluster choice, the web-page guards (Origin, rebound
 * Host, methods other than GET), that the view holds no token, and that
 * the page itself loads and draws the cluster in chromium from this server,
 * without actions, and shows a failover in flight with its stage (the
 * test-only hold stops it before promote).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { chromium } from 'playwright-core';
import winston from 'winston';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import { controllerSource } from '../../operator/dashboard/controller-source.js';
import { listenDashboard, type ListeningDashboard } from '../../operator/dashboard/server.js';
import type { DashboardSource } from '../../operator/dashboard/view.js';
import { readLocalState } from '../../operator/local/local-state.js';
import { localUp, type RunningLocalCluster } from '../../operator/local/up.js';
import { freeBasePort } from '../support/local-cluster.js';
import { waitFor } from '../support/wait.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function get(url: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard served by the operator (its own loopback port, several clusters)', function () {
  this.timeout(180_000);
  let dir: string;
  let cluster: RunningLocalCluster;
  let server: ListeningDashboard;
  const sources = new Map<string, DashboardSource>();

  before(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-dash-op-'));
    cluster = await localUp({
      ...DEFAULT_SPEC, dir, shards: 2, replicasPerShard: 1, minSyncReplicas: 1, dataDurability: 'preferred',
      basePort: await freeBasePort(), out: new PassThrough().resume(),
      // Test-only: a failover stops before promoting, so the page can be seen showing it in flight.
      holdFailoverStage: 'promote',
    });
    await waitFor('the cluster to be Ready', () => cluster.controller.status().phase === 'Ready', { timeoutMs: 60_000, intervalMs: 100 });
    sources.set('team-b/orders', controllerSource(cluster.controller));
    const logger = winston.createLogger({ transports: [new winston.transports.Stream({ stream: new PassThrough().resume() })] });
    server = await listenDashboard(() => sources, { host: '127.0.0.1', port: 0 }, logger);
  });

  after(async () => {
    await server?.close();
    await cluster?.stop();
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('shows the first cluster by default, one by ?cluster=, and says which exist when asked for another', async () => {
    const token = (await fs.promises.readFile(path.join(dir, 'token'), 'utf8')).trim();
    const host = new URL(server.url).host;
    const first = await get(`${server.url}dashboard/api/view`, { host });
    expect(first.status).to.equal(200);
    expect(first.body).to.not.include(token);
    const view = JSON.parse(first.body) as { actions: boolean; cluster: string; clusters: string[]; status: { shards: unknown[] } };
    expect(view).to.deep.include({ actions: false, cluster: 'team-b/orders', clusters: ['team-b/orders'] });
    expect(view.status.shards).to.have.length(2);
    expect((await get(`${server.url}dashboard/api/view?cluster=team-b%2Forders`, { host })).status).to.equal(200);
    const missing = await get(`${server.url}dashboard/api/view?cluster=team-a%2Fother`, { host });
    expect(missing.status).to.equal(404);
    expect(JSON.parse(missing.body)).to.deep.include({ clusters: ['team-b/orders'] });
  });

  it('refuses requests from other web pages, rebound Hosts and anything but GET', async () => {
    const host = new URL(server.url).host;
    expect((await get(`${server.url}dashboard/api/view`, { host, origin: 'http://attacker.example' })).status).to.equal(403);
    expect((await get(`${server.url}dashboard/api/view`, { host: 'attacker.example' })).status).to.equal(403);
    expect((await get(`${server.url}dashboard/api/view`, { host }, 'POST')).status).to.equal(405);
    expect((await get(`${server.url}status`, { host })).status).to.equal(404);
  });

  it('says so when it runs no cluster (a standby operator)', async () => {
    const saved = new Map(sources);
    sources.clear();
    try {
      const r = await get(`${server.url}dashboard/api/view`, { host: new URL(server.url).host });
      expect(r.status).to.equal(404);
      expect(r.body).to.match(/runs no cluster's controller/);
    } finally {
      for (const [k, v] of saved) sources.set(k, v);
    }
  });

  it('loads the page in chromium from this server and draws the cluster and a failover in flight, nothing off loopback', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    const requested: string[] = [];
    try {
      const page = await browser.newPage();
      page.on('request', (r) => requested.push(r.url()));
      await page.goto(`${server.url}?cluster=team-b%2Forders&refresh=250`);
      await waitFor('the page to list both primaries', async () => (await page.locator('#shards tr[data-role="primary"]').count()) === 2, { timeoutMs: 15_000, intervalMs: 100 });
      expect(await page.locator('#cluster').innerText()).to.equal(cluster.controller.status().cluster);
      expect(await page.locator('#actions').isHidden(), 'no actions on the operator\'s page').to.equal(true);

      // kill -9 shard-0's primary: the failover, held before promote, shows in Operations in flight with its stage.
      const shard = cluster.controller.status().shards.find((s) => s.id === 'shard-0')!;
      const pid = (await readLocalState(dir))?.nodes[shard.primary]?.pid;
      expect(pid, `${shard.primary}'s pid`).to.be.a('number');
      process.kill(pid!, 'SIGKILL');
      const op = page.locator('#operations [data-failover="shard-0"]');
      await waitFor('the page to show the failover held at promote', async () => (await op.getAttribute('data-stage').catch(() => null)) === 'promote', { timeoutMs: 30_000, intervalMs: 100 });
      expect(await op.getAttribute('data-kind')).to.equal('failover');
      const candidate = shard.nodes.find((n) => n.name !== shard.primary)!.name;
      expect(await op.innerText()).to.include(`old primary ${shard.primary}`).and.include(`candidate ${candidate}`);
    } finally {
      await browser.close();
    }
    expect(requested.filter((u) => new URL(u).hostname !== '127.0.0.1')).to.deep.equal([]);
  });
});
