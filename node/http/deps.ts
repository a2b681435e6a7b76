/** What the HTTP app needs from the node. */
import type express from 'express';
import type { ClusterMap } from '../../common/cluster-map.js';
import type { KeyRouter } from './cluster-route.js';
import type { CommitScheduler, Keyspace } from '../engine/types.js';
import type { NodeConfig } from '../config/schema.js';
import type { Logger } from '../../common/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';
import type { ChangeLogSource } from '../changes/feed.js';
import type { HttpReadConsistency } from './consistency.js';
import type { HttpTracing } from '../tracing/http-tracing.js';
import type { AclStore } from '../acl/store.js';
import type { AuditSink } from '../../common/audit/sink.js';
import type { PeerSchemes } from './forward-scheme.js';

export interface HttpDeps {
  keyspace: Keyspace;
  commits: CommitScheduler;
  config: NodeConfig;
  logger: Logger;
  metrics: NodeMetrics;
  isReady(): boolean;
  now(): number;
  /** The node's replication role (absent: a standalone primary, as in unit tests). */
  replication?: {
    role(): { readonly role: 'primary' | 'replica'; readonly primary: { readonly host: string; readonly port: number } | null; readonly loading: boolean };
  };
  /** The installed cluster map, for forwarding to a slot's primary (absent or null: nothing to forward to). */
  clusterMap?(): ClusterMap | null;
  /** Slot routing in cluster mode (absent: every key is served here). */
  keyRouter?: KeyRouter;
  /** The shard's change feed (GET /v1/changes; absent: the route answers 404). */
  changes?: ChangeLogSource;
  /** HTTP spans and trace-context propagation (absent: tracing off). */
  tracing?: HttpTracing;
  /** Read consistency levels (strong confirmation, replica lag); absent: every level reads as default. */
  consistency?: HttpReadConsistency;
  /** ACL users and rules (absent: requirePass alone, every key allowed, as in unit tests). */
  acl?: AclStore;
  /** The audit log (authentications); absent: none. */
  audit?: AuditSink;
  /** Which scheme each peer speaks, one memory per node shared by forwarding and cluster scans (absent: createHttpApp makes it). */
  peerSchemes?: PeerSchemes;
  /** Mounted under /admin when present (the runtime's admin API). */
  admin?: express.Router;
}
