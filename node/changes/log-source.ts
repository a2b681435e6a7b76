/** The change feed's view of the node (feed.ts ChangeLogSource) over the replication manager, its log and the cluster state. */
import type { Registry } from 'prom-client';
import type { DurableClusterState } from '../cluster/cluster-state.js';
import type { ReplicationManager } from '../replication/manager.js';
import type { ChangeLogSource } from './feed.js';
import type { OwnershipStore } from './ownership-store.js';
import { STANDALONE_SHARD } from '../../common/change-position.js';
import { createChangeFeedMetrics } from './metrics.js';

export interface LogSourceDeps {
  readonly replication: ReplicationManager;
  readonly cluster: DurableClusterState;
  readonly ownership: OwnershipStore;
  /** Highest committed sequence. */
  lastSeq(): number;
  readonly registry: Registry;
}

export interface NodeChangeLogSource extends ChangeLogSource {
  /** Ends every open stream (node shutdown). */
  shutdown(): void;
}

export function changeLogSource(d: LogSourceDeps): NodeChangeLogSource {
  const { replication, cluster } = d;
  const metrics = createChangeFeedMetrics(d.registry);
  let stopping = false;
  const stopListeners = new Set<() => void>();
  return {
    metrics,
    shuttingDown: () => stopping,
    onShutdown: (listener) => {
      stopListeners.add(listener);
      return () => {
        stopListeners.delete(listener);
      };
    },
    shutdown: () => {
      stopping = true;
      for (const l of stopListeners) l();
    },
    shard: () => {
      const map = cluster.map;
      if (map === null) return cluster.clusterEnabled ? null : STANDALONE_SHARD;
      return cluster.myShard === -1 ? null : map.shards[cluster.myShard]!.id;
    },
    role: () => replication.roleView().role,
    history: () => replication.status().history,
    lastSeq: () => d.lastSeq(),
    logFirstSeq: () => replication.log.firstSeq(),
    readLog: (fromSeq, limit) => replication.log.readFrom(fromSeq, limit),
    onCommitted: (listener) => replication.log.subscribe(() => listener()),
    // The gate's quorum is Infinity when writes wait for no replica (minSyncReplicas 0, or none declared).
    ackedSeq: () => replication.gate.quorumSeq(),
    onAcked: (listener) => replication.gate.onQuorumMoved(listener),
    ownership: () => d.ownership.snapshot(),
  };
}
