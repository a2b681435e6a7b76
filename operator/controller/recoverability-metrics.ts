/**
 * The recoverability window as controller metrics (docs/backup.md), read
 * from the controller's status at scrape time: when a point-in-time restore
 * can start, and per shard up to when the archive holds the log and how far
 * it is behind the primary. (Each primary's own irisdb_archive_* metrics
 * say the same from the node's side.)
 */
import { Gauge, type Registry } from 'prom-client';
import type { ClusterStatus } from '../core/observation.js';

export function watchRecoverabilityMetrics(registry: Registry, status: () => ClusterStatus): void {
  const r = [registry];
  new Gauge({
    name: 'irisdb_recoverability_first_timestamp_seconds',
    help: 'Finish time of the oldest complete backup in the archive destination: the earliest point a restore can reach (Unix seconds; absent: none)',
    labelNames: ['cluster'], registers: r,
    collect() {
      this.reset();
      const s = status();
      const t = s.recoverability?.firstRecoverabilityPoint;
      if (t != null) this.set({ cluster: s.cluster }, Date.parse(t) / 1000);
    },
  });
  new Gauge({
    name: 'irisdb_recoverability_last_archived_timestamp_seconds',
    help: 'Commit time of the last write of the shard held by the archive destination (Unix seconds)',
    labelNames: ['cluster', 'shard'], registers: r,
    collect() {
      this.reset();
      const s = status();
      for (const x of s.recoverability?.shards ?? []) this.set({ cluster: s.cluster, shard: x.shard }, Date.parse(x.lastArchivedTime) / 1000);
    },
  });
  new Gauge({
    name: 'irisdb_recoverability_archive_lag_sequences',
    help: "Sequences of the shard's primary's log the archive destination does not hold yet",
    labelNames: ['cluster', 'shard'], registers: r,
    collect() {
      this.reset();
      const s = status();
      for (const x of s.recoverability?.shards ?? []) if (x.lagSequences !== null) this.set({ cluster: s.cluster, shard: x.shard }, x.lagSequences);
    },
  });
  new Gauge({
    name: 'irisdb_recoverability_archive_lag_seconds',
    help: 'Seconds since the last archived write of the shard when its primary holds writes the archive lacks (0: caught up)',
    labelNames: ['cluster', 'shard'], registers: r,
    collect() {
      this.reset();
      const s = status();
      for (const x of s.recoverability?.shards ?? []) if (x.lagSeconds !== null) this.set({ cluster: s.cluster, shard: x.shard }, x.lagSeconds);
    },
  });
}
