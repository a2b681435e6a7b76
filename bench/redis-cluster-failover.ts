/**
 * The Redis Cluster side of the failover-vs-redis benchmark: 3 masters + 3
 * replicas of Debian's redis-server, created with `redis-cli --cluster
 * create`, `cluster-node-timeout 2000`, `appendonly yes`, `appendfsync
 * always`. A master killed with -9 is started again on its port and
 * directory once its replica took over, and rejoins as a replica; healthy
 * means every node sees the cluster ok, no node flagged failing, every
 * master with a replica whose link is up, and no AOF rewrite or load under
 * way.
 */
import fs from 'node:fs';
import { Redis } from 'ioredis';
import type { SlotRange } from '../common/cluster-map.js';
import { type RunningRedisCluster, startRedisCluster } from '../test/support/redis-cluster.js';
import { waitFor } from '../test/support/wait.js';
import type { FailoverTarget, Victim } from './failover-target.js';
import { redisInfo } from './processes.js';

export const REDIS_NODE_TIMEOUT_MS = 2000;
const MASTERS = 3;
const HEALTHY_BOUND_MS = 120_000;

/** One line of CLUSTER NODES. */
export interface ClusterNodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  readonly masterId: string | null;
  readonly connected: boolean;
  readonly slots: readonly SlotRange[];
}

/** CLUSTER NODES output, line by line (slot ranges only; migrating/importing entries are skipped). Pure. */
export function parseClusterNodes(text: string): ClusterNodeLine[] {
  const out: ClusterNodeLine[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const addr = /:(\d+)@\d+/.exec(f[1]!);
    if (addr === null) continue;
    const slots: SlotRange[] = [];
    for (const s of f.slice(8)) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(s);
      if (m !== null) slots.push([Number(m[1]), Number(m[2] ?? m[1])]);
    }
    out.push({ id: f[0]!, port: Number(addr[1]), flags: f[2]!.split(','), masterId: f[3] === '-' ? null : f[3]!, connected: f[7] === 'connected', slots });
  }
  return out;
}

/** Why one node's view of the cluster is not healthy (empty: it is), for `nodes` nodes and `masters` masters. Pure. */
export function topologyProblems(view: readonly ClusterNodeLine[], nodes: number, masters: number): string[] {
  const problems: string[] = [];
  if (view.length !== nodes) problems.push(`${view.length} nodes listed, not ${nodes}`);
  for (const n of view) {
    const bad = n.flags.filter((x) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(x));
    if (bad.length > 0) problems.push(`${n.port} flagged ${bad.join(',')}`);
    if (!n.connected) problems.push(`${n.port} disconnected`);
  }
  const owners = view.filter((n) => n.flags.includes('master') && n.slots.length > 0);
  if (owners.length !== masters) problems.push(`${owners.length} masters own slots, not ${masters}`);
  for (const m of owners) {
    if (!view.some((r) => r.masterId === m.id && r.flags.includes('slave'))) problems.push(`master ${m.port} has no replica`);
  }
  return problems;
}

async function clusterCall(port: number, ...args: string[]): Promise<string> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, commandTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => {});
  try {
    await c.connect();
    return String(await c.call('CLUSTER', ...args));
  } finally {
    c.disconnect();
  }
}

export class RedisClusterTarget implements FailoverTarget {
  readonly name = 'Redis Cluster';

  private constructor(private readonly cluster: RunningRedisCluster, readonly shardSlots: readonly (readonly SlotRange[])[]) {}

  static async start(): Promise<RedisClusterTarget> {
    const cluster = await startRedisCluster(MASTERS, 1, [
      '--cluster-node-timeout', String(REDIS_NODE_TIMEOUT_MS), '--appendonly', 'yes', '--appendfsync', 'always',
    ]);
    try {
      const view = parseClusterNodes(await clusterCall(cluster.nodes[0]!.port, 'NODES'));
      const slots = view.filter((n) => n.flags.includes('master') && n.slots.length > 0).map((n) => n.slots).sort((a, b) => a[0]![0] - b[0]![0]);
      const t = new RedisClusterTarget(cluster, slots);
      await t.waitHealthy();
      return t;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  seedPort(): number {
    return this.cluster.nodes[0]!.port;
  }

  private async problems(): Promise<string[]> {
    const problems: string[] = [];
    for (const n of this.cluster.nodes) {
      const info = await clusterCall(n.port, 'INFO').catch((e: Error) => `error ${e.message}`);
      if (!/cluster_state:ok/.test(info)) problems.push(`${n.port}: cluster_state not ok`);
      const view = parseClusterNodes(await clusterCall(n.port, 'NODES').catch(() => ''));
      problems.push(...topologyProblems(view, this.cluster.nodes.length, MASTERS).map((p) => `${n.port} sees ${p}`));
      const me = view.find((x) => x.flags.includes('myself'));
      if (me?.flags.includes('slave') === true) {
        const repl = await redisInfo(n.port, 'replication');
        if (repl.get('master_link_status') !== 'up') problems.push(`${n.port}: link to its master ${repl.get('master_link_status') ?? '?'}`);
      }
      const p = await redisInfo(n.port, 'persistence');
      if (p.get('loading') !== '0' || p.get('aof_rewrite_in_progress') !== '0' || p.get('aof_rewrite_scheduled') !== '0') problems.push(`${n.port}: loading or rewriting its AOF`);
    }
    return problems;
  }

  async waitHealthy(): Promise<void> {
    let last: string[] = [];
    await waitFor('the Redis Cluster to be ok with a replica for every master', async () => {
      last = await this.problems().catch((e: Error) => [e.message]);
      return last.length === 0;
    }, { timeoutMs: HEALTHY_BOUND_MS, intervalMs: 100 }).catch((err: Error) => { throw new Error(`${err.message}: ${last.join('; ')}`); });
  }

  async victim(shard: number): Promise<Victim> {
    const first = this.shardSlots[shard]![0]![0];
    for (const n of this.cluster.nodes) {
      const view = parseClusterNodes(await clusterCall(n.port, 'NODES').catch(() => ''));
      const m = view.find((x) => x.flags.includes('master') && x.slots.some(([a, b]) => a <= first && first <= b));
      if (m === undefined) continue;
      const index = this.cluster.nodes.findIndex((x) => x.port === m.port);
      const pid = this.cluster.nodes[index]?.process.pid;
      if (pid === undefined) throw new Error(`the master of slot ${first} (port ${m.port}) is no process of this cluster`);
      return { name: `127.0.0.1:${m.port}`, pid, index };
    }
    throw new Error(`no node reports the master of slot ${first}`);
  }

  /** Redis has no supervisor here: the killed master is started again (on its port and directory) by the benchmark. */
  async afterKill(v: Victim): Promise<void> {
    await this.cluster.restart(v.index);
  }

  async stop(): Promise<void> {
    const dirs = this.cluster.nodes.map((n) => n.dir);
    await this.cluster.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}
