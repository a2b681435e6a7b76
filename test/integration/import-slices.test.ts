/**
 * The bulk route's time slices (PUT /v1/kv:import, --import-slice-ms,
 * issue #19) on a real local cluster (1 shard × 1 replica, minSyncReplicas
 * 1) whose nodes run with a 1 ms slice, so every request of 1000 rows is
 * applied and committed over several event-loop turns:
 * - one request over keys read (and cached as absent) just before: answered
 *   200 with more than one slice, every row readable with its value and TTL,
 *   the replica's digests equal the primary's;
 * - kill -9 of the primary while requests are between slices: every row of
 *   every request answered 200 before the kill is on the new primary
 *   afterwards with its value and TTL (a request cut off may have left some
 *   slices applied: it was not acknowledged, and the importer resends it).
 */
import { expect } from 'chai';
import type { Cluster } from 'ioredis';
import { targetNodes } from '../../operator/import/target.js';
import { encodeRows } from '../../node/replication/row-codec.js';
import { LocalCluster } from '../support/local-cluster.js';
import { waitFor } from '../support/wait.js';
import { waitReplicasEqual } from '../support/replica-digests.js';
import { clusterClient } from './migration-support.js';

const ROWS = 1000;
const TTL_MS = 3_600_000;
const TTL_TOLERANCE_MS = 60_000;

interface PutReply {
  status: number;
  json: { applied?: number; slices?: number; error?: { code: string } };
}

const keyOf = (req: number, i: number): string => `slice:${req}:${i}`;
const valueOf = (req: number, i: number): string => `v${req}:${i}:`.padEnd(100, 'x');
const ttlOf = (i: number): number | null => (i % 7 === 0 ? TTL_MS : null);

function body(req: number): Buffer {
  const rows = [];
  for (let i = 0; i < ROWS; i++) rows.push({ key: Buffer.from(keyOf(req, i)), value: Buffer.from(valueOf(req, i)), flags: 0, version: 0, expiresAt: ttlOf(i) });
  return encodeRows(rows);
}

async function put(url: string, req: number): Promise<PutReply> {
  const res = await fetch(`${url}/v1/kv:import`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'x-iris-forwarded': '1' }, body: body(req) });
  return { status: res.status, json: (await res.json()) as PutReply['json'] };
}

/** Every row of request `req`, with its value and TTL, as read through `c`; the first few differences. */
async function missing(c: Cluster, req: number): Promise<string[]> {
  const bad: string[] = [];
  const pipe = c.pipeline();
  for (let i = 0; i < ROWS; i++) pipe.get(keyOf(req, i)).pttl(keyOf(req, i));
  const replies = (await pipe.exec()) ?? [];
  for (let i = 0; i < ROWS && bad.length < 5; i++) {
    const value = replies[2 * i]?.[1];
    const pttl = replies[2 * i + 1]?.[1] as number;
    const ttl = ttlOf(i);
    const ttlOk = ttl === null ? pttl === -1 : pttl > ttl - TTL_TOLERANCE_MS && pttl <= ttl;
    if (value !== valueOf(req, i) || !ttlOk) bad.push(`${keyOf(req, i)}: ${JSON.stringify(value)} pttl ${pttl}`);
  }
  return bad;
}

async function primaryUrl(cluster: LocalCluster): Promise<string> {
  const nodes = await targetNodes({ kind: 'dir', dir: cluster.dir });
  const p = nodes.primaries[0]!;
  return nodes.httpByAddress.get(`${p.host}:${p.port}`)!;
}

describe('bulk import in time slices: one request over several turns, kill -9 of the primary between slices (issue #19)', function () {
  this.timeout(300_000);
  let cluster: LocalCluster;
  let client: Cluster | undefined;

  before(async () => {
    cluster = await LocalCluster.start({ shards: 1, replicas: 1, minSyncReplicas: 1, env: { IRIS_IMPORT_SLICE_MS: '1' } });
  });

  after(async () => {
    client?.disconnect();
    await cluster?.destroy();
  });

  it('answers a request applied over several slices once all are durable; rows, TTLs and the replica agree', async () => {
    client = clusterClient(await cluster.seedPort());
    // Read first: the primary caches every key as absent (readCacheAbsentKeys, on by default), and each slice must invalidate them.
    const pipe = client.pipeline();
    for (let i = 0; i < ROWS; i++) pipe.get(keyOf(0, i));
    expect(((await pipe.exec()) ?? []).filter(([err, v]) => err !== null || v !== null)).to.deep.equal([]);
    const reply = await put(await primaryUrl(cluster), 0);
    expect(reply.status, JSON.stringify(reply.json)).to.equal(200);
    expect(reply.json.applied).to.equal(ROWS);
    expect(reply.json.slices, 'a 1 ms slice cannot hold 1000 rows').to.be.greaterThan(1);
    expect(await missing(client, 0)).to.deep.equal([]);
    await waitReplicasEqual(cluster);
  });

  it('kill -9 of the primary mid-request: every row of every acknowledged request survives the failover', async () => {
    const url = await primaryUrl(cluster);
    const victim = (await cluster.shard('shard-0')).primary!;
    const acknowledged: number[] = [];
    let sliced = 0;
    let killed = false;
    let next = 1;
    // Four requests in flight at a time until the kill, bounded in count.
    const sender = async (): Promise<void> => {
      while (!killed && next <= 200) {
        const req = next++;
        try {
          const r = await put(url, req);
          if (r.status === 200) {
            acknowledged.push(req);
            if ((r.json.slices ?? 0) > 1) sliced++;
          }
        } catch {
          /* the connection died with the node: not acknowledged */
        }
      }
    };
    const senders = [sender(), sender(), sender(), sender()];
    await waitFor('a few acknowledged requests', () => acknowledged.length >= 3 || next > 200, { timeoutMs: 120_000, intervalMs: 5 });
    expect(next, 'requests still being sent at the kill').to.be.at.most(200);
    process.kill(await cluster.pidOf(victim), 'SIGKILL');
    killed = true;
    await Promise.all(senders);
    expect(sliced, 'acknowledged requests were applied over several slices').to.be.greaterThan(0);

    await waitFor('a new primary in shard-0', async () => {
      const s = await cluster.shard('shard-0');
      return s.primary !== victim && s.nodes.find((n) => n.name === s.primary)?.up === true;
    }, { timeoutMs: 120_000, intervalMs: 200 });
    const shard = await cluster.shard('shard-0');
    client?.disconnect();
    // Seeded with the new primary: the victim may still be down.
    client = clusterClient(shard.nodes.find((n) => n.name === shard.primary)!.port!);
    const c = client;
    await waitFor('the new primary to serve reads', async () => (await c.get(keyOf(0, 1)).catch(() => null)) === valueOf(0, 1), { timeoutMs: 60_000, intervalMs: 200 });
    for (const req of [0, ...acknowledged]) expect(await missing(c, req), `request ${req}`).to.deep.equal([]);
    await waitFor(`${victim} back in shard-0`, async () => (await cluster.shard('shard-0')).nodes.find((n) => n.name === victim)?.up === true, { timeoutMs: 120_000, intervalMs: 200 });
    await waitReplicasEqual(cluster);
  });
});
