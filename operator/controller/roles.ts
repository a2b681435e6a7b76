/**
 * Role reconciliation: every answering member of a shard whose role, epoch,
 * primary or declared replicas differ from the recorded shard is told again
 * (a restarted node, a deposed primary coming back, a new replica, a replica
 * list that changed with scaling). Shards with a change of primary in flight
 * are left to the failover runner.
 */
import { desiredRole, roleDrift } from '../core/role-plan.js';
import { addressBook } from './addresses.js';
import { errorText, type ControllerContext } from './context.js';

export class RoleReconciler {
  private readonly warned = new Set<string>();

  constructor(private readonly ctx: ControllerContext) {}

  /** Returns the number of members whose role is as recorded (answering and without drift). */
  async reconcile(): Promise<number> {
    const book = addressBook(this.ctx);
    let settled = 0;
    const work: Promise<void>[] = [];
    for (const shard of this.ctx.state.shards) {
      if (shard.failover !== null) continue;
      for (const name of shard.members) {
        const status = this.ctx.observations.get(name)?.status ?? null;
        if (status === null) continue;
        const desired = desiredRole(shard, name, book);
        if (desired === null) continue;
        // The primary's replica list is the sync-set reconciler's (it changes it in a safe order).
        const drift = desired.role === 'primary' && status.role === 'primary' && status.epoch === desired.epoch ? 'none' : roleDrift(desired, status);
        if (drift === 'none') {
          settled++;
          this.warned.delete(name);
          continue;
        }
        if (drift === 'newer') {
          if (!this.warned.has(name)) {
            this.warned.add(name);
            this.ctx.event('Warning', 'EpochAhead', `${name} reports epoch ${status.epoch}, above ${shard.id}'s recorded epoch ${shard.epoch}; leaving it alone`, { node: name });
          }
          continue;
        }
        work.push((async () => {
          try {
            const api = this.ctx.api(name);
            if (api === null) return; // its address went away since the heartbeat: next time
            await api.setRole(desired);
            this.ctx.logger.info('role set', { node: name, shard: shard.id, role: desired.role, epoch: desired.epoch });
          } catch (err) {
            this.ctx.logger.warn('setting a role failed', { node: name, shard: shard.id, error: errorText(err) });
          }
        })());
      }
    }
    await Promise.all(work);
    return settled;
  }
}
