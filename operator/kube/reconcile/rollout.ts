/**
 * Step "rollout": restarts the pods left on an old StatefulSet revision one
 * at a time (rollout-plan.ts decides) through the controller's graceful
 * restart, which switches a primary over before its pod is deleted.
 */
import { parseNodeName } from '../../core/naming.js';
import { ControlError } from '../../control-api/types.js';
import { errorText } from '../errors.js';
import { LABEL_REVISION, parseStatefulSetName } from '../names.js';
import { isDeleting, podReady } from '../pod-facts.js';
import type { StepContext, StepReport } from './context.js';
import { planRollout, type RolloutInFlight, type RolloutPod, type RolloutSet } from './rollout-plan.js';

export class RolloutStep {
  private inFlight: RolloutInFlight | null = null;

  async run(ctx: StepContext): Promise<StepReport> {
    const state = ctx.controller.state;
    const status = ctx.controller.status();
    const sets: RolloutSet[] = [];
    for (const sts of ctx.statefulSets()) {
      const index = parseStatefulSetName(ctx.cluster, sts.metadata?.name ?? '');
      if (index === null || isDeleting(sts)) continue;
      const seen = (sts.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0);
      sets.push({ shardIndex: index, updateRevision: seen ? sts.status?.updateRevision ?? null : null });
    }
    const pods: RolloutPod[] = [];
    for (const p of ctx.pods()) {
      const n = parseNodeName(ctx.cluster, p.metadata?.name ?? '');
      if (n === null) continue;
      pods.push({
        name: p.metadata!.name!, uid: p.metadata?.uid ?? '', shardIndex: n.shardIndex, ordinal: n.ordinal,
        revision: p.metadata?.labels?.[LABEL_REVISION] ?? null, ready: podReady(p), deleting: isDeleting(p),
      });
    }
    const plan = planRollout({
      phase: status.phase,
      operation: state.operation === null ? null : `${state.operation.id} (${state.operation.reason})`,
      shards: state.shards.map((s) => ({ index: s.index, primary: s.currentPrimary, members: s.members, changingPrimary: s.failover !== null })),
      sets, pods, inFlight: this.inFlight, now: Date.now(),
    });
    if (plan.do === 'none') return { progress: null, problem: null };
    if (plan.do === 'wait') {
      if (plan.dropInFlight === true) this.inFlight = null;
      return { progress: plan.pending === 0 ? null : plan.why, problem: null };
    }
    try {
      const r = await ctx.controller.restartNode(plan.node);
      this.inFlight = { node: plan.node, uid: plan.uid, startedAt: Date.now() };
      ctx.metrics.rolloutRestartsTotal.inc({ namespace: ctx.namespace, cluster: ctx.cluster });
      ctx.event({ type: 'Normal', reason: 'RollingUpdate', message: `${plan.why}: ${r.message}` });
    } catch (err) {
      if (!(err instanceof ControlError && err.code === 'conflict')) throw err;
      ctx.logger.info('rolling restart not started yet', { node: plan.node, error: errorText(err) });
    }
    return { progress: plan.why, problem: null };
  }
}
