/**
 * `irisctl local up --tls --tls-keep-plain` (3 shards × 1 replica): every node
 * serves plain RESP and RESP over TLS side by side, as Redis with `port`,
 * `tls-port` and `tls-cluster yes`. A client is always told ports of its own
 * kind: MOVED, CLUSTER SLOTS and CLUSTER NODES name TLS ports to TLS
 * connections and plain ports to plain ones; CLUSTER SHARDS lists both
 * ("port" and "tls-port"). Stock clients of both kinds read and write every
 * shard (issue #14). Also: the change feed's 307 on an HTTPS node points at https://.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { keySlot } from '../../common/slot.js';
import { nodeFetch } from '../../common/node-fetch.js';
import type { ClusterStatus, NodeView } from '../../operator/core/observation.js';

/** One key per shard, owned by shard i (by its slot range). */
function keyOfEachShard(st: ClusterStatus): string[] {
  return st.shards.map((s) => {
    for (let i = 0; ; i++) {
      const k = `dual:${s.id}:${i}`;
      const slot = keySlot(Buffer.from(k));
      if (s.slots.some(([a, b]) => slot >= a && slot <= b)) return k;
    }
  });
}

describe('local cluster with --tls --tls-keep-plain (plain and TLS ports side by side)', function () {
  this.timeout(240_000);
  let cluster: LocalCluster;
  let ca: Buffer;
  let caFile: string;
  let st: ClusterStatus;
  const clients: Cluster[] = [];
  const primaryOf = (i: number): NodeView => st.shards[i]!.nodes.find((n) => n.name === st.shards[i]!.primary)!;
  const tlsCli = (...args: string[]) => run('redis-cli', ['--tls', '--cacert', caFile, ...args]);

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 1, heartbeatMs: 200, failureThreshold: 3, extraArgs: ['--tls', '--tls-keep-plain'] });
    caFile = path.join(cluster.dir, 'tls', 'ca.crt');
    ca = fs.readFileSync(caFile);
    st = await cluster.status();
  });

  let resumed: LocalCluster | undefined;
  after(async () => {
    for (const c of clients) c.disconnect();
    await resumed?.destroy();
    await cluster?.destroy();
  });

  it('reports both ports of every node in status (JSON and irisctl status) and the connect lines', async () => {
    for (const n of st.shards.flatMap((s) => s.nodes)) {
      expect(n.port, n.name).to.be.a('number');
      expect(n.tlsPort, n.name).to.be.a('number');
      expect(n.tlsPort).to.not.equal(n.port);
    }
    const shown = (await run(process.execPath, [IRISCTL, 'status', '--dir', cluster.dir])).stdout;
    for (const n of st.shards.flatMap((s) => s.nodes)) expect(shown).to.include(`127.0.0.1:${n.port} (TLS ${n.tlsPort})`);
    // Printed just after the cluster turns Ready.
    await waitFor('the connect lines', () => cluster.output().includes(`redis-cli --tls --cacert ${caFile} -c -p`) && /or plain: {2}redis-cli -c -p \d+/.test(cluster.output()));
  });

  it('answers MOVED with the plain port to a plain client and the TLS port to a TLS client', async () => {
    const seed = primaryOf(0);
    const [, key] = keyOfEachShard(st);
    const target = primaryOf(1);
    const plain = await run('redis-cli', ['-p', String(seed.port), 'GET', key!]);
    expect(plain.stdout).to.include(`MOVED ${keySlot(Buffer.from(key!))} 127.0.0.1:${target.port}`);
    const overTls = await tlsCli('-p', String(seed.tlsPort), 'GET', key!);
    expect(overTls.stdout).to.include(`MOVED ${keySlot(Buffer.from(key!))} 127.0.0.1:${target.tlsPort}`);
  });

  it('redis-cli -c over plain text and over TLS each write and read every shard', async () => {
    const keys = keyOfEachShard(st);
    // Seeds on a replica: every key needs a redirect, some to another shard.
    const replica = st.shards[2]!.nodes.find((n) => n.name !== st.shards[2]!.primary)!;
    for (const k of keys) {
      expect((await run('redis-cli', ['-c', '-p', String(replica.port), 'SET', k, `plain-${k}`])).stdout.trim()).to.equal('OK');
      expect((await tlsCli('-c', '-p', String(replica.tlsPort), 'GET', k)).stdout.trim()).to.equal(`plain-${k}`);
      expect((await tlsCli('-c', '-p', String(replica.tlsPort), 'SET', k, `tls-${k}`)).stdout.trim()).to.equal('OK');
      expect((await run('redis-cli', ['-c', '-p', String(replica.port), 'GET', k])).stdout.trim()).to.equal(`tls-${k}`);
    }
  });

  it('CLUSTER SLOTS and CLUSTER NODES name the ports of the connection\'s kind', async () => {
    const nodes = st.shards.flatMap((s) => s.nodes);
    const seed = primaryOf(0);
    const plainSlots = (await run('redis-cli', ['-p', String(seed.port), 'CLUSTER', 'SLOTS'])).stdout.split('\n').map((l) => l.trim());
    const tlsSlots = (await tlsCli('-p', String(seed.tlsPort), 'CLUSTER', 'SLOTS')).stdout.split('\n').map((l) => l.trim());
    for (const n of nodes) {
      expect(plainSlots, n.name).to.include(String(n.port)).and.not.include(String(n.tlsPort));
      expect(tlsSlots, n.name).to.include(String(n.tlsPort)).and.not.include(String(n.port));
    }
    const plainNodes = (await run('redis-cli', ['-p', String(seed.port), 'CLUSTER', 'NODES'])).stdout;
    const tlsNodes = (await tlsCli('-p', String(seed.tlsPort), 'CLUSTER', 'NODES')).stdout;
    for (const n of nodes) {
      expect(plainNodes).to.include(` 127.0.0.1:${n.port}@`);
      expect(tlsNodes).to.include(` 127.0.0.1:${n.tlsPort}@`);
    }
  });

  it('CLUSTER SHARDS lists "port" and "tls-port" of every node on either connection', async () => {
    const nodes = st.shards.flatMap((s) => s.nodes);
    for (const out of [
      (await run('redis-cli', ['-p', String(primaryOf(1).port), 'CLUSTER', 'SHARDS'])).stdout,
      (await tlsCli('-p', String(primaryOf(1).tlsPort), 'CLUSTER', 'SHARDS')).stdout,
    ]) {
      const lines = out.split('\n').map((l) => l.trim());
      for (const n of nodes) {
        const i = lines.indexOf(String(n.tlsPort));
        expect(i, n.name).to.be.greaterThan(0);
        expect(lines[i - 1]).to.equal('tls-port');
        expect(lines[lines.indexOf(String(n.port)) - 1]).to.equal('port');
      }
    }
  });

  it('an ioredis Cluster over TLS and one over plain text both reach every primary on their own kind of port', async () => {
    const tlsClient = new Cluster([{ host: '127.0.0.1', port: primaryOf(0).tlsPort! }], {
      maxRedirections: 16, slotsRefreshTimeout: 2000, redisOptions: { tls: { ca }, enableReadyCheck: false, commandTimeout: 5000 },
    });
    const plainClient = new Cluster([{ host: '127.0.0.1', port: primaryOf(0).port! }], { maxRedirections: 16, slotsRefreshTimeout: 2000 });
    for (const c of [tlsClient, plainClient]) {
      c.on('error', () => {});
      clients.push(c);
    }
    for (let i = 0; i < 200; i++) expect(await tlsClient.set(`dual:io${i}`, `v${i}`)).to.equal('OK');
    for (let i = 0; i < 200; i++) expect(await plainClient.get(`dual:io${i}`)).to.equal(`v${i}`);
    const primaries = st.shards.map((_, i) => primaryOf(i));
    expect(new Set(tlsClient.nodes('master').map((n) => n.options.port))).to.deep.equal(new Set(primaries.map((p) => p.tlsPort)));
    expect(new Set(plainClient.nodes('master').map((n) => n.options.port))).to.deep.equal(new Set(primaries.map((p) => p.port)));
  });

  it('sends a change-feed request on an HTTPS node to the primary over https:// (Location)', async () => {
    const fetchTls = nodeFetch({ caFile });
    const replica = st.shards[0]!.nodes.find((n) => n.name !== st.shards[0]!.primary)!;
    const res = await fetchTls(`${replica.httpUrl!}/v1/changes?shard=${st.shards[0]!.id}`, { headers: { accept: 'text/event-stream' } });
    await res.body?.cancel();
    expect(res.status).to.equal(307);
    expect(res.headers.get('location')).to.equal(`${primaryOf(0).httpUrl!}/v1/changes?shard=${st.shards[0]!.id}`);
    expect(res.headers.get('location')).to.match(/^https:\/\//);
  });

  it('keeps both kinds of port when restarted without the flags', async () => {
    const before = st.shards.flatMap((s) => s.nodes.map((n) => [n.name, n.port, n.tlsPort]));
    expect(await cluster.stop()).to.equal(0);
    resumed = await LocalCluster.start({ dir: cluster.dir, basePort: cluster.basePort, shards: 3, replicas: 1, heartbeatMs: 200, failureThreshold: 3 });
    st = await resumed.status();
    const after = st.shards.flatMap((s) => s.nodes.map((n) => [n.name, n.port, n.tlsPort]));
    expect(after).to.deep.equal(before);
    const [key] = keyOfEachShard(st);
    const seed = st.shards[1]!.nodes[0]!;
    expect((await tlsCli('-c', '-p', String(seed.tlsPort), 'GET', key!)).stdout.trim()).to.equal(`tls-${key!}`);
    // Shard 0's primary as the resumed cluster has it (a restart may have changed it).
    expect((await tlsCli('-p', String(seed.tlsPort), 'GET', key!)).stdout).to.include(`127.0.0.1:${primaryOf(0).tlsPort}`);
    expect((await run('redis-cli', ['-p', String(seed.port), 'GET', key!])).stdout).to.include(`127.0.0.1:${primaryOf(0).port}`);
  });
});
