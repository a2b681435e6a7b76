/**
 * Issue #14: HTTP forwarding across a scheme change, as in a roll of a
 * spec.tls cluster from plain 8080 to --tls-http. Two real nodes in one
 * cluster map (one shard each), both with the cluster's certificates and a
 * password: "tls" serves HTTPS only, "plain" serves plain HTTP. The plain
 * node finds with a bare TLS handshake that its peer speaks HTTPS and sends
 * each request once over HTTPS (verified against the CA), remembering the
 * peer's scheme; a request the HTTPS node would have to forward in clear is
 * refused with a clear 502 and nothing reaches the plain node. A peer that
 * closes the connection after reading a write gets it once: the client
 * gets 504 "may or may not have been applied", the write is not re-sent.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import type { ClusterMap } from '../../common/cluster-map.js';
import { AdminClient } from '../../common/admin-client.js';
import { nodeFetch, type FetchLike } from '../../common/node-fetch.js';
import { keySlot } from '../../common/slot.js';
import { CLUSTER_TOKEN } from '../support/repl-shard.js';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';
import { makeTlsFixture, type TlsFixture } from '../support/tls-fixture.js';
import { waitFor } from '../support/wait.js';

const PASSWORD = 'scheme-roll-secret';
const AUTH = { authorization: `Bearer ${PASSWORD}` };
/** The map gives each node half of the slots: "tls" 0-8191, "plain" 8192-16383. */
const SPLIT = 8192;

function keyOwnedBy(owner: 'tls' | 'plain', tag: string): string {
  for (let i = 0; ; i++) {
    const k = `${tag}-${i}`;
    if ((keySlot(Buffer.from(k)) < SPLIT) === (owner === 'tls')) return k;
  }
}

describe('HTTP forwarding across a plain/HTTPS roll (issue #14)', function () {
  this.timeout(120_000);
  let dir: string;
  let fx: TlsFixture;
  let tls: RunningNode | undefined;
  let plain: RunningNode | undefined;
  let httpsFetch: FetchLike;
  let tlsUrl: string;

  before(async () => {
    dir = await makeTempDir('irisdb-fwd-scheme-');
    fx = await makeTlsFixture(dir);
    httpsFetch = nodeFetch({ caFile: fx.ca.certFile });
    const common = ['--cluster-enabled', 'yes', '--admin-token', CLUSTER_TOKEN, '--require-pass', PASSWORD,
      '--tls-cert-file', fx.server.certFile, '--tls-key-file', fx.server.keyFile, '--tls-ca-cert-file', fx.ca.certFile, '--tls-cluster', 'yes'];
    tls = await startNode({
      args: [...common, '--node-name', 'tls', '--tls-http', 'yes'],
      ready: (port) => httpsFetch(`https://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false),
    });
    tlsUrl = `https://127.0.0.1:${tls.httpPort}`;
    // info: the log line saying it learnt the peer's scheme (once: later requests go straight to HTTPS).
    plain = await startNode({ args: [...common, '--node-name', 'plain'], awaitReadyz: false, env: { IRIS_LOG_LEVEL: 'info' } });
    const map: ClusterMap = {
      epoch: 1,
      nodes: [
        { name: 'tls', host: '127.0.0.1', port: tls.port, busPort: tls.busPort, httpPort: tls.httpPort },
        { name: 'plain', host: '127.0.0.1', port: plain.port, busPort: plain.busPort, httpPort: plain.httpPort },
      ],
      shards: [
        { id: 'shard-0', slots: [[0, SPLIT - 1]], primary: 'tls', replicas: [] },
        { id: 'shard-1', slots: [[SPLIT, 16383]], primary: 'plain', replicas: [] },
      ],
    };
    const admins = [new AdminClient(tlsUrl, CLUSTER_TOKEN, 30_000, httpsFetch), new AdminClient(plain.url, CLUSTER_TOKEN)];
    for (const a of admins) await a.setRole({ role: 'primary', epoch: 1, replicas: [] });
    for (const a of admins) await a.setClusterMap(map);
    await waitFor('both nodes ready with the map', async () => {
      const a = await httpsFetch(`${tlsUrl}/readyz`).then((r) => r.status, () => 0);
      const b = await fetch(`${plain!.url}/readyz`).then((r) => r.status, () => 0);
      return a === 200 && b === 200;
    }, { timeoutMs: 20_000 });
  });

  after(async () => {
    await tls?.kill9();
    await plain?.kill9();
    for (const n of [tls, plain]) if (n !== undefined) await fs.promises.rm(n.dataDir, { recursive: true, force: true });
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('plain node → HTTPS node: PUT and GET are forwarded over HTTPS (verified), the scheme is remembered', async () => {
    for (let i = 0; i < 5; i++) {
      const k = keyOwnedBy('tls', `up${i}`);
      const put = await fetch(`${plain!.url}/v1/kv/${k}`, { method: 'PUT', body: `value-${k}`, headers: AUTH });
      expect(put.status, `PUT ${k} via plain: ${await put.clone().text()}`).to.equal(200);
      const get = await fetch(`${plain!.url}/v1/kv/${k}`, { headers: AUTH });
      expect(get.status, `GET ${k} via plain`).to.equal(200);
      expect(await get.text()).to.equal(`value-${k}`);
      // It is on the HTTPS node itself.
      const direct = await httpsFetch(`${tlsUrl}/v1/kv/${k}`, { headers: AUTH });
      expect(await direct.text()).to.equal(`value-${k}`);
    }
    // The forwarded request carries the client's credentials; the HTTPS node checks them.
    const denied = await fetch(`${plain!.url}/v1/kv/${keyOwnedBy('tls', 'noauth')}`, { method: 'PUT', body: 'x', headers: { authorization: 'Bearer wrong' } });
    expect(denied.status).to.equal(401);
    // A scan through the plain node walks both shards, the HTTPS one's pages over HTTPS.
    const direct = await fetch(`${plain!.url}/v1/kv/${keyOwnedBy('plain', 'up-own')}`, { method: 'PUT', body: 'own', headers: AUTH });
    expect(direct.status).to.equal(200);
    const seen: string[] = [];
    let cursor: string | null = '';
    for (let pages = 0; cursor !== null && pages < 50; pages++) {
      const res = await fetch(`${plain!.url}/v1/scan?prefix=up&limit=3&cursor=${encodeURIComponent(cursor)}`, { headers: AUTH });
      expect(res.status, await res.clone().text()).to.equal(200);
      const page = (await res.json()) as { items: Array<{ key: string }>; cursor: string | null };
      seen.push(...page.items.map((x) => x.key));
      cursor = page.cursor;
    }
    expect(seen.sort()).to.deep.equal([...Array.from({ length: 5 }, (_, i) => keyOwnedBy('tls', `up${i}`)), keyOwnedBy('plain', 'up-own')].sort());
    // Learnt once (one memory per node, shared by forwarding and the scan route), then used straight away.
    const learnt = plain!.logs().split('\n').filter((l) => l.includes('peer answers over another scheme') && l.includes('"scheme":"https"'));
    expect(learnt, plain!.logs().slice(-2000)).to.have.length(1);
  });

  it('HTTPS node → plain node: refused with 502 scheme_mismatch, nothing sent in clear; the owner serves it directly', async () => {
    const k = keyOwnedBy('plain', 'down');
    const put = await httpsFetch(`${tlsUrl}/v1/kv/${k}`, { method: 'PUT', body: 'never-in-clear', headers: AUTH });
    expect(put.status).to.equal(502);
    const err = ((await put.json()) as { error: { code: string; message: string; details: { reason: string; node: string } } }).error;
    expect(err.code).to.equal('forward_failed');
    expect(err.details).to.include({ reason: 'scheme_mismatch', node: 'plain' });
    expect(err.message).to.match(/serves plain HTTP.*never forwards a request, credentials included, in clear/);
    const absent = await fetch(`${plain!.url}/v1/kv/${k}`, { headers: AUTH });
    expect(absent.status, 'the refused PUT did not reach the plain node').to.equal(404);
    // A GET through the HTTPS node is refused the same way; the owner answers it directly.
    const direct = await fetch(`${plain!.url}/v1/kv/${k}`, { method: 'PUT', body: 'direct', headers: AUTH });
    expect(direct.status).to.equal(200);
    const get = await httpsFetch(`${tlsUrl}/v1/kv/${k}`, { headers: AUTH });
    expect(get.status).to.equal(502);
  });

  it('once the plain node is rolled to --tls-http, the HTTPS node forwards to it in both directions', async () => {
    const dataDir = plain!.dataDir;
    expect(await plain!.stop()).to.equal(0);
    plain = await startNode({
      dataDir, port: plain!.port, httpPort: plain!.httpPort, busPort: plain!.busPort,
      args: ['--cluster-enabled', 'yes', '--admin-token', CLUSTER_TOKEN, '--require-pass', PASSWORD, '--node-name', 'plain',
        '--tls-cert-file', fx.server.certFile, '--tls-key-file', fx.server.keyFile, '--tls-ca-cert-file', fx.ca.certFile, '--tls-cluster', 'yes', '--tls-http', 'yes'],
      ready: (port) => httpsFetch(`https://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false),
    });
    const rolledUrl = `https://127.0.0.1:${plain.httpPort}`;
    const down = keyOwnedBy('plain', 'rolled');
    const put = await httpsFetch(`${tlsUrl}/v1/kv/${down}`, { method: 'PUT', body: 'after-roll', headers: AUTH });
    expect(put.status, await put.clone().text()).to.equal(200);
    expect(await (await httpsFetch(`${rolledUrl}/v1/kv/${down}`, { headers: AUTH })).text()).to.equal('after-roll');
    const up = keyOwnedBy('tls', 'rolled');
    const put2 = await httpsFetch(`${rolledUrl}/v1/kv/${up}`, { method: 'PUT', body: 'after-roll-2', headers: AUTH });
    expect(put2.status, await put2.clone().text()).to.equal(200);
    expect(await (await httpsFetch(`${tlsUrl}/v1/kv/${up}`, { headers: AUTH })).text()).to.equal('after-roll-2');
  });
});

/** A peer's HTTP port that reads each request and closes the connection without answering (a peer killed mid-request). */
async function startClosingPeer(): Promise<{ port: number; requests: () => number; handshakes: () => number; close: () => Promise<void> }> {
  let requests = 0;
  let handshakes = 0;
  const server = net.createServer((socket) => {
    socket.once('data', (chunk: Buffer) => {
      // 0x16: a TLS ClientHello (the forwarding node's probe), not a request.
      if (chunk[0] === 0x16) handshakes++;
      else requests++;
      socket.destroy();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, requests: () => requests, handshakes: () => handshakes, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('HTTP forwarding: a write whose connection closes after the peer read it is never sent again (issue #14)', function () {
  this.timeout(60_000);
  let dir: string;
  let node: RunningNode | undefined;
  let peer: Awaited<ReturnType<typeof startClosingPeer>> | undefined;

  before(async () => {
    dir = await makeTempDir('irisdb-fwd-reset-');
    const fx = await makeTlsFixture(dir);
    peer = await startClosingPeer();
    // A plain node holding the cluster CA: it probes peers whose scheme it does not know.
    node = await startNode({
      args: ['--cluster-enabled', 'yes', '--admin-token', CLUSTER_TOKEN, '--require-pass', PASSWORD, '--node-name', 'plain',
        '--tls-cert-file', fx.server.certFile, '--tls-key-file', fx.server.keyFile, '--tls-ca-cert-file', fx.ca.certFile, '--tls-cluster', 'yes'],
      awaitReadyz: false,
    });
    const map: ClusterMap = {
      epoch: 1,
      nodes: [
        { name: 'dying', host: '127.0.0.1', port: 1, busPort: 2, httpPort: peer.port },
        { name: 'plain', host: '127.0.0.1', port: node.port, busPort: node.busPort, httpPort: node.httpPort },
      ],
      shards: [
        { id: 'shard-0', slots: [[0, SPLIT - 1]], primary: 'dying', replicas: [] },
        { id: 'shard-1', slots: [[SPLIT, 16383]], primary: 'plain', replicas: [] },
      ],
    };
    const admin = new AdminClient(node.url, CLUSTER_TOKEN);
    await admin.setRole({ role: 'primary', epoch: 1, replicas: [] });
    await admin.setClusterMap(map);
    await waitFor('the node ready with the map', async () => (await fetch(`${node!.url}/readyz`).then((r) => r.status, () => 0)) === 200, { timeoutMs: 20_000 });
  });

  after(async () => {
    await node?.kill9();
    await peer?.close();
    if (node !== undefined) await fs.promises.rm(node.dataDir, { recursive: true, force: true });
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('PUT and DELETE: the peer receives each once, the client gets 504 "may or may not have been applied"; a GET gets 502', async () => {
    const k = keyOwnedBy('tls', 'reset');
    const put = await fetch(`${node!.url}/v1/kv/${k}`, { method: 'PUT', body: 'once', headers: AUTH });
    const body = await put.text();
    expect(put.status, body).to.equal(504);
    expect(body).to.match(/forward_failed/).and.match(/may or may not have been applied/);
    expect(peer!.requests(), 'the write reached the peer once, never re-sent').to.equal(1);
    expect(peer!.handshakes(), 'the node asked the peer its scheme with a TLS handshake, not with the request').to.be.greaterThan(0);
    const del = await fetch(`${node!.url}/v1/kv/${k}`, { method: 'DELETE', headers: AUTH });
    expect(del.status, await del.clone().text()).to.equal(504);
    expect(peer!.requests()).to.equal(2);
    const get = await fetch(`${node!.url}/v1/kv/${k}`, { headers: AUTH });
    expect(get.status, await get.clone().text()).to.equal(502);
    expect(peer!.requests(), 'a read is sent again only when a handshake shows another scheme').to.equal(3);
  });
});
