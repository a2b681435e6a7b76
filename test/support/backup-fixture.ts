/**
 * What the backup tests share: a dataset written through a stock cluster
 * client (plain keys, keys with a long TTL, keys whose TTL runs out soon
 * after the backup), its exact state (value and absolute expiry in ms) read
 * back at the backup point, the comparison of a restored cluster against
 * it, and irisctl run as a user runs it.
 */
import { Cluster } from 'ioredis';
import { expect } from 'chai';
import { keySlot } from '../../common/slot.js';
import { IRISCTL, type LocalCluster } from './local-cluster.js';
import { run, type RunResult } from './run.js';
import { waitFor } from './wait.js';

export interface KeyState {
  readonly value: string;
  /** PEXPIRETIME: -1 without a TTL. */
  readonly expireAt: number;
}

export async function clusterClient(c: LocalCluster): Promise<Cluster> {
  const client = new Cluster([{ host: '127.0.0.1', port: await c.seedPort() }], { enableAutoPipelining: true, maxRedirections: 64, retryDelayOnTryAgain: 50 });
  client.on('error', () => {});
  return client;
}

/** `n` keys: every 5th with a TTL of an hour, every 7th with `shortTtlMs` (expired by the time a test restores). */
export async function writeDataset(client: Cluster, n: number, shortTtlMs: number, tag = 'v1'): Promise<string[]> {
  const keys: string[] = [];
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    const key = `bk:${i}`;
    keys.push(key);
    const value = `${tag}-${i}-${'x'.repeat(i % 50)}`;
    if (i % 7 === 0) writes.push(client.set(key, value, 'PX', shortTtlMs));
    else if (i % 5 === 0) writes.push(client.set(key, value, 'PX', 3_600_000));
    else writes.push(client.set(key, value));
    if (writes.length >= 1000) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  return keys;
}

export async function readState(client: Cluster, keys: readonly string[]): Promise<Map<string, KeyState>> {
  const out = new Map<string, KeyState>();
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const got = await Promise.all(batch.map(async (k) => [k, await client.get(k), await client.pexpiretime(k)] as const));
    for (const [k, v, t] of got) if (v !== null) out.set(k, { value: v, expireAt: Number(t) });
  }
  return out;
}

/**
 * The restored cluster holds exactly `expected` minus the keys whose expiry
 * is before `now`: each value and absolute expiry equal, nothing else (the
 * primaries' DBSIZE adds up, so every key sits in the shard owning its slot).
 */
export async function expectRestored(c: LocalCluster, expected: ReadonlyMap<string, KeyState>, now: number): Promise<{ live: number; expired: number }> {
  const client = await clusterClient(c);
  try {
    const live = [...expected].filter(([, s]) => s.expireAt === -1 || s.expireAt > now + 2000);
    const expired = [...expected].filter(([, s]) => s.expireAt !== -1 && s.expireAt <= now);
    const got = await readState(client, live.map(([k]) => k));
    const wrong: string[] = [];
    for (const [k, s] of live) {
      const g = got.get(k);
      if (g === undefined || g.value !== s.value || g.expireAt !== s.expireAt) wrong.push(`${k}: want ${JSON.stringify(s)} got ${JSON.stringify(g ?? null)}`);
    }
    expect(wrong.slice(0, 5), `${wrong.length} keys differ`).to.deep.equal([]);
    const resurrected = await Promise.all(expired.map(([k]) => client.exists(k)));
    expect(resurrected.filter((x) => x === 1).length, 'expired keys came back').to.equal(0);
    // Every key in the shard that owns its slot: the keys found through routing add up to the primaries' DBSIZE.
    const st = await c.status();
    let total = 0;
    for (const s of st.shards) {
      const p = s.nodes.find((n) => n.name === s.primary)!;
      const node = client.nodes('master').find((n) => n.options.port === p.port);
      if (node === undefined) throw new Error(`no client connection to ${s.primary}`);
      total += Number(await node.dbsize());
    }
    const between = expected.size - live.length - expired.length;
    expect(total, 'keys in the primaries').to.be.within(live.length, live.length + between);
    return { live: live.length, expired: expired.length };
  } finally {
    client.disconnect();
  }
}

export function irisctl(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<RunResult> {
  return run(process.execPath, [IRISCTL, ...args], { env: { ...process.env, ...env }, timeoutMs });
}

/** Every replica streams from its primary with nothing left to apply (so a backup reads from the replicas). */
export async function waitStreaming(c: LocalCluster): Promise<void> {
  await waitFor('every replica to stream, caught up', async () => {
    const st = await c.status();
    return st.shards.every((s) => s.nodes.every((n) => n.up && (n.name === s.primary || (n.link === 'streaming' && n.lagOps === 0)))) ? true : null;
  }, { timeoutMs: 60_000, intervalMs: 100 });
}

/** `irisctl backup create --wait`; the backup id. */
export async function createBackup(c: LocalCluster, destination: string, env: NodeJS.ProcessEnv = {}, extra: readonly string[] = []): Promise<string> {
  const r = await irisctl(['backup', 'create', '--dir', c.dir, '--destination', destination, '--wait', ...extra], env);
  expect(r.code, `backup create: ${r.stderr}`).to.equal(0);
  return r.stdout.trim();
}

/** Keys of the dataset spread over every slot range, for a sanity check of the routing. */
export function slotsOf(keys: readonly string[]): Set<number> {
  return new Set(keys.map((k) => keySlot(k)));
}
