/**
 * `irisctl local up --tls` (3 shards × 1 replica, minSyncReplicas 1): every
 * node serves RESP over TLS only with a certificate from DIR/tls and
 * replicates over a mutual-TLS bus; stock clients verify it against
 * DIR/tls/ca.crt, follow MOVED to TLS ports, and keep working across a
 * failover (issue #14).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { LocalCluster } from '../support/local-cluster.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { createCertificateAuthority, issueCertificate } from '../../node/tls/cert-authority.js';
import { keySlot } from '../../common/slot.js';
import { makeTempDir } from '../support/node-process.js';
import { freePort } from '../support/ports.js';
import { startRedis } from '../support/redis-server.js';
import { makeTlsFixture } from '../support/tls-fixture.js';

function plainPing(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = '';
    socket.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    socket.on('error', () => { /* closed by the server */ });
    socket.on('close', () => resolve(got));
    socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
  });
}

describe('local cluster with --tls', function () {
  this.timeout(240_000);
  let cluster: LocalCluster;
  let ca: Buffer;
  let caFile: string;
  const clients: Array<Redis | Cluster> = [];

  function tlsCluster(seed: number): Cluster {
    const c = new Cluster([{ host: '127.0.0.1', port: seed }], {
      maxRedirections: 64, retryDelayOnTryAgain: 50, retryDelayOnMoved: 0, slotsRefreshTimeout: 2000, slotsRefreshInterval: 1000,
      redisOptions: { tls: { ca }, enableReadyCheck: false, commandTimeout: 5000 },
    });
    c.on('error', () => {});
    clients.push(c);
    return c;
  }

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 1, minSyncReplicas: 1, heartbeatMs: 200, failureThreshold: 3, extraArgs: ['--tls'] });
    caFile = path.join(cluster.dir, 'tls', 'ca.crt');
    ca = fs.readFileSync(caFile);
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.destroy();
  });

  it('prints the TLS connect line and keeps the CA key private', async () => {
    await waitFor('the connect line', () => cluster.output().includes(`redis-cli --tls --cacert ${caFile} -c -p`));
    expect((fs.statSync(path.join(cluster.dir, 'tls', 'ca.key')).mode & 0o777).toString(8)).to.equal('600');
    expect((fs.statSync(path.join(cluster.dir, 'tls', 'node.key')).mode & 0o777).toString(8)).to.equal('600');
  });

  it('refuses plain-text RESP on every node', async () => {
    for (const port of await cluster.seedPorts()) expect(await plainPing(port)).to.not.include('PONG');
  });

  it('refuses plain TCP and certificates from another CA on the bus ports', async () => {
    const st = await cluster.status();
    const busPorts = st.shards.flatMap((s) => s.nodes.map((n) => n.port! + 10000));
    const otherCa = await createCertificateAuthority(path.join(cluster.dir, 'other-ca'), 'other');
    const intruder = await issueCertificate(otherCa, path.join(cluster.dir, 'other-ca'), 'intruder', { hosts: ['127.0.0.1'] });
    for (const port of busPorts) {
      // A plain client gets nothing back but a closed connection.
      expect(await plainPing(port)).to.equal('');
      // A TLS client whose certificate the cluster CA did not sign is refused in the handshake.
      const refused = await new Promise<string>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca, cert: fs.readFileSync(intruder.certFile), key: fs.readFileSync(intruder.keyFile), checkServerIdentity: () => undefined });
        s.on('secureConnect', () => s.write('x'));
        s.on('error', (e) => resolve(e.message));
        s.on('close', () => resolve('closed'));
      });
      expect(refused).to.not.equal('');
    }
  });

  it('serves redis-cli --tls -c and an ioredis Cluster over TLS across all shards', async () => {
    const seed = await cluster.seedPort();
    const set = await run('redis-cli', ['--tls', '--cacert', caFile, '-c', '-p', String(seed), 'SET', 'tls:cli', 'v']);
    expect(set.stdout.trim()).to.equal('OK');
    const c = tlsCluster(seed);
    for (let i = 0; i < 300; i++) expect(await c.set(`tls:k${i}`, `v${i}`)).to.equal('OK');
    for (let i = 0; i < 300; i++) expect(await c.get(`tls:k${i}`)).to.equal(`v${i}`);
    expect(await c.get('tls:cli')).to.equal('v');
    // Every node of the map was reached over TLS (the keys span every shard).
    const ports = new Set(c.nodes('master').map((n) => n.options.port));
    expect(ports.size).to.equal(3);
    const slots = await run('redis-cli', ['--tls', '--cacert', caFile, '-p', String(seed), 'CLUSTER', 'SLOTS']);
    for (const p of await cluster.seedPorts()) expect(slots.stdout).to.include(String(p));
  });

  it('has every acknowledged write on the replica (minSyncReplicas 1)', async () => {
    const st = await cluster.status();
    const c = tlsCluster(await cluster.seedPort());
    for (let i = 0; i < 50; i++) await c.set(`tls:r${i}`, `r${i}`);
    let found = 0;
    for (const shard of st.shards) {
      const replica = shard.nodes.find((n) => n.name !== shard.primary)!;
      const r = new Redis({ host: '127.0.0.1', port: replica.port!, tls: { ca }, lazyConnect: true });
      clients.push(r);
      r.on('error', () => { /* reconnect attempts to a node a later test kills */ });
      await r.connect();
      await r.call('READONLY');
      for (let i = 0; i < 50; i++) {
        const v = await r.get(`tls:r${i}`).catch((e: Error) => (e.message.startsWith('MOVED') ? undefined : Promise.reject(e)));
        if (v !== undefined) {
          expect(v).to.equal(`r${i}`);
          found++;
        }
      }
    }
    expect(found).to.equal(50);
  });

  it('carries PUBLISH between nodes over the TLS bus', async () => {
    const [a, b] = await cluster.seedPorts() as [number, number];
    const sub = new Redis({ host: '127.0.0.1', port: a, tls: { ca }, lazyConnect: true });
    const pub = new Redis({ host: '127.0.0.1', port: b, tls: { ca }, lazyConnect: true });
    clients.push(sub, pub);
    for (const c of [sub, pub]) c.on('error', () => { /* reconnect attempts to a node a later test kills */ });
    await sub.connect();
    await pub.connect();
    const got: string[] = [];
    sub.on('message', (_channel: string, message: string) => got.push(message));
    await sub.subscribe('tls:news');
    // Best-effort delivery (as Redis): publish until the link to the other node is up and one arrives.
    await waitFor('a message published on another node to arrive', async () => {
      await pub.publish('tls:news', 'hello over tls');
      return got.length > 0;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    expect(got[0]).to.equal('hello over tls');
  });

  /** CLUSTER SHARDS of a node over TLS: each node's fields as [name, value] pairs (RESP2 flat arrays). */
  async function shardNodes(client: Redis): Promise<Array<Map<string, unknown>>> {
    const reply = await client.call('CLUSTER', 'SHARDS') as unknown[][];
    return reply.flatMap((shard) => {
      const nodes = shard[shard.indexOf('nodes') + 1] as unknown[][];
      return nodes.map((n) => new Map(n.flatMap((v, i) => (i % 2 === 0 ? [[String(v), n[i + 1]] as [string, unknown]] : []))));
    });
  }

  it('lists TLS-only nodes with "tls-port" and no "port" in CLUSTER SHARDS, as redis-server 7 with port 0 and tls-cluster yes; SLOTS, NODES and MOVED name the TLS port', async () => {
    // The reference: a one-node Redis Cluster serving TLS only.
    const dir = await makeTempDir('irisdb-redis-tls-');
    const certs = await makeTlsFixture(dir);
    const redisPort = await freePort();
    const redis = await startRedis(['--port', '0', '--tls-port', String(redisPort), '--tls-cert-file', certs.server.certFile, '--tls-key-file', certs.server.keyFile,
      '--tls-ca-cert-file', certs.ca.certFile, '--tls-auth-clients', 'no', '--tls-cluster', 'yes', '--tls-replication', 'yes', '--cluster-enabled', 'yes'], { port: redisPort, dir });
    try {
      const r = new Redis({ host: '127.0.0.1', port: redisPort, tls: { ca: fs.readFileSync(certs.ca.certFile) }, lazyConnect: true });
      clients.push(r);
      await r.connect();
      expect(await r.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383')).to.equal('OK');
      const [ref] = await shardNodes(r);
      expect(ref!.has('port'), 'redis-server: no "port" for a TLS-only node').to.equal(false);
      expect(ref!.get('tls-port')).to.equal(redisPort);
      const st = await cluster.status();
      const seed = await cluster.seedPort();
      const c = new Redis({ host: '127.0.0.1', port: seed, tls: { ca }, lazyConnect: true });
      clients.push(c);
      await c.connect();
      const ours = await shardNodes(c);
      expect(ours.length).to.equal(st.shards.reduce((a, s) => a + s.nodes.length, 0));
      const nodePorts = st.shards.flatMap((s) => s.nodes.map((n) => n.port!)).sort();
      for (const n of ours) {
        expect([...n.keys()].filter((k) => k.endsWith('port')), 'the same port fields as redis-server').to.deep.equal(['tls-port']);
        expect([...n.keys()]).to.deep.equal([...ref!.keys()].filter((k) => k !== 'hostname' || n.has('hostname')));
      }
      expect(ours.map((n) => n.get('tls-port') as number).sort()).to.deep.equal(nodePorts);
      // SLOTS, NODES and MOVED give TLS clients the nodes' TLS ports (their only ports).
      const slots = await c.call('CLUSTER', 'SLOTS') as Array<[number, number, ...Array<[string, number]>]>;
      expect(slots.flatMap((s) => s.slice(2).map((e) => (e as [string, number])[1])).sort()).to.deep.equal(nodePorts);
      const nodes = String(await c.call('CLUSTER', 'NODES')).trim().split('\n').map((l) => Number(/:(\d+)@/.exec(l)![1])).sort();
      expect(nodes).to.deep.equal(nodePorts);
      const owner = st.shards.find((s) => s.nodes.every((n) => n.port !== seed))!;
      const key = Array.from({ length: 1000 }, (_, i) => `tls:moved${i}`).find((k) => owner.slots.some(([a, b]) => keySlot(Buffer.from(k)) >= a && keySlot(Buffer.from(k)) <= b))!;
      const moved = await c.get(key).catch((e: Error) => e.message);
      const primary = owner.nodes.find((n) => n.name === owner.primary)!;
      expect(moved).to.equal(`MOVED ${keySlot(Buffer.from(key))} ${primary.host}:${primary.port}`);
    } finally {
      await redis.stop();
    }
  });

  it('fails over a killed primary; clients keep going over TLS and lose no acknowledged write', async () => {
    const c = tlsCluster(await cluster.seedPort());
    const before = await cluster.shard('shard-0');
    const old = before.primary!;
    const acked: string[] = [];
    for (let i = 0; i < 100; i++) {
      await c.set(`tls:f${i}`, `f${i}`);
      acked.push(`tls:f${i}`);
    }
    process.kill(await cluster.pidOf(old), 'SIGKILL');
    await waitFor(`shard-0 to promote a replica in place of ${old}`, async () => {
      const s = await cluster.shard('shard-0');
      return s.primary !== old && s.failover === null && s.nodes.find((n) => n.name === s.primary)?.role === 'primary';
    }, { timeoutMs: 60_000, intervalMs: 100 });
    // Writes wait for the killed node to be back as a replica (dataDurability required): retry until acknowledged.
    await waitFor('a write to every shard after the failover', async () => {
      for (let i = 0; i < 30; i++) await c.set(`tls:after${i}`, 'x');
      return true;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    for (const k of acked) expect(await c.get(k)).to.equal(k.replace('tls:', ''));
    expect(await c.get('tls:k7')).to.equal('v7');
  });
});
