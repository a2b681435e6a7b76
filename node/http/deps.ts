/** What the HTTP app needs from the node. */
import type express from 'express';
import type { CommitScheduler, Keyspace } from '../engine/types.js';
import type { NodeConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';

export interface HttpDeps {
  keyspace: Keyspace;
  commits: CommitScheduler;
  config: NodeConfig;
  logger: Logger;
  metrics: NodeMetrics;
  isReady(): boolean;
  now(): number;
  /** Mounted under /admin when present (the runtime's admin API). */
  admin?: express.Router;
}
