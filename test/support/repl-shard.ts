/**
 * A shard of real irisdb-node processes on loopback — one primary and N
 * replicas — with roles set through the admin API, as the control plane
 * will. Helpers wait (with deadlines) for replicas to catch up and compare
 * digests, read metrics, open READONLY replica connections and run a
 * bounded pipelined write load whose every reply is recorded.
 */
import fs from 'node:fs';
import { Redis } from 'ioredis';
import { AdminClient } from '../../common/admin-client.js';
import type { ReplicationStatus } from '../../common/replication.js';
import { AckLog } from './ack-log.js';
import { startNode, type NodeOptions, type RunningNode } from './node-process.js';
import { waitFor } from './wait.js';

export const CLUSTER_TOKEN = 'test-cluster-token';

export interface ShardNode {
  readonly name: string;
  node: RunningNode;
  admin: AdminClient;
}

export interface ShardOptions {
  replicas: number;
  minSyncReplicas: number;
  ackTimeoutMs?: number;
  /** Extra flags for every node. */
  args?: string[];
  /** Extra flags for the first primary only (e.g. a small --repl-backlog-ops). */
  primaryArgs?: string[];
  namePrefix?: string;
  /** Start every node with --cluster-enabled yes (a cluster member: no keys until a map is pushed). */
  clusterEnabled?: boolean;
  /** Another build's node/main.js for every node (benchmarks comparing builds); default: this build's. */
  main?: string;
}

export type NamedNodeOptions = NodeOptions & { minSyncReplicas: number; ackTimeoutMs?: number };

function namedNodeArgs(name: string, opts: NamedNodeOptions): string[] {
  return [
    '--node-name', name, '--admin-token', CLUSTER_TOKEN,
    // The durable default, stated so a test never depends on the default changing.
    ...((opts.args ?? []).includes('--fsync') ? [] : ['--fsync', 'always']),
    '--min-sync-replicas', String(opts.minSyncReplicas), '--ack-timeout-ms', String(opts.ackTimeoutMs ?? 2000),
    ...(opts.args ?? []),
  ];
}

export async function startNamedNode(name: string, opts: NamedNodeOptions): Promise<ShardNode> {
  const node = await startNode({ ...opts, args: namedNodeArgs(name, opts) });
  return { name, node, admin: new AdminClient(node.url, CLUSTER_TOKEN) };
}

export class Shard {
  private constructor(readonly nodes: ShardNode[], public epoch: number, public primaryIndex: number) {}

  /** Starts 1 + replicas nodes; node 0 is primary at epoch 1, the others replicate from it. */
  static async start(opts: ShardOptions): Promise<Shard> {
    const prefix = opts.namePrefix ?? 'n';
    const nodes: ShardNode[] = [];
    try {
      for (let i = 0; i <= opts.replicas; i++) {
        const member = opts.clusterEnabled === true;
        const args = [...(member ? ['--cluster-enabled', 'yes'] : []), ...(opts.args ?? []), ...(i === 0 ? opts.primaryArgs ?? [] : [])];
        nodes.push(await startNamedNode(`${prefix}${i}`, { minSyncReplicas: opts.minSyncReplicas, ackTimeoutMs: opts.ackTimeoutMs, args, awaitReadyz: !member, main: opts.main }));
      }
    } catch (err) {
      await Promise.all(nodes.map((n) => n.node.kill9()));
      throw err;
    }
    const shard = new Shard(nodes, 1, 0);
    try {
      await shard.applyRoles();
      await shard.waitForReplicasOnline();
    } catch (err) {
      // The caller never gets the shard to stop: do not leave its processes behind.
      await shard.stop();
      throw err;
    }
    return shard;
  }

  get primary(): ShardNode {
    return this.nodes[this.primaryIndex]!;
  }

  get replicas(): ShardNode[] {
    return this.nodes.filter((_, i) => i !== this.primaryIndex);
  }

  byName(name: string): ShardNode {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node ${name} in this shard`);
    return n;
  }

  /** Where `n`'s cluster bus listens, as a role request names a primary. */
  static busAddress(n: ShardNode): { name: string; host: string; busPort: number } {
    return { name: n.name, host: '127.0.0.1', busPort: n.node.busPort };
  }

  /** Tells every node its role at the current epoch (primary first). */
  async applyRoles(): Promise<void> {
    const p = this.primary;
    await p.admin.setRole({ role: 'primary', epoch: this.epoch, replicas: this.replicas.map((r) => r.name) });
    for (const r of this.replicas) {
      await r.admin.setRole({ role: 'replica', epoch: this.epoch, primary: Shard.busAddress(p) });
    }
  }

  async waitForReplicasOnline(timeoutMs = 30_000): Promise<ReplicationStatus> {
    let last: ReplicationStatus | null = null;
    await waitFor('replicas online', async () => {
      last = await this.primary.admin.replication();
      const online = last.replicas.filter((r) => r.connected && r.state === 'online');
      return online.length === this.replicas.length;
    }, { timeoutMs });
    return last!;
  }

  /** Waits until every replica has acknowledged the primary's last sequence. */
  async waitForConvergence(timeoutMs = 60_000): Promise<number> {
    let seq = 0;
    let last: ReplicationStatus | null = null;
    try {
      await waitFor('replicas to acknowledge the primary\'s last write', async () => {
        const st = await this.primary.admin.replication();
        last = st;
        seq = st.lastSeq;
        return st.replicas.length === this.replicas.length && st.replicas.every((r) => r.connected && r.state === 'online' && r.ackedSeq >= st.lastSeq);
      }, { timeoutMs });
    } catch (err) {
      throw new Error(`${(err as Error).message}; last primary status: ${JSON.stringify(last)}`);
    }
    return seq;
  }

  /** Digest of each node, after convergence, in node order. */
  async digests(): Promise<Array<{ name: string; seq: number; hash: string }>> {
    const out = [];
    for (const n of this.nodes) {
      const d = await n.admin.digests();
      out.push({ name: n.name, seq: d.seq, hash: d.slots.map((s) => `${s.slot}:${s.count}:${s.hash}`).join(',') });
    }
    return out;
  }

  /**
   * Waits until every node reports the same sequence and digest (replicas
   * apply after acknowledging nothing more, so this settles right after
   * convergence); returns them.
   */
  async waitForEqualDigests(timeoutMs = 30_000): Promise<Array<{ name: string; seq: number; hash: string }>> {
    let last: Array<{ name: string; seq: number; hash: string }> = [];
    try {
      await waitFor('equal digests on every node', async () => {
        last = await this.digests();
        return last.every((d) => d.seq === last[0]!.seq && d.hash === last[0]!.hash);
      }, { timeoutMs, intervalMs: 200 });
    } catch (err) {
      const summary = last.map((d) => `${d.name}@${d.seq}: ${d.hash.length} chars, ${d.hash.split(',').length} slots`).join('; ');
      throw new Error(`${(err as Error).message} (${summary})`);
    }
    return last;
  }

  /** Kills every node and removes their data directories. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.node.kill9().catch(() => undefined)));
    await Promise.all(this.nodes.map((n) => fs.promises.rm(n.node.dataDir, { recursive: true, force: true }).catch(() => undefined)));
  }
}

// ---- clients ------------------------------------------------------------------

/** An ioredis client that never retries or queues: a reply counts only if this server sent it. */
export async function connectClient(port: number): Promise<Redis> {
  const redis = new Redis({
    port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true,
    enableAutoPipelining: false,
    // No INFO on connect: while writes wait for acknowledgements every reply is held (no dirty reads),
    // INFO's too, and a NOREPLICAS there would fail the connection instead of the test's own commands.
    enableReadyCheck: false,
  });
  redis.on('error', () => {});
  await redis.connect();
  return redis;
}

/** A client that sent READONLY, so it may read from a replica. */
export async function connectReadonly(port: number): Promise<Redis> {
  const redis = await connectClient(port);
  await redis.readonly();
  return redis;
}

/** GETs `keys` in one pipeline; each value's sequence (see valueFor) or null if absent. Throws on an error reply. */
export async function readSeqs(redis: Redis, keys: readonly string[]): Promise<Array<number | null>> {
  if (keys.length === 0) return [];
  const pipe = redis.pipeline();
  for (const k of keys) pipe.get(k);
  const res = (await pipe.exec())!;
  return res.map(([err, v], i) => {
    if (err !== null) throw new Error(`GET ${keys[i]}: ${err.message}`);
    return v === null ? null : seqOf(v as string);
  });
}

/** Values carry their writer and sequence, so a read can be traced to the write it came from. */
export function valueFor(client: number, seq: number): string {
  return `${client}:${seq}:${'x'.repeat(seq % 40)}`;
}

export function seqOf(value: string): number {
  return Number(value.split(':')[1]);
}

/** Every key of the log, read on `redis` in chunks: key → sequence. */
export async function readAll(redis: Redis, log: AckLog): Promise<Map<string, number>> {
  const keys = [...log.entries()].map(([k]) => k);
  const out = new Map<string, number>();
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const seqs = await readSeqs(redis, chunk);
    chunk.forEach((k, j) => {
      const s = seqs[j];
      if (s !== null && s !== undefined) out.set(k, s);
    });
  }
  return out;
}

// ---- load ---------------------------------------------------------------------

export interface LoadOptions {
  clients: number;
  keysPerClient: number;
  pipeline: number;
  /** Bounds: each client stops after this many pipelines or at the deadline, whichever comes first. */
  maxPipelines: number;
  deadlineMs: number;
  /**
   * Runs after each pipeline with its acknowledged (key, seq) pairs, before
   * the next one is sent (checks "right after the acknowledgement").
   */
  afterAck?: (client: number, acked: ReadonlyArray<[string, number]>) => Promise<void>;
  /** Stop a client at its first error reply instead of carrying on. */
  stopOnError?: boolean;
  /** Keys are `${keyPrefix}${client}:k${n}` (default 'c'): two loads with different prefixes never share a key. */
  keyPrefix?: string;
}

export interface LoadResult {
  pipelines: number;
  errors: number;
  /** Distinct error texts seen (first 80 characters), for diagnostics and assertions. */
  errorTexts: Set<string>;
}

/**
 * A pipelined SET load from several clients against `port`, recorded in
 * `log` (sent before sending, acked on an OK reply). Runs until `stop.now`,
 * a bound, or (stopOnError) the first error. A dropped connection ends that
 * client: its in-flight writes are unknown, which the log allows.
 */
export class WriteLoad {
  readonly log = new AckLog();
  readonly result: LoadResult = { pipelines: 0, errors: 0, errorTexts: new Set() };
  private readonly stopFlag = { now: false };
  private readonly running: Promise<void>[];

  constructor(port: number, private readonly opts: LoadOptions) {
    const deadline = Date.now() + opts.deadlineMs;
    this.running = Array.from({ length: opts.clients }, (_, id) => this.client(port, id, deadline));
  }

  stop(): void {
    this.stopFlag.now = true;
  }

  /** Resolves when every client has stopped; rethrows a failing afterAck check. */
  async done(): Promise<LoadResult> {
    await Promise.all(this.running);
    return this.result;
  }

  private async client(port: number, id: number, deadline: number): Promise<void> {
    const { keysPerClient, pipeline, maxPipelines } = this.opts;
    const prefix = this.opts.keyPrefix ?? 'c';
    const redis = await connectClient(port);
    let seq = 0;
    try {
      for (let p = 0; p < maxPipelines && !this.stopFlag.now && Date.now() < deadline; p++) {
        const batch: Array<[string, number]> = [];
        const pipe = redis.pipeline();
        for (let i = 0; i < pipeline; i++) {
          seq++;
          const key = `${prefix}${id}:k${(seq * 7919) % keysPerClient}`;
          this.log.sent(key, seq);
          batch.push([key, seq]);
          pipe.set(key, valueFor(id, seq));
        }
        let results;
        try {
          results = await pipe.exec();
        } catch {
          return; // connection gone
        }
        if (results === null) return;
        this.result.pipelines++;
        const acked: Array<[string, number]> = [];
        let failed = false;
        results.forEach(([err, reply], i) => {
          if (err === null && reply === 'OK') {
            this.log.acked(batch[i]![0], batch[i]![1]);
            acked.push(batch[i]!);
          } else {
            failed = true;
            this.result.errors++;
            this.result.errorTexts.add(String(err?.message ?? reply).slice(0, 80));
          }
        });
        if (redis.status !== 'ready') return;
        if (this.opts.afterAck !== undefined && acked.length > 0) await this.opts.afterAck(id, acked);
        if (failed && this.opts.stopOnError === true) return;
      }
    } finally {
      redis.disconnect();
    }
  }
}

// ---- metrics --------------------------------------------------------------------

/** One sample of a Prometheus metric from GET /metrics (0 when absent), e.g. metric(n, 'x_total', {type: 'full'}). */
export async function metric(node: RunningNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await metricsText(node), name, labels);
}

/** One scrape of GET /metrics (a scrape resets the per-scrape gauges: read several values from one text). */
export async function metricsText(node: RunningNode): Promise<string> {
  const res = await fetch(`${node.url}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return res.text();
}

/** The first sample of `name` with (at least) `labels` in a /metrics text, 0 if there is none. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(pair[1]!, pair[2]!);
    if (want.every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return 0;
}

/** INFO <section> parsed into a field map. */
export async function info(redis: Redis, section: string): Promise<Map<string, string>> {
  const text = await redis.info(section);
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}
