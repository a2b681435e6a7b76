/**
 * What every reconcile step of one IrisCluster works with: the resource as
 * last seen, its running controller and platform, the cluster's pods and
 * StatefulSets from the shared caches, and the client for writes.
 */
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from '../../../common/logger.js';
import type { Controller } from '../../controller/controller.js';
import type { KubeClient } from '../client.js';
import type { IrisCluster } from '../iris-cluster.js';
import type { OperatorMetrics } from '../metrics.js';
import type { KubePlatform } from '../kube-platform.js';
import type { RecordedEvent } from '../events.js';

export interface StepContext {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly cluster: string;
  readonly logger: Logger;
  readonly metrics: OperatorMetrics;
  /** The IrisCluster as last seen. */
  resource(): IrisCluster;
  readonly controller: Controller;
  readonly platform: KubePlatform;
  /** The cluster's node pods (cache). */
  pods(): V1Pod[];
  /** The cluster's StatefulSets (cache). */
  statefulSets(): V1StatefulSet[];
  /** An Event on the IrisCluster from the operator itself (not the controller). */
  event(e: Omit<RecordedEvent, 'at'>): void;
}

/** What a step reports for status: something it waits on or works at (null: nothing). */
export interface StepReport {
  readonly progress: string | null;
  readonly problem: string | null;
}

export const NOTHING: StepReport = { progress: null, problem: null };
