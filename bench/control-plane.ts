/**
 * The control-plane benchmarks (issue #5) run on the local cluster a user
 * starts (`irisctl local up`, default settings: 3 shards × 1 replica,
 * minSyncReplicas 1, heartbeatMs 500, failureThreshold 3): failover time
 * (failover.ts, with its write checker in failover-checker.ts) and
 * rescaling time (rescale.ts). What both use is here.
 */
import { Cluster } from 'ioredis';
import type { ClusterStatus } from '../operator/core/observation.js';
import type { LocalCluster } from '../test/support/local-cluster.js';
import { waitFor } from '../test/support/wait.js';

/** A measurement window, not a synchronisation. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** An auto-pipelined cluster client for bulk loads and read-backs. */
export function bulkClient(seedPort: number): Cluster {
  const c = new Cluster([{ host: '127.0.0.1', port: seedPort }], {
    maxRedirections: 64, retryDelayOnTryAgain: 50, retryDelayOnMoved: 0, enableAutoPipelining: true, slotsRefreshTimeout: 2000,
    redisOptions: { enableReadyCheck: false },
  });
  c.on('error', () => {});
  return c;
}

/** Ready, idle, and every replica streaming with nothing left to apply. */
export async function waitCaughtUp(cluster: LocalCluster, timeoutMs: number): Promise<ClusterStatus> {
  await cluster.waitReady(timeoutMs);
  return waitFor('every replica to be caught up', async () => {
    const st = await cluster.status();
    const ok = st.phase === 'Ready' && st.operation === null && st.shards.every((s) => s.failover === null && s.nodes.every((n) =>
      n.up && (n.name === s.primary ? n.role === 'primary' : n.role === 'replica' && n.link === 'streaming' && n.lagOps === 0)));
    return ok ? st : null;
  }, { timeoutMs, intervalMs: 100 });
}
