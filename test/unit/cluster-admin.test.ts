/**
 * The cluster admin API in-process (the node's HTTP app with the admin
 * router the runtime builds: adminAuth, then the cluster routes), driven
 * through AdminClient: GET before/after a push, 400 for an invalid map with
 * the parse error, 409 for an older epoch or other content at the same
 * epoch, 401 without the token, and the metrics.
 */
import { expect } from 'chai';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { AdminApiError, AdminClient } from '../../common/admin-client.js';
import { parseClusterMap, type ClusterMap } from '../../common/cluster-map.js';
import { DurableClusterState } from '../../node/cluster/cluster-state.js';
import { clusterAdminRouter } from '../../node/cluster/admin-routes.js';
import { createClusterMetrics } from '../../node/cluster/metrics.js';
import { SETTINGS, type NodeConfig } from '../../node/config/schema.js';
import { createHttpApp } from '../../node/http/app.js';
import { adminAuth } from '../../node/http/admin-auth.js';
import { createHttpServer } from '../../node/http/server.js';
import { silentLogger } from '../../common/logger.js';
import { createNodeMetrics } from '../../node/observability/metrics.js';
import { engineFixture } from '../support/engine-fixture.js';

const TOKEN = 'unit-admin-token';

function map(epoch: number, port = 7000): ClusterMap {
  return parseClusterMap({
    epoch,
    nodes: [{ name: 'n0', host: '127.0.0.1', port, busPort: 17000 }],
    shards: [{ id: 'shard-0', slots: [[0, 16383]], primary: 'n0', replicas: [] }],
  });
}

async function expectApiError(p: Promise<unknown>, status: number, pattern: RegExp): Promise<AdminApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AdminApiError);
    const e = err as AdminApiError;
    expect(e.status).to.equal(status);
    expect(e.message).to.match(pattern);
    return e;
  }
  throw new Error(`expected HTTP ${status}`);
}

describe('cluster admin API (/admin/cluster/map)', () => {
  const fx = engineFixture();
  let server: http.Server;
  let url: string;
  let state: DurableClusterState;
  let metrics: ReturnType<typeof createNodeMetrics>;

  beforeEach(async () => {
    const engine = fx.open();
    const config = { ...Object.fromEntries(SETTINGS.map((s) => [s.key, s.default])), dataDir: fx.dir } as unknown as NodeConfig;
    state = new DurableClusterState({ meta: engine.meta, commits: engine.commits, nodeName: 'n0' });
    metrics = createNodeMetrics();
    const clusterMetrics = createClusterMetrics(metrics.registry, { epoch: () => state.map?.epoch ?? 0, slotsOwned: () => state.slotsOwned });
    const admin = express.Router();
    admin.use(adminAuth(TOKEN));
    admin.use(clusterAdminRouter(state, clusterMetrics));
    const app = createHttpApp({
      keyspace: engine.keyspace, commits: engine.commits, config, logger: silentLogger(), metrics,
      isReady: () => true, now: () => Date.now(), admin,
    });
    server = createHttpServer(app, config);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    metrics.close();
  });

  it('GET is null before the first push; PUT installs and returns the map; GET returns it', async () => {
    const client = new AdminClient(url, TOKEN);
    expect(await client.clusterMap()).to.equal(null);
    expect(await client.setClusterMap(map(3))).to.deep.equal(map(3));
    expect(await client.clusterMap()).to.deep.equal(map(3));
    expect(state.map?.epoch).to.equal(3);
    // The same map again is accepted and changes nothing.
    expect(await client.setClusterMap(map(3))).to.deep.equal(map(3));
  });

  it('409 for an older epoch and for other content at the same epoch; the installed map stays', async () => {
    const client = new AdminClient(url, TOKEN);
    await client.setClusterMap(map(5));
    const e = await expectApiError(client.setClusterMap(map(4)), 409, /older than the installed epoch 5/);
    expect(e.code).to.equal('conflict');
    expect(e.details).to.deep.include({ installedEpoch: 5 });
    await expectApiError(client.setClusterMap(map(5, 7001)), 409, /different cluster map is already installed at epoch 5/);
    expect((await client.clusterMap())!.nodes[0]!.port).to.equal(7000);
    await client.setClusterMap(map(6, 7001));
    expect((await client.clusterMap())!.nodes[0]!.port).to.equal(7001);
  });

  it('400 with the parse error for an invalid map, and for a body that is not JSON', async () => {
    const client = new AdminClient(url, TOKEN);
    const bad = { ...map(1), shards: [{ id: 'shard-0', slots: [[0, 16384]], primary: 'n0', replicas: [] }] } as unknown as ClusterMap;
    const e = await expectApiError(client.setClusterMap(bad), 400, /invalid cluster map: shards\[0\]\.slots\[0\]\[1\] must be a slot/);
    expect(e.code).to.equal('bad_request');
    const res = await fetch(`${url}/admin/cluster/map`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: '{nope' });
    expect(res.status).to.equal(400);
    expect(state.map).to.equal(null);
  });

  it('401 without the bearer token', async () => {
    await expectApiError(new AdminClient(url, 'wrong').clusterMap(), 401, /Bearer/);
    await expectApiError(new AdminClient(url, 'wrong').setClusterMap(map(1)), 401, /Bearer/);
    expect(state.map).to.equal(null);
  });

  it('exports the map epoch, the slots owned and refused pushes as metrics', async () => {
    const client = new AdminClient(url, TOKEN);
    await client.setClusterMap(map(9));
    await client.setClusterMap(map(8)).catch(() => undefined);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).to.match(/^irisdb_cluster_map_epoch 9$/m);
    expect(text).to.match(/^irisdb_cluster_slots_owned 16384$/m);
    expect(text).to.match(/^irisdb_cluster_map_conflicts_total 1$/m);
  });
});
