/**
 * The controller's own API (served on loopback by `irisctl local up`, used by
 * the other `irisctl` verbs): the status and the requests a user can make.
 * Types only.
 */
import type { ClusterStatus } from '../core/observation.js';

/** What the controller accepts; implemented by operator/controller/controller.ts. */
export interface ControlTarget {
  status(): ClusterStatus;
  /** Starts a failover of the shard's primary (even if it looks healthy). */
  failover(shard: string): Promise<RequestAccepted>;
  /** Hands the shard's primary role to a replica (`to`, or the most caught-up one) without losing a write. */
  switchover(shard: string, to?: string): Promise<RequestAccepted>;
  /** Changes the number of shards (live slot migration) or of replicas per shard. */
  scale(req: ScaleRequest): Promise<RequestAccepted>;
  /** Moves slots so every shard owns the same number, within one. */
  rebalance(): Promise<RequestAccepted>;
  /** Restarts one node gracefully: a primary first hands its role to a replica (switchover). */
  restartNode(node: string): Promise<RequestAccepted>;
}

export interface ScaleRequest {
  readonly shards?: number;
  readonly replicasPerShard?: number;
}

export interface RequestAccepted {
  /** Id of the operation or failover started ('' when nothing needed doing). */
  readonly id: string;
  readonly message: string;
}

/**
 * A request the controller refuses. code: 'bad_request' (400), 'not_found'
 * (404: no such shard or node), 'conflict' (409: another operation is under
 * way, or the request contradicts the state), 'unavailable' (503).
 */
export class ControlError extends Error {
  constructor(readonly code: 'bad_request' | 'not_found' | 'conflict' | 'unavailable', message: string) {
    super(message);
    this.name = 'ControlError';
  }
}

/** Where a running local cluster's controller listens; written by `irisctl local up` under the cluster directory. */
export interface ControlEndpoint {
  readonly url: string;
  readonly pid: number;
}
