/**
 * Step "status": writes the resource's status (status-view.ts) with a merge
 * patch on the status subresource — only when it changed, and at most once
 * a second. The patch names the resource's uid, so it never lands on a new
 * cluster of the same name.
 */
import type { Logger } from '../../../common/logger.js';
import type { KubeClient } from '../client.js';
import { errorText, isNotFound } from '../errors.js';
import type { IrisCluster } from '../iris-cluster.js';
import { IRISCLUSTERS, resourcePath } from '../paths.js';
import { isDeleting } from '../pod-facts.js';
import { stampTransitions, statusView } from '../status-view.js';
import type { StepContext, StepReport } from './context.js';

export class StatusStep {
  private lastKey: string | null = null;
  private lastWriteAt = 0;

  constructor(private readonly minIntervalMs = 1000) {}

  async run(ctx: StepContext, reports: { readonly scale: StepReport; readonly rollout: StepReport; readonly other: readonly StepReport[] }): Promise<void> {
    const cr = ctx.resource();
    const problems = [reports.scale, reports.rollout, ...reports.other].map((r) => r.problem).filter((p): p is string => p !== null);
    const view = statusView({
      status: ctx.controller.status(),
      generation: cr.metadata.generation ?? 0,
      previous: cr.status?.conditions ?? [],
      rollout: reports.rollout.progress,
      scaling: reports.scale.progress,
      operatorProblem: problems.length === 0 ? null : problems.join('; '),
      deleting: isDeleting(cr),
      now: new Date().toISOString(),
    });
    const key = JSON.stringify({ ...view, conditions: view.conditions.map(({ lastTransitionTime: _t, ...c }) => c) });
    const now = Date.now();
    if (key === this.lastKey && cr.status?.phase !== undefined) return;
    if (now - this.lastWriteAt < this.minIntervalMs) return;
    const stamped = { ...view, conditions: stampTransitions(view.conditions, new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z')) };
    try {
      await ctx.client.mergePatch(resourcePath(IRISCLUSTERS, ctx.namespace, ctx.cluster, 'status'), { metadata: { uid: cr.metadata.uid }, status: stamped });
      this.lastKey = key;
      this.lastWriteAt = now;
    } catch (err) {
      ctx.logger.warn('writing the status failed', { error: errorText(err) });
    }
  }
}

/** Best effort: phase Deleting on a resource the garbage collector is emptying (foreground deletion). */
export async function markDeleting(client: KubeClient, cr: IrisCluster, logger: Logger): Promise<void> {
  const path = resourcePath(IRISCLUSTERS, cr.metadata.namespace, cr.metadata.name, 'status');
  try {
    await client.mergePatch(path, { metadata: { uid: cr.metadata.uid }, status: { phase: 'Deleting' } });
  } catch (err) {
    if (!isNotFound(err)) logger.debug('marking a cluster Deleting failed', { cluster: cr.metadata.name, error: errorText(err) });
  }
}
