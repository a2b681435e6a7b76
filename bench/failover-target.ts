/**
 * A system under test of the failover-vs-redis benchmark, and the IrisDB
 * one: the local cluster a user starts (`irisctl local up`, 3 shards × 1
 * replica by default, default settings: minSyncReplicas 1, heartbeatMs 500,
 * failureThreshold 3, dataDurability required, every node --fsync always).
 * Its platform restarts a killed node by itself; healthy is Ready, idle and
 * every replica caught up.
 */
import type { SlotRange } from '../common/cluster-map.js';
import { LocalCluster } from '../test/support/local-cluster.js';
import { waitCaughtUp } from './control-plane.js';

export interface Victim {
  /** How the system names the node (for the log). */
  readonly name: string;
  readonly pid: number;
  /** The target's own index of the node (used to restart it). */
  readonly index: number;
}

export interface FailoverTarget {
  readonly name: string;
  /** Per shard, its slots (fixed for the whole benchmark: failovers move no slot). */
  readonly shardSlots: readonly (readonly SlotRange[])[];
  seedPort(): number;
  /** Waits (bounded) until every shard has a primary and a caught-up replica and nothing is under way. */
  waitHealthy(): Promise<void>;
  /** The current primary of shard `shard`. */
  victim(shard: number): Promise<Victim>;
  /** After a kill -9 of `v`, once the shard has recovered or given up: bring the node back if nothing else does. */
  afterKill(v: Victim): Promise<void>;
  stop(): Promise<void>;
}

const HEALTHY_BOUND_MS = 120_000;

export interface IrisTargetOptions {
  readonly replicas: number;
  /** undefined: the cluster's default (required). */
  readonly dataDurability?: 'required' | 'preferred';
}

export class IrisTarget implements FailoverTarget {
  readonly name = 'IrisDB';

  private constructor(private readonly cluster: LocalCluster, readonly shardSlots: readonly (readonly SlotRange[])[], private readonly seed: number) {}

  static async start(opts: IrisTargetOptions): Promise<IrisTarget> {
    const cluster = await LocalCluster.start({ replicas: opts.replicas, ...(opts.dataDurability === undefined ? {} : { dataDurability: opts.dataDurability }) });
    try {
      const st = await waitCaughtUp(cluster, HEALTHY_BOUND_MS);
      return new IrisTarget(cluster, st.shards.map((s) => s.slots), await cluster.seedPort());
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
  }

  seedPort(): number {
    return this.seed;
  }

  async waitHealthy(): Promise<void> {
    await waitCaughtUp(this.cluster, HEALTHY_BOUND_MS);
  }

  async victim(shard: number): Promise<Victim> {
    const st = await this.cluster.status();
    const name = st.shards[shard]!.primary;
    return { name, pid: await this.cluster.pidOf(name), index: shard };
  }

  /** The local platform restarts a killed node itself (as Kubernetes would): nothing to do. */
  async afterKill(): Promise<void> {}

  async stop(): Promise<void> {
    await this.cluster.destroy();
  }
}
