/**
 * Shared by the migration integration tests: a continuous ioredis Cluster
 * load whose every acknowledged write is recorded (and read back by its
 * writer as it goes), the migration admin client for a node, and the
 * checks run after a migration (every acknowledged write readable from
 * its owner, no moved keys left on the source, replicas equal to their
 * primaries, every node's map giving each slot to exactly one shard).
 */
import { expect } from 'chai';
import { Cluster, Redis } from 'ioredis';
import { slotOwners, type ClusterMap, type SlotRange, rangesToSlots } from '../../common/cluster-map.js';
import { SLOT_COUNT, keySlot } from '../../common/slot.js';
import { MigrationAdminClient } from '../../common/migration-admin-client.js';
import type { MigrationStage, MigrationStatus } from '../../common/migration.js';
import { AckLog } from '../support/ack-log.js';
import type { TestCluster } from '../support/cluster-harness.js';
import { CLUSTER_TOKEN, seqOf, valueFor, type ShardNode } from '../support/repl-shard.js';
import { keysInSlots } from '../support/slot-keys.js';
import { waitFor } from '../support/wait.js';

export function migrationAdmin(n: ShardNode): MigrationAdminClient {
  return new MigrationAdminClient(n.node.url, CLUSTER_TOKEN);
}

export function clusterClient(seedPort: number, opts: { autoPipeline?: boolean; commandTimeoutMs?: number } = {}): Cluster {
  const c = new Cluster([{ host: '127.0.0.1', port: seedPort }], {
    maxRedirections: 64,
    retryDelayOnTryAgain: 50,
    retryDelayOnMoved: 0,
    enableAutoPipelining: opts.autoPipeline ?? false,
    slotsRefreshTimeout: 2000,
    // A command to a paused node fails after commandTimeoutMs instead of waiting for it forever, and
    // the client re-reads the slots every second: a paused primary sends no error that would make it look.
    redisOptions: { enableReadyCheck: false, ...(opts.commandTimeoutMs !== undefined ? { commandTimeout: opts.commandTimeoutMs } : {}) },
    ...(opts.commandTimeoutMs !== undefined ? { slotsRefreshInterval: 1000 } : {}),
  });
  c.on('error', () => {});
  return c;
}

export interface ClusterLoadOptions {
  /** Prefix of every key (loads sharing a cluster keep apart). */
  keyPrefix?: string;
  clients: number;
  /** Concurrent request loops per client (each owns its keys). */
  workers: number;
  keysPerWorker: number;
  /** Bounds: each loop stops after this many operations or at the deadline. */
  maxOps: number;
  deadlineMs: number;
  /** Per-command timeout (failover tests: a paused primary must not hold the loops forever). */
  commandTimeoutMs?: number;
}

/**
 * SET/GET loops over ioredis Cluster clients. Each loop owns its keys and
 * writes increasing sequences into them, so a GET of its own key must show
 * exactly its last acknowledged write. Every error a client surfaces is
 * recorded (ioredis follows MOVED/ASK/TRYAGAIN itself: none should surface).
 */
export class ClusterLoad {
  readonly log = new AckLog();
  readonly errors: string[] = [];
  readonly staleReads: string[] = [];
  ops = 0;
  reads = 0;
  private stopFlag = false;
  private readonly clients: Cluster[] = [];
  private readonly running: Promise<void>[] = [];

  constructor(seedPort: number, private readonly opts: ClusterLoadOptions) {
    const deadline = Date.now() + opts.deadlineMs;
    for (let c = 0; c < opts.clients; c++) {
      const client = clusterClient(seedPort, { commandTimeoutMs: opts.commandTimeoutMs });
      this.clients.push(client);
      for (let w = 0; w < opts.workers; w++) this.running.push(this.loop(client, c * 100 + w, deadline));
    }
  }

  stop(): void {
    this.stopFlag = true;
  }

  async done(): Promise<void> {
    await Promise.all(this.running);
    for (const c of this.clients) c.disconnect();
  }

  private async loop(client: Cluster, id: number, deadline: number): Promise<void> {
    /** Per key of this loop: its last acknowledged and last sent sequence. */
    const acked = new Map<string, number>();
    const sent = new Map<string, number>();
    for (let seq = 1; seq <= this.opts.maxOps && !this.stopFlag && Date.now() < deadline; seq++) {
      const key = `${this.opts.keyPrefix ?? ''}w${id}:k${(seq * 7919) % this.opts.keysPerWorker}`;
      try {
        if (seq % 3 === 0 && acked.size > 0) {
          // Read back the key written last: its value must be the last acknowledged write, or a later one whose reply was lost.
          const probe = `${this.opts.keyPrefix ?? ''}w${id}:k${((seq - 1) * 7919) % this.opts.keysPerWorker}`;
          const want = acked.get(probe);
          const got = await client.get(probe);
          this.reads++;
          const gotSeq = got === null ? null : seqOf(got);
          // Only values of this history count (a key may hold what an earlier load left).
          if (gotSeq !== null && gotSeq <= (sent.get(probe) ?? -1)) this.log.read(probe, gotSeq);
          if (want !== undefined && (gotSeq === null || gotSeq < want || gotSeq > sent.get(probe)!)) {
            this.staleReads.push(`${probe}: read ${gotSeq === null ? 'nothing' : `seq ${gotSeq}`}, its writer's last acknowledged write is seq ${want}`);
          }
        }
        this.log.sent(key, seq);
        sent.set(key, seq);
        const reply = await client.set(key, valueFor(id, seq));
        if (reply !== 'OK') throw new Error(`SET answered ${String(reply)}`);
        this.log.acked(key, seq);
        acked.set(key, seq);
        this.ops++;
      } catch (err) {
        // A write whose reply was lost may or may not have happened: the log allows both.
        if (this.errors.length < 100) this.errors.push(`${key}: ${(err as Error).message.slice(0, 160)}`);
      }
    }
  }
}

/** Writes `n` keys of `valueBytes` bytes whose slots are in `ranges`, auto-pipelined; returns the keys. */
export async function preload(seedPort: number, ranges: readonly SlotRange[], n: number, valueBytes = 100): Promise<string[]> {
  const keys = keysInSlots('pre:', ranges, n);
  const client = clusterClient(seedPort, { autoPipeline: true });
  try {
    for (let i = 0; i < keys.length; i += 2000) {
      const chunk = keys.slice(i, i + 2000);
      const replies = await Promise.all(chunk.map((k) => client.set(k, preValue(k, valueBytes))));
      expect(replies.every((r) => r === 'OK')).to.equal(true);
    }
  } finally {
    client.disconnect();
  }
  return keys;
}

export function preValue(key: string, bytes = 100): string {
  return `${key}|`.padEnd(bytes, '.');
}

/** Polls the migration until it reaches `stage` (fails at once if it stops with an error elsewhere). */
export async function waitForStage(admin: MigrationAdminClient, id: string, stage: MigrationStage, timeoutMs = 120_000, stages?: Set<MigrationStage>): Promise<MigrationStatus> {
  let last: MigrationStatus | null = null;
  await waitFor(`migration ${id} at stage ${stage}`, async () => {
    last = await admin.get(id);
    stages?.add(last.stage);
    if (!last.running && last.stage !== stage && last.error !== null) throw new Error(`migration stopped at ${last.stage}: ${last.error}`);
    return last.stage === stage;
  }, { timeoutMs, intervalMs: 20 });
  return last!;
}

/** GETs the map from `from` and pushes it to every node (what the control plane does after a flip). */
export async function pushMapFrom(cluster: TestCluster, from: ShardNode): Promise<ClusterMap> {
  const map = await from.admin.clusterMap();
  if (map === null) throw new Error(`${from.name} has no map`);
  await cluster.pushMap(map);
  return map;
}

/** Every node's map gives every slot to exactly one shard, and they all agree. */
export async function expectOneOwnerPerSlot(cluster: TestCluster): Promise<ClusterMap> {
  const maps = await Promise.all(cluster.nodes.map((n) => n.admin.clusterMap()));
  const first = maps[0]!;
  for (const m of maps) {
    expect(m).to.not.equal(null);
    expect(m!.epoch).to.equal(first.epoch);
    const owners = slotOwners(m!);
    for (let s = 0; s < SLOT_COUNT; s++) if (owners[s]! < 0) throw new Error(`slot ${s} has no owner at epoch ${m!.epoch}`);
    expect(JSON.stringify(m)).to.equal(JSON.stringify(first));
  }
  return first!;
}

/** Reads every key of `log` through a fresh cluster client and checks it against what was acknowledged. */
export async function expectAckedReadable(seedPort: number, log: AckLog): Promise<void> {
  const client = clusterClient(seedPort, { autoPipeline: true });
  try {
    const keys = [...log.entries()].map(([k]) => k);
    const got = new Map<string, number | null>();
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const settled = await Promise.allSettled(chunk.map((k) => client.get(k)));
      const failed = settled.flatMap((r, j) => (r.status === 'rejected' ? [`${chunk[j]}: ${(r.reason as Error).message}`] : []));
      if (failed.length > 0) throw new Error(`${failed.length} GETs failed, e.g. ${failed.slice(0, 3).join('; ')}`);
      chunk.forEach((k, j) => {
        const v = (settled[j] as PromiseFulfilledResult<string | null>).value;
        got.set(k, v === null ? null : seqOf(v));
      });
    }
    const problems = log.check((k) => got.get(k) ?? null);
    expect(problems.slice(0, 10), `${problems.length} acknowledged writes not readable`).to.deep.equal([]);
  } finally {
    client.disconnect();
  }
}

/** Each preloaded key reads back its value, directly from the primary that owns it in `map` (no redirect). */
export async function expectPreloadOnOwners(cluster: TestCluster, map: ClusterMap, keys: readonly string[], valueBytes = 100): Promise<void> {
  const owners = slotOwners(map);
  const conns = new Map<number, Redis>();
  try {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const byShard = new Map<number, string[]>();
      for (const k of chunk) {
        const sh = owners[keySlot(k)]!;
        byShard.set(sh, [...(byShard.get(sh) ?? []), k]);
      }
      for (const [sh, ks] of byShard) {
        let r = conns.get(sh);
        if (r === undefined) {
          const primary = map.nodes.find((n) => n.name === map.shards[sh]!.primary)!;
          r = new Redis({ host: primary.host, port: primary.port, lazyConnect: true, maxRetriesPerRequest: 0 });
          r.on('error', () => {});
          await r.connect();
          conns.set(sh, r);
        }
        const pipe = r.pipeline();
        for (const k of ks) pipe.get(k);
        const values = (await pipe.exec())!;
        ks.forEach((k, j) => {
          const [err, v] = values[j]!;
          expect(err, `${k} on shard ${sh}`).to.equal(null);
          expect(v, `${k} on shard ${sh}`).to.equal(preValue(k, valueBytes));
        });
      }
    }
  } finally {
    for (const r of conns.values()) r.disconnect();
  }
}

/** The node holds no keys of `ranges` (its per-slot digests list only non-empty slots). */
export async function expectNoKeysIn(n: ShardNode, ranges: readonly SlotRange[]): Promise<void> {
  const moved = new Set(rangesToSlots(ranges));
  const d = await n.admin.digests();
  const left = d.slots.filter((s) => moved.has(s.slot));
  expect(left.map((s) => `${s.slot}:${s.count}`).slice(0, 10), `${n.name} still holds keys of moved slots`).to.deep.equal([]);
}

/** Replicas of every shard have caught up and their per-slot digests equal their primary's. */
export async function expectReplicasEqual(cluster: TestCluster): Promise<void> {
  await cluster.waitForConvergence();
  for (const shard of cluster.shards) {
    await shard.waitForEqualDigests();
    const diff = await shard.primary.admin.digestDiff();
    for (const r of diff.replicas) {
      expect(r.error, `${r.name}`).to.equal(null);
      expect(r.differing, `${r.name} differs from ${diff.primary}`).to.deep.equal([]);
    }
  }
}
