/**
 * Prometheus HTTP service discovery for a cluster's nodes (GET
 * /prometheus/targets on the local control API, for `http_sd_configs`):
 * every node's HTTP address, labelled cluster, shard and pod the way the
 * chart's PodMonitor labels node pods, so the Grafana dashboard and the
 * alerts work on a local cluster too, and nodes a rescale adds are scraped
 * without editing the Prometheus config. Pure.
 */
import type { ClusterStatus } from '../core/observation.js';

/** One entry of Prometheus's http_sd format. */
export interface PrometheusTargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export function prometheusTargets(st: ClusterStatus): PrometheusTargetGroup[] {
  const out: PrometheusTargetGroup[] = [];
  for (const s of st.shards) {
    for (const n of s.nodes) {
      // A node the platform has no address for yet is left out until it has one.
      if (n.httpUrl === null) continue;
      out.push({ targets: [new URL(n.httpUrl).host], labels: { cluster: st.cluster, shard: s.id, pod: n.name } });
    }
  }
  return out;
}
