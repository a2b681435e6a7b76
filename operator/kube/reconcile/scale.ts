/**
 * Step "scale": carries the resource's shards / replicasPerShard to the
 * controller (scale-plan.ts decides; switchovers first when replicas go
 * down). A request the controller refuses is reported once as a Warning
 * Event and kept in status until the spec changes.
 */
import { ControlError } from '../../control-api/types.js';
import { errorText } from '../errors.js';
import { clusterSpecOf, settingsChange } from '../iris-cluster.js';
import type { StepContext, StepReport } from './context.js';
import { planScale } from './scale-plan.js';

export class ScaleStep {
  private lastRefusal: string | null = null;

  async run(ctx: StepContext): Promise<StepReport> {
    const want = clusterSpecOf(ctx.resource().spec);
    const settings = settingsChange(want, ctx.controller.state.spec);
    if (settings !== null) {
      try {
        await ctx.controller.updateSettings(settings);
      } catch (err) {
        return { progress: null, problem: `settings refused: ${errorText(err)}` };
      }
    }
    const plan = planScale(ctx.controller.state, want);
    switch (plan.do) {
      case 'none':
        this.lastRefusal = null;
        return { progress: null, problem: null };
      case 'wait':
        return { progress: plan.why, problem: null };
      case 'switchover':
        try {
          const r = await ctx.controller.switchover(plan.shard, plan.to);
          ctx.event({ type: 'Normal', reason: 'ScaleSwitchover', message: `${plan.why} (${r.id})` });
        } catch (err) {
          // Usually the candidate is still catching up: try again next pass.
          ctx.logger.info('switchover before scaling down not started yet', { shard: plan.shard, to: plan.to, error: errorText(err) });
          return { progress: `${plan.why}; waiting: ${errorText(err)}`, problem: null };
        }
        return { progress: plan.why, problem: null };
      case 'scale':
        try {
          const r = await ctx.controller.scale(plan.request);
          ctx.event({ type: 'Normal', reason: 'ScaleRequested', message: r.id === '' ? r.message : `${r.message} (${r.id})` });
          this.lastRefusal = null;
          return { progress: plan.why, problem: null };
        } catch (err) {
          const text = `${plan.why} refused: ${errorText(err)}`;
          if (err instanceof ControlError && err.code === 'conflict') return { progress: text, problem: null };
          if (text !== this.lastRefusal) ctx.event({ type: 'Warning', reason: 'ScaleRefused', message: text });
          this.lastRefusal = text;
          return { progress: null, problem: text };
        }
    }
  }
}
