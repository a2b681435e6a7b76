/**
 * Keeps each primary's declared replicas (the ones it waits for) to the
 * replicas that are up and caught up — never below minSyncReplicas with
 * dataDurability 'required' — one step per heartbeat, in the order
 * core/sync-plan.ts gives, so that the recorded guarantee a failover relies
 * on is true at every moment.
 */
import { silentTooLong } from '../core/health.js';
import { nextSyncStep } from '../core/sync-plan.js';
import { errorText, type ControllerContext } from './context.js';
import type { Heartbeat } from './heartbeat.js';
import { withShardPatch } from './shard-update.js';

const MAX_LAG_OPS = 1000;

export class SyncSetReconciler {
  /** Per replica: when it was first seen not streaming (not answering, not connected, not online). */
  private readonly badSince = new Map<string, number>();
  private readonly lastWait = new Map<string, string>();

  constructor(private readonly ctx: ControllerContext, private readonly heartbeat: Heartbeat) {}

  async reconcile(): Promise<void> {
    const { spec } = this.ctx.state;
    const now = this.ctx.now();
    for (const shard of this.ctx.state.shards) {
      if (shard.failover !== null || this.ctx.state.map === null) continue;
      const primary = this.ctx.observations.get(shard.currentPrimary)?.status ?? null;
      if (primary === null || primary.role !== 'primary' || primary.epoch !== shard.epoch) continue;
      const replicas = shard.members.filter((m) => m !== shard.currentPrimary);
      const failed = new Set<string>();
      for (const r of new Set([...replicas, ...shard.sync.replicas])) {
        const obs = this.ctx.observations.get(r);
        const link = primary.replicas.find((x) => x.name === r);
        const good = obs?.status != null && !this.heartbeat.exited(r) && link !== undefined && link.connected && link.state === 'online';
        if (good) {
          this.badSince.delete(r);
          continue;
        }
        const since = this.badSince.get(r) ?? now;
        this.badSince.set(r, since);
        if (this.heartbeat.exited(r) || silentTooLong(now - since, spec)) failed.add(r);
      }
      const step = nextSyncStep({
        record: shard.sync, replicas, primary, failed, maxLagOps: MAX_LAG_OPS,
        minSyncReplicas: spec.minSyncReplicas, durability: spec.dataDurability,
      });
      try {
        switch (step.do) {
          case 'none':
            this.lastWait.delete(shard.id);
            break;
          case 'wait':
            if (this.lastWait.get(shard.id) !== step.why) this.ctx.logger.info('sync set change waiting', { shard: shard.id, why: step.why });
            this.lastWait.set(shard.id, step.why);
            break;
          case 'record': {
            const before = shard.sync;
            await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, { sync: step.record }));
            if (step.record.target === null) {
              this.ctx.event('Normal', 'SyncReplicasChanged', `${shard.id}: every acknowledged write is on at least ${step.record.acks} of ${step.record.replicas.join(', ') || 'no replica'} (${step.why})`, { shard: shard.id });
            } else {
              const dropped = before.replicas.filter((r) => !step.record.target!.replicas.includes(r));
              const type = dropped.length > 0 ? 'Warning' : 'Normal';
              this.ctx.event(type, 'SyncReplicasChanging', `${shard.id}: ${step.why}`, { shard: shard.id });
            }
            break;
          }
          case 'tell': {
            const st = await this.ctx.api(shard.currentPrimary, spec.heartbeatMs * 4)!.setRole({ role: 'primary', epoch: shard.epoch, replicas: [...step.replicas] });
            const current = this.ctx.state.shards.find((s) => s.id === shard.id)!;
            if (current.sync.target !== null) {
              await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, { sync: { ...current.sync, target: { ...current.sync.target, seq: st.lastSeq } } }));
            }
            break;
          }
        }
      } catch (err) {
        this.ctx.logger.warn('changing a sync set failed', { shard: shard.id, step: step.do, error: errorText(err) });
      }
    }
  }
}
