/**
 * The node's ClusterState: the cluster map kept in the engine's meta table
 * (durable before install() returns, loaded before clients are served), what
 * it means for this node (owners, its shard, each shard's primary address),
 * and the per-slot write fences a migration sets around an ownership flip.
 */
import {
  countSlots, nodeByName, parseClusterMap, sameMapContent, slotOwners, shardOfNode,
  type ClusterMap, type SlotRange,
} from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import type { MetaStore } from '../engine/open.js';
import type { CommitScheduler } from '../engine/types.js';
import type { Logger } from '../../common/logger.js';
import { ClusterMapConflictError, type ClusterState, type Endpoint } from './types.js';

/** Meta row holding the installed map as JSON. */
export const CLUSTER_MAP_META_KEY = 'cluster_map';

/** The stored map cannot be read back: the node refuses to start rather than guess its slots. */
export class ClusterStateLoadError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'ClusterStateLoadError';
  }
}

export interface ClusterStateDeps {
  readonly meta: MetaStore;
  readonly commits: CommitScheduler;
  readonly nodeName: string;
  /** --cluster-enabled: a member refuses keys until it has a map (default false: standalone until then). */
  readonly clusterEnabled?: boolean;
  readonly logger?: Logger;
}

export class DurableClusterState implements ClusterState {
  readonly nodeName: string;
  readonly clusterEnabled: boolean;
  private current: ClusterMap | null = null;
  private ownersBySlot: Int32Array | null = null;
  private shard = -1;
  private mapRole: 'primary' | 'replica' | null = null;
  private primaryAddrs: Endpoint[] = [];
  private owned = 0;
  private readonly fenced = new Uint8Array(SLOT_COUNT);
  private fencedCount = 0;
  private readonly waiters = new Map<number, Array<() => void>>();
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly deps: ClusterStateDeps) {
    this.nodeName = deps.nodeName;
    this.clusterEnabled = deps.clusterEnabled ?? false;
    const stored = deps.meta.get(CLUSTER_MAP_META_KEY);
    if (stored === undefined || stored === null) return;
    if (typeof stored !== 'string') throw new ClusterStateLoadError(`meta row ${CLUSTER_MAP_META_KEY} is not JSON text`);
    let map: ClusterMap;
    try {
      map = parseClusterMap(JSON.parse(stored));
    } catch (err) {
      throw new ClusterStateLoadError(`the stored cluster map is unreadable: ${(err as Error).message}`, err);
    }
    this.apply(map);
  }

  get map(): ClusterMap | null { return this.current; }
  get owners(): Int32Array | null { return this.ownersBySlot; }
  get myShard(): number { return this.shard; }
  get myMapRole(): 'primary' | 'replica' | null { return this.mapRole; }
  get primaries(): readonly Endpoint[] { return this.primaryAddrs; }
  /** Slots owned by this node's shard (0 without a map). */
  get slotsOwned(): number { return this.owned; }

  install(candidate: ClusterMap): boolean {
    // Validated here too: a migration builds maps in code, and a bad one must not half-apply.
    const map = parseClusterMap(candidate);
    const cur = this.current;
    if (cur !== null) {
      if (map.epoch < cur.epoch) {
        throw new ClusterMapConflictError(`cluster map epoch ${map.epoch} is older than the installed epoch ${cur.epoch}`);
      }
      if (map.epoch === cur.epoch) {
        if (sameMapContent(map, cur)) return false;
        throw new ClusterMapConflictError(`a different cluster map is already installed at epoch ${cur.epoch}; raise the epoch to change it`);
      }
    }
    // Durable first: the turn's pending writes commit, then the map alone, synced.
    const commits = this.deps.commits;
    commits.flushNow();
    this.deps.meta.set(CLUSTER_MAP_META_KEY, JSON.stringify(map));
    commits.flushNow();
    this.apply(map);
    this.deps.logger?.info('cluster map installed', {
      epoch: map.epoch, previousEpoch: cur?.epoch ?? null, shard: this.shard === -1 ? null : map.shards[this.shard]!.id,
      role: this.mapRole, slotsOwned: this.owned,
    });
    this.changed();
    return true;
  }

  fence(slots: readonly SlotRange[]): void {
    for (const [a, b] of slots) {
      for (let s = a; s <= b; s++) {
        if (this.fenced[s] === 0) {
          this.fenced[s] = 1;
          this.fencedCount++;
        }
      }
    }
    this.changed();
  }

  lift(slots: readonly SlotRange[]): void {
    const release: Array<() => void> = [];
    for (const [a, b] of slots) {
      for (let s = a; s <= b; s++) {
        if (this.fenced[s] === 0) continue;
        this.fenced[s] = 0;
        this.fencedCount--;
        const w = this.waiters.get(s);
        if (w !== undefined) {
          this.waiters.delete(s);
          release.push(...w);
        }
      }
    }
    this.changed();
    for (const r of release) r();
  }

  isFenced(slot: number): boolean {
    // Fast path for the common case of no migration at all.
    return this.fencedCount > 0 && this.fenced[slot] === 1;
  }

  whenLifted(slot: number): Promise<void> {
    if (!this.isFenced(slot)) return Promise.resolve();
    return new Promise((resolve) => {
      const w = this.waiters.get(slot);
      if (w === undefined) this.waiters.set(slot, [resolve]);
      else w.push(resolve);
    });
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private apply(map: ClusterMap): void {
    const d = deriveRouting(map, this.nodeName);
    this.current = map;
    this.ownersBySlot = d.owners;
    this.shard = d.myShard;
    this.mapRole = d.myMapRole;
    this.owned = d.slotsOwned;
    this.primaryAddrs = d.primaries;
  }

  private changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.deps.logger?.error('cluster state listener failed', { err: err instanceof Error ? err.message : String(err) });
      }
    }
  }
}

/** What a map means for the node named `nodeName`: the routing half of ClusterState. */
export interface DerivedRouting {
  readonly owners: Int32Array;
  readonly myShard: number;
  readonly myMapRole: 'primary' | 'replica' | null;
  readonly primaries: Endpoint[];
  readonly slotsOwned: number;
}

export function deriveRouting(map: ClusterMap, nodeName: string): DerivedRouting {
  const mine = shardOfNode(map, nodeName);
  return {
    owners: slotOwners(map),
    myShard: mine === null ? -1 : map.shards.indexOf(mine),
    myMapRole: mine === null ? null : mine.primary === nodeName ? 'primary' : 'replica',
    slotsOwned: mine === null ? 0 : countSlots(mine.slots),
    primaries: map.shards.map((s) => {
      const n = nodeByName(map, s.primary);
      // parseClusterMap guarantees every primary is listed in nodes.
      if (n === null) throw new ClusterStateLoadError(`shard ${s.id}: primary ${s.primary} is not in nodes`);
      return n.tlsPort === undefined ? { host: n.host, port: n.port } : { host: n.host, port: n.port, tlsPort: n.tlsPort };
    }),
  };
}
