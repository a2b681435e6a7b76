/**
 * Keeps each primary's sync set (the replicas it waits for) to the replicas
 * that are up and caught up, one step per heartbeat, in the order
 * core/sync-plan.ts gives: a failed replica stops stalling writes after
 * failureThreshold intervals, and a replica that is back joins again once
 * it streams and has caught up.
 */
import { nextSyncStep } from '../core/sync-plan.js';
import { errorText, type ControllerContext } from './context.js';
import type { Heartbeat } from './heartbeat.js';
import { shardById, withShardPatch } from './shard-update.js';

const MAX_LAG_OPS = 1000;

export class SyncSetReconciler {
  /** Per replica: when it was first seen not streaming (not answering, not connected, not online). */
  private readonly badSince = new Map<string, number>();
  /** Per shard: the primary's lastSeq when it was told to stop counting a replica. */
  private readonly removalSeq = new Map<string, number>();

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
      for (const r of new Set([...replicas, ...shard.syncReplicas])) {
        const obs = this.ctx.observations.get(r);
        const link = primary.replicas.find((x) => x.name === r);
        const good = obs?.status != null && !this.heartbeat.exited(r) && link !== undefined && link.connected && link.state === 'online';
        if (good) {
          this.badSince.delete(r);
          continue;
        }
        const since = this.badSince.get(r) ?? now;
        this.badSince.set(r, since);
        if (this.heartbeat.exited(r) || now - since >= spec.failureThreshold * spec.heartbeatMs) failed.add(r);
      }
      const step = nextSyncStep({
        recorded: shard.syncReplicas, replicas, primary, failed, maxLagOps: MAX_LAG_OPS,
        removalSeq: this.removalSeq.get(shard.id) ?? null,
      });
      try {
        switch (step.do) {
          case 'none':
          case 'wait':
            break;
          case 'record': {
            const current = shardById(this.ctx.state, shard.id)!;
            await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, { syncReplicas: step.syncReplicas }));
            this.removalSeq.delete(shard.id);
            this.ctx.event('Normal', 'SyncReplicasChanged', `${shard.id}: writes now wait for ${describe(step.syncReplicas, spec.minSyncReplicas)} (was ${current.syncReplicas.join(', ') || 'none'})`, { shard: shard.id });
            break;
          }
          case 'tell': {
            const st = await this.ctx.api(shard.currentPrimary)!.setRole({ role: 'primary', epoch: shard.epoch, replicas: [...step.replicas] });
            if (step.removal) {
              this.removalSeq.set(shard.id, st.lastSeq);
              const gone = shard.syncReplicas.filter((r) => !step.replicas.includes(r));
              if (gone.length > 0) this.ctx.event('Warning', 'SyncReplicaDropped', `${shard.id}: ${shard.currentPrimary} stops waiting for ${gone.join(', ')} (failed or removed); writes continue with ${describe(step.replicas, spec.minSyncReplicas)}`, { shard: shard.id });
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

function describe(replicas: readonly string[], minSync: number): string {
  if (replicas.length === 0) return 'no replica (acknowledged by the primary alone until a replica catches up)';
  return `${Math.min(minSync, replicas.length)} of ${replicas.join(', ')}`;
}
