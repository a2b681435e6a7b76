/** Step "roles": patches the irisdb.io/role label of pods whose role changed (role-labels-plan.ts). */
import { errorText, isNotFound } from '../errors.js';
import { LABEL_ROLE } from '../names.js';
import { PODS, resourcePath } from '../paths.js';
import { isDeleting } from '../pod-facts.js';
import type { StepContext, StepReport } from './context.js';
import { planRoleLabels } from './role-labels-plan.js';

export async function reconcileRoleLabels(ctx: StepContext): Promise<StepReport> {
  const pods = ctx.pods().map((p) => ({ name: p.metadata?.name ?? '', role: p.metadata?.labels?.[LABEL_ROLE], deleting: isDeleting(p) }));
  for (const change of planRoleLabels(ctx.controller.state, pods)) {
    const pod = ctx.pods().find((p) => p.metadata?.name === change.pod);
    try {
      // The uid makes the patch fail on a pod recreated meanwhile instead of labelling it blindly.
      await ctx.client.mergePatch(resourcePath(PODS, ctx.namespace, change.pod), { metadata: { uid: pod?.metadata?.uid, labels: { [LABEL_ROLE]: change.role } } });
      ctx.logger.info('role label set', { pod: change.pod, role: change.role });
    } catch (err) {
      if (isNotFound(err)) continue;
      ctx.logger.warn('setting a role label failed', { pod: change.pod, error: errorText(err) });
    }
  }
  return { progress: null, problem: null };
}
