/**
 * A cluster of real irisdb-node processes on loopback: N shards, each a
 * primary and R replicas (test/support/repl-shard.ts Shard, roles set through
 * the admin API), the 16384 slots split evenly between the shards, and the
 * cluster map pushed to every node — what the control plane does, every
 * node started --cluster-enabled yes as the control plane starts them.
 * Also an in-process fixture (a ServerContext with a cluster state) for the
 * unit tests of routing and of the CLUSTER commands, and the cached build of
 * the go-redis check program (tools/go-cluster-check).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evenSlotRanges, slotOwners, type ClusterMap } from '../../common/cluster-map.js';
import { keySlot } from '../../common/slot.js';
import { Shard, type ShardNode } from './repl-shard.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import { DurableClusterState } from '../../node/cluster/cluster-state.js';
import type { CommandDispatcher } from '../../node/commands/dispatch.js';
import { createServerContext } from '../../node/runtime/server-context.js';
import { createCommandTable } from '../../node/commands/table.js';
import type { ClientState, CommandResult, ReplicationView, ServerContext } from '../../node/commands/types.js';
import { SETTINGS, type NodeConfig } from '../../node/config/schema.js';
import { run } from './run.js';
import { waitFor } from './wait.js';

export interface ClusterOptions {
  shards: number;
  /** Replicas per shard. */
  replicas: number;
  /** Default 1 when there are replicas (a write is acknowledged once a replica has it), else 0. */
  minSyncReplicas?: number;
  /** Extra flags for every node. */
  args?: string[];
}

export class TestCluster {
  private constructor(readonly shards: Shard[], public map: ClusterMap) {}

  /** Starts every shard (in parallel), waits for their replicas, pushes the map at epoch 1. */
  static async start(opts: ClusterOptions): Promise<TestCluster> {
    const minSyncReplicas = opts.minSyncReplicas ?? (opts.replicas > 0 ? 1 : 0);
    const started = await Promise.allSettled(Array.from({ length: opts.shards }, (_, i) =>
      Shard.start({ replicas: opts.replicas, minSyncReplicas, namePrefix: `s${i}n`, args: opts.args, clusterEnabled: true })));
    const shards = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(shards.map((s) => s.stop()));
      throw failed.reason;
    }
    const cluster = new TestCluster(shards, TestCluster.evenMap(shards, 1));
    try {
      await cluster.pushMap(cluster.map);
      // Members are ready once they have the map, as a Service would see them.
      await waitFor('every node ready with the map', async () => {
        const st = await Promise.all(cluster.nodes.map((n) => fetch(`${n.node.url}/readyz`).then((r) => r.status, () => 0)));
        return st.every((s) => s === 200);
      });
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** The map of `shards` with the slots split evenly, in shard order, at `epoch`. */
  static evenMap(shards: readonly Shard[], epoch: number): ClusterMap {
    const ranges = evenSlotRanges(shards.length);
    return {
      epoch,
      nodes: shards.flatMap((s) => s.nodes.map((n) => ({ name: n.name, host: '127.0.0.1', port: n.node.port, busPort: n.node.busPort }))),
      shards: shards.map((s, i) => ({
        id: `shard-${i}`, slots: [ranges[i]!], primary: s.primary.name, replicas: s.replicas.map((r) => r.name),
      })),
    };
  }

  get nodes(): ShardNode[] {
    return this.shards.flatMap((s) => s.nodes);
  }

  get primaries(): ShardNode[] {
    return this.shards.map((s) => s.primary);
  }

  /** Pushes `map` to every node (primaries first) and remembers it as the cluster's map. */
  async pushMap(map: ClusterMap): Promise<void> {
    for (const n of [...this.primaries, ...this.shards.flatMap((s) => s.replicas)]) await n.admin.setClusterMap(map);
    this.map = map;
  }

  /** The shard whose slots include `key`'s slot. */
  shardOf(key: string): Shard {
    const i = slotOwners(this.map)[keySlot(key)]!;
    if (i < 0) throw new Error(`no shard owns the slot of ${key}`);
    return this.shards[i]!;
  }

  /** A primary of another shard than the one owning `key` (it answers MOVED). */
  primaryNotOwning(key: string): ShardNode {
    const owner = this.shardOf(key);
    return this.shards.find((s) => s !== owner)!.primary;
  }

  /** Waits until every replica acknowledged its primary's last write, in every shard. */
  async waitForConvergence(timeoutMs = 60_000): Promise<void> {
    await Promise.all(this.shards.map((s) => s.waitForConvergence(timeoutMs)));
  }

  /** Waits until every node reports the map at `epoch`. */
  async waitForEpoch(epoch: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(`every node at cluster map epoch ${epoch}`, async () => {
      const maps = await Promise.all(this.nodes.map((n) => n.admin.clusterMap()));
      return maps.every((m) => m !== null && m.epoch === epoch);
    }, { timeoutMs });
  }

  async stop(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.stop()));
  }
}

// ---- in-process fixture (unit tests) -------------------------------------------

/**
 * A ServerContext on a real engine with a DurableClusterState and a settable
 * replication role, for unit tests of routing through the dispatcher and of
 * the CLUSTER commands. `run` executes one command line and returns the reply
 * (or the Promise of a reply, for a write held by a fence).
 */
export interface ClusterServerFixture {
  readonly engine: SqliteEngine;
  readonly state: DurableClusterState;
  readonly server: ServerContext;
  readonly dispatcher: CommandDispatcher;
  /** Replace to play a replica: the dispatcher reads it on every command. */
  role: ReturnType<ReplicationView['role']>;
  client(): ClientState;
  run(client: ClientState, ...args: string[]): CommandResult;
}

export function clusterServerFixture(
  engine: SqliteEngine, nodeName: string, opts: { fenceWaitMs?: number; announceHost?: string; respPort?: number; clusterEnabled?: boolean } = {},
): ClusterServerFixture {
  const clusterEnabled = opts.clusterEnabled ?? false;
  const config = { ...Object.fromEntries(SETTINGS.map((s) => [s.key, s.default])), nodeName, busPort: 16379, clusterEnabled } as unknown as NodeConfig;
  const table = createCommandTable();
  const state = new DurableClusterState({ meta: engine.meta, commits: engine.commits, nodeName, clusterEnabled });
  const { server, dispatcher } = createServerContext({
    keyspace: engine.keyspace, commits: engine.commits, config, commands: table,
    clients: () => ({ list: () => [], get: () => undefined, count: 0 }), nodeId: 'a'.repeat(40), runId: 'b'.repeat(40),
    startedAt: 0, respPort: () => opts.respPort ?? 6379, announceHost: opts.announceHost ?? '127.0.0.1',
    engineStats: () => engine.stats(), infoSections: () => [], now: () => Date.now(), fenceWaitMs: opts.fenceWaitMs,
    cluster: state,
    replication: {
      role: () => fx.role,
      infoFields: () => [['role', fx.role.role === 'primary' ? 'master' : 'slave']],
      waitForReplicas: () => Promise.resolve(0),
    },
  });
  let nextId = 1;
  const fx: ClusterServerFixture = {
    engine, state, dispatcher, server,
    role: { role: 'primary', primary: null, loading: false },
    client: () => ({
      id: nextId++, name: '', protocol: 2, addr: 'a:1', laddr: 'b:2', createdAt: 0, lastInteractionAt: 0, lastCommand: '',
      authenticated: true, readonly_: false, asking: false, multi: null, watched: new Map(), watchDirty: false,
      closeAfterReply: false, outputBytes: () => 0, queryBufferBytes: () => 0, kill: () => undefined,
    }),
    run: (c, ...args) => server.execute(c, args.map((a) => Buffer.from(a))),
  };
  return fx;
}

// ---- go-redis ------------------------------------------------------------------

/** The repository root, from dist/test/support. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * tools/go-cluster-check, built once by scripts/go-cluster-check.sh into a
 * cache outside the repository (setup.sh --test builds it ahead; a run that
 * finds the build under way waits for it). Throws (the test fails) if Go is
 * not installed: go-redis compatibility is not optional.
 */
export async function goClusterCheckBinary(): Promise<string> {
  const script = path.join(REPO_ROOT, 'scripts/go-cluster-check.sh');
  const built = await run('bash', [script], { stderr: 'inherit', timeoutMs: 0 });
  if (built.code !== 0) throw new Error(`${script} exited with ${built.code} (the go-redis check needs the Go toolchain)`);
  const bin = path.join(built.stdout.trim().split('\n').pop() ?? '', 'go-cluster-check');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run scripts/go-cluster-check.sh`);
  return bin;
}
