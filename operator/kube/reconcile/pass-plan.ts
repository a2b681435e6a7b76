/**
 * Which steps a reconcile pass runs for an IrisCluster spec. spec.paused
 * stops every step that changes the cluster (templates, scale, rollout);
 * the resources are still ensured, role labels still follow the primaries
 * and the controller still fails over a failed primary, because pausing must
 * not make the cluster unavailable. Pure.
 */
import type { IrisClusterSpec } from '../iris-cluster.js';
import { NOTHING, type StepReport } from './context.js';

export interface PassPlan {
  readonly templates: boolean;
  readonly scale: boolean;
  readonly rollout: boolean;
  /** What status says while paused (a problem, so the Ready condition shows it). */
  readonly pausedReport: StepReport;
}

export const PAUSED_PROBLEM = 'spec.paused: the operator changes nothing (failover still runs)';

export function passPlan(spec: IrisClusterSpec | undefined): PassPlan {
  const paused = spec?.paused === true;
  return {
    templates: !paused,
    scale: !paused,
    rollout: !paused,
    pausedReport: paused ? { progress: null, problem: PAUSED_PROBLEM } : NOTHING,
  };
}
