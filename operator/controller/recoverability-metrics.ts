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
  type ShardWindow = NonNullable<ClusterStatus['recoverability']>['shards'][number];
  /** One gauge per shard of the window, read from the status at scrape time; a null value leaves the shard out. */
  const shardGauge = (name: string, help: string, value: (x: ShardWindow) => number | null): void => {
    new Gauge({
      name, help, labelNames: ['cluster', 'shard'], registers: r,
      collect() {
        this.reset();
        const s = status();
        for (const x of s.recoverability?.shards ?? []) {
          const v = value(x);
          if (v !== null) this.set({ cluster: s.cluster, shard: x.shard }, v);
        }
      },
    });
  };
  shardGauge('irisdb_recoverability_last_archived_timestamp_seconds',
    'Commit time of the last write of the shard held by the archive destination (Unix seconds)',
    (x) => Date.parse(x.lastArchivedTime) / 1000);
  shardGauge('irisdb_recoverability_archive_lag_sequences',
    "Sequences of the shard's primary's log the archive destination does not hold yet",
    (x) => x.lagSequences);
  shardGauge('irisdb_recoverability_archive_lag_seconds',
    'Seconds since the last archived write of the shard when its primary holds writes the archive lacks (0: caught up)',
    (x) => x.lagSeconds);
}
