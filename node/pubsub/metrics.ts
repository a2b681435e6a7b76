/** Pub/Sub metrics, read from the hub and the bus forwarder at scrape time (names as redis_exporter's where it has them). */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface PubSubMetricsSource {
  /** Distinct channels, patterns and shard channels with at least one subscriber on this node. */
  kindCount(kind: 'channel' | 'pattern' | 'shard'): number;
  /** Subscribers disconnected at their output-buffer limit since start. */
  readonly outputLimitDisconnections: number;
  /** PUBLISH/SPUBLISH messages not forwarded to a peer node (no connection, backlog full) since start. */
  droppedForwards(): number;
}

export function registerPubSubMetrics(registry: Registry, source: PubSubMetricsSource): void {
  const gauges: Array<[string, string, 'channel' | 'pattern' | 'shard']> = [
    ['redis_pubsub_channels', 'Channels with at least one subscriber on this node', 'channel'],
    ['redis_pubsub_patterns', 'Patterns with at least one subscriber on this node', 'pattern'],
    ['redis_pubsubshard_channels', 'Shard channels with at least one subscriber on this node', 'shard'],
  ];
  for (const [name, help, kind] of gauges) {
    new Gauge({ name, help, registers: [registry], collect() { this.set(source.kindCount(kind)); } });
  }
  let seenDisconnects = 0;
  new Counter({
    name: 'redis_client_output_buffer_limit_disconnections_total',
    help: 'Pub/Sub subscribers disconnected at client-output-buffer-limit pubsub',
    registers: [registry],
    collect() {
      const now = source.outputLimitDisconnections;
      if (now > seenDisconnects) this.inc(now - seenDisconnects);
      seenDisconnects = now;
    },
  });
  let seenDrops = 0;
  new Counter({
    name: 'irisdb_pubsub_forward_dropped_total',
    help: 'PUBLISH/SPUBLISH messages not forwarded to a peer node over the cluster bus (best-effort delivery)',
    registers: [registry],
    collect() {
      const now = source.droppedForwards();
      if (now > seenDrops) this.inc(now - seenDrops);
      seenDrops = now;
    },
  });
}
