/** Cluster-map metrics, read from the state at scrape time. */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ClusterGaugeSource {
  /** Epoch of the installed map, 0 without one. */
  epoch(): number;
  /** Slots the map gives this node's shard (0 without a map). */
  slotsOwned(): number;
}

export interface ClusterMetrics {
  /** Maps refused because their epoch was older (or equal with other content). */
  readonly mapConflicts: Counter;
}

export function createClusterMetrics(registry: Registry, source: ClusterGaugeSource): ClusterMetrics {
  new Gauge({
    name: 'irisdb_cluster_map_epoch', help: 'Epoch of the installed cluster map (0: none installed)', registers: [registry],
    collect() { this.set(source.epoch()); },
  });
  new Gauge({
    name: 'irisdb_cluster_slots_owned', help: 'Hash slots the cluster map assigns to this node\'s shard', registers: [registry],
    collect() { this.set(source.slotsOwned()); },
  });
  return {
    mapConflicts: new Counter({ name: 'irisdb_cluster_map_conflicts_total', help: 'Cluster maps refused as older than the installed one', registers: [registry] }),
  };
}
