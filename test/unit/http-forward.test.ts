/**
 * HTTP forwarding (issue #13): the pure target choice, and
 * two in-process HTTP apps over real engines, A routing a slot to B: A
 * forwards to B, redirects with ?redirect=true, never forwards a request that
 * was already forwarded (loop guard), and says so when B cannot be reached.
 */
import { expect } from 'chai';
import { parseClusterMap, type ClusterMap } from '../../common/cluster-map.js';
import { keySlot } from '../../common/slot.js';
import type { NodeConfig } from '../../node/config/schema.js';
import type { HttpDeps } from '../../node/http/deps.js';
import {
  FORWARDED_HEADER, forwardDecision, httpTargetOf, scanShards, targetUrl,
} from '../../node/http/forward-target.js';
import { startHttpApp } from '../support/http-app-fixture.js';

const MAP: ClusterMap = parseClusterMap({
  epoch: 3,
  nodes: [
    { name: 'a', host: '127.0.0.1', port: 7000, busPort: 17000, httpPort: 8000 },
    { name: 'b', host: '127.0.0.1', port: 7001, busPort: 17001, httpPort: 8001 },
    { name: 'old', host: '::1', port: 7002, busPort: 17002 },
  ],
  shards: [
    { id: 'shard-1', slots: [[8192, 16383]], primary: 'b', replicas: [] },
    { id: 'shard-0', slots: [[0, 8191]], primary: 'a', replicas: ['old'] },
  ],
});

describe('HTTP forwarding: target choice and shard cursor (pure)', () => {
  it('finds the HTTP address of the node a 421 names; none for a map without httpPort', () => {
    expect(httpTargetOf(MAP, { host: '127.0.0.1', port: 7001 })).to.deep.equal({ name: 'b', host: '127.0.0.1', httpPort: 8001 });
    expect(httpTargetOf(MAP, { host: '::1', port: 7002 })).to.equal(null);
    expect(httpTargetOf(MAP, { host: '10.0.0.1', port: 7001 })).to.equal(null);
    expect(httpTargetOf(null, { host: '127.0.0.1', port: 7001 })).to.equal(null);
  });

  it('forwards once: a forwarded request or an unknown owner is refused (421), redirect when asked', () => {
    const target = { name: 'b', host: '127.0.0.1', httpPort: 8001 };
    expect(forwardDecision({ forwarded: false, redirect: false, target })).to.equal('forward');
    expect(forwardDecision({ forwarded: false, redirect: true, target })).to.equal('redirect');
    expect(forwardDecision({ forwarded: true, redirect: false, target })).to.equal('refuse');
    expect(forwardDecision({ forwarded: true, redirect: true, target })).to.equal('refuse');
    expect(forwardDecision({ forwarded: false, redirect: false, target: null })).to.equal('refuse');
  });

  it('builds target URLs, bracketing IPv6 hosts', () => {
    expect(targetUrl({ name: 'b', host: '127.0.0.1', httpPort: 8001 }, '/v1/kv/x?a=1')).to.equal('http://127.0.0.1:8001/v1/kv/x?a=1');
    expect(targetUrl({ name: 'b', host: 'fd00::1', httpPort: 80 }, '/v1/scan')).to.equal('http://[fd00::1]:80/v1/scan');
  });

  it('lists shards in id order with the HTTP target of each primary', () => {
    const shards = scanShards(MAP);
    expect(shards.map((s) => [s.id, s.primary, s.target?.httpPort])).to.deep.equal([['shard-0', 'a', 8000], ['shard-1', 'b', 8001]]);
  });

  it('a map without httpPort still parses (older controllers); a bad one is refused', () => {
    expect(MAP.nodes.find((n) => n.name === 'old')?.httpPort).to.equal(undefined);
    expect(() => parseClusterMap({ epoch: 1, nodes: [{ name: 'a', host: 'h', port: 1, busPort: 2, httpPort: 'x' }], shards: [] })).to.throw(/httpPort/);
  });
});

interface Node { url: string; port: number; get(key: string): string | null; close(): Promise<void> }

async function startNode(extra: Pick<HttpDeps, 'keyRouter' | 'clusterMap'> | Record<string, never>, overrides: Partial<NodeConfig> = {}): Promise<Node> {
  const f = await startHttpApp({ httpForwardTimeoutMs: 5000, ...overrides }, () => extra);
  return {
    url: f.url, port: f.port,
    get: (key) => f.engine.keyspace.get(Buffer.from(key), Date.now())?.value.toString() ?? null,
    close: () => f.close(),
  };
}

const AUTH = { authorization: 'Bearer pw' };

describe('HTTP forwarding between two nodes (in process)', () => {
  const elsewhere = keySlot('elsewhere');
  let a: Node;
  let b: Node;
  let bHttpPort = 0;

  before(async () => {
    b = await startNode({}, { requirePass: 'pw' });
    bHttpPort = b.port;
    const map = (): ClusterMap => parseClusterMap({
      epoch: 1,
      nodes: [{ name: 'b', host: '127.0.0.1', port: 7001, busPort: 17001, httpPort: bHttpPort }],
      shards: [{ id: 'shard-1', slots: [[elsewhere, elsewhere]], primary: 'b', replicas: [] }],
    });
    a = await startNode({
      clusterMap: map,
      keyRouter: {
        clustered: () => true,
        route: (slot) => (slot === elsewhere ? { kind: 'error', message: `MOVED ${slot} 127.0.0.1:7001`, movedTo: { host: '127.0.0.1', port: 7001 } } : { kind: 'serve' }),
        whenLifted: async () => {},
      },
    });
  });

  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('forwards PUT, GET, batch and DELETE to the owner with their bodies and Authorization, and passes the answer back', async () => {
    // B checks the password again: A (no requirePass) forwards the client's Authorization unchanged.
    const refused = await fetch(`${a.url}/v1/kv/elsewhere`, { method: 'PUT', body: 'v0' });
    expect(refused.status).to.equal(401);
    expect(refused.headers.get('www-authenticate')).to.match(/Basic/);
    expect(b.get('elsewhere')).to.equal(null);
    const put = await fetch(`${a.url}/v1/kv/elsewhere?ttlMs=60000`, { method: 'PUT', body: 'v1', headers: AUTH });
    expect(put.status).to.equal(200);
    expect(put.headers.get('etag')).to.match(/^"\d+"$/);
    expect(b.get('elsewhere')).to.equal('v1');
    expect(a.get('elsewhere')).to.equal(null);
    const get = await fetch(`${a.url}/v1/kv/elsewhere`, { headers: AUTH });
    expect(get.status).to.equal(200);
    expect(get.headers.get('x-iris-expires-at')).to.match(/^\d+$/);
    expect(await get.text()).to.equal('v1');
    const batch = await fetch(`${a.url}/v1/kv:batch`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...AUTH },
      body: JSON.stringify({ ops: [{ op: 'put', key: '{elsewhere}x', value: 'bx' }, { op: 'get', key: 'elsewhere' }] }),
    });
    expect(batch.status).to.equal(200);
    expect(((await batch.json()) as { results: Array<Record<string, unknown>> }).results[1]).to.include({ found: true, value: 'v1' });
    expect(b.get('{elsewhere}x')).to.equal('bx');
    const del = await fetch(`${a.url}/v1/kv/elsewhere`, { method: 'DELETE', headers: AUTH });
    expect(await del.json()).to.deep.equal({ deleted: true });
    expect(b.get('elsewhere')).to.equal(null);
    // Keys A serves stay on A.
    expect((await fetch(`${a.url}/v1/kv/here`, { method: 'PUT', body: 'h' })).status).to.equal(200);
    expect(a.get('here')).to.equal('h');
  });

  it('answers 307 naming the owner with ?redirect=true or X-Iris-Redirect', async () => {
    const asks: Array<{ url: string; headers: Record<string, string> }> = [
      { url: `${a.url}/v1/kv/elsewhere?redirect=true`, headers: {} },
      { url: `${a.url}/v1/kv/elsewhere`, headers: { 'x-iris-redirect': 'true' } },
    ];
    for (const init of asks) {
      const res = await fetch(init.url, { redirect: 'manual', headers: init.headers });
      expect(res.status).to.equal(307);
      expect(new URL(res.headers.get('location') ?? '').origin).to.equal(b.url);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('moved');
    }
  });

  it('never forwards a forwarded request again (loop guard): 421 moved', async () => {
    const res = await fetch(`${a.url}/v1/kv/elsewhere`, { method: 'PUT', body: 'x', headers: { [FORWARDED_HEADER]: '1' } });
    expect(res.status).to.equal(421);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('moved');
    expect(b.get('elsewhere')).to.equal(null);
  });

  it('answers 502 forward_failed naming the owner when it cannot be reached', async () => {
    const saved = bHttpPort;
    bHttpPort = 1; // nothing listens on port 1
    try {
      const res = await fetch(`${a.url}/v1/kv/elsewhere`);
      expect(res.status).to.equal(502);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).to.equal('forward_failed');
      expect(body.error.message).to.match(/could not forward to b/);
    } finally {
      bHttpPort = saved;
    }
  });
});
