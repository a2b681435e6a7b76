/**
 * The node's cluster state as the rest of the node sees it: the durable
 * cluster map, this node's place in it, and the per-slot overlays a live
 * migration adds (write fences). Routing reads it on every keyed command;
 * the migration code changes it.
 */
import type { ClusterMap, SlotRange } from '../../common/cluster-map.js';

/** A client address (RESP): where MOVED sends a client. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** The node's TLS port when it serves plain and TLS side by side: where MOVED sends a TLS client. */
  readonly tlsPort?: number;
}

export interface ClusterState {
  /** This node's name (config.nodeName): how the map refers to it. */
  readonly nodeName: string;
  /**
   * Started as a cluster member (--cluster-enabled yes): without a map it serves no
   * keys (CLUSTERDOWN) rather than acting as a standalone server (issue #13).
   */
  readonly clusterEnabled: boolean;
  /** The installed map, or null before the control plane pushed one (standalone unless clusterEnabled). */
  readonly map: ClusterMap | null;
  /** Shard index owning each slot (-1: unassigned); null without a map. */
  readonly owners: Int32Array | null;
  /** Index in map.shards of this node's shard, -1 if the map does not list this node. */
  readonly myShard: number;
  /** This node's role in the map ('primary' or 'replica' of myShard), null without a map or when not listed. */
  readonly myMapRole: 'primary' | 'replica' | null;
  /** Client address of each shard's primary, by shard index (empty without a map). */
  readonly primaries: readonly Endpoint[];

  /**
   * Installs a map pushed by the control plane (or produced by a migration's
   * ownership flip). Refuses (ClusterMapConflictError) a map whose epoch is
   * below the current one, or equal with different content. Durable before
   * it returns. Returns false if this very map was already installed (a
   * repeated push: nothing changes, no listener runs).
   */
  install(map: ClusterMap): boolean;

  /**
   * Write fence for slots whose ownership is about to flip: while fenced,
   * writes to them wait (the dispatcher holds them) instead of running.
   * lift() releases the waiting commands, which are then routed again
   * (served here, or MOVED if ownership flipped meanwhile). A write held
   * longer than FENCE_WAIT_MAX_MS (routing.ts, 2 s) is answered TRYAGAIN
   * without running, so keep fences shorter than that. Fences are in memory
   * only: a restart clears them.
   */
  fence(slots: readonly SlotRange[]): void;
  lift(slots: readonly SlotRange[]): void;
  isFenced(slot: number): boolean;
  /** Resolves when `slot` is no longer fenced. */
  whenLifted(slot: number): Promise<void>;

  /** Called after every change (map installed, fence set or lifted). */
  onChange(listener: () => void): void;
}

export class ClusterMapConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterMapConflictError';
  }
}
