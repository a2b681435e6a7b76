/** Change feed metrics (docs/change-feed.md): open streams, events sent, positions answered 410. */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ChangeFeedMetrics {
  readonly streams: Gauge;
  readonly events: Counter;
  readonly gone: Counter;
}

export function createChangeFeedMetrics(registry: Registry): ChangeFeedMetrics {
  return {
    streams: new Gauge({ name: 'irisdb_change_feed_streams', help: 'GET /v1/changes streams open on this node', registers: [registry] }),
    events: new Counter({ name: 'irisdb_change_feed_events_total', help: 'Change events sent on /v1/changes streams', registers: [registry] }),
    gone: new Counter({ name: 'irisdb_change_feed_gone_total', help: 'Change feed positions answered 410 Gone (older than the retained log, lost in a failover, or unprovable)', registers: [registry] }),
  };
}
