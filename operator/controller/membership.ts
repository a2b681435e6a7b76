/**
 * Nodes and shards coming and going: every recorded member exists on the
 * platform; bootstrap publishes the first map once every node has its role;
 * nodes no shard lists any more are deleted once no primary counts on them.
 */
import { bootstrapMap } from '../core/slot-plan.js';
import { desiredRole, roleDrift } from '../core/role-plan.js';
import { addressBook, mapNodes } from './addresses.js';
import { errorText, type ControllerContext } from './context.js';

export class Membership {
  private readonly creating = new Set<string>();

  constructor(private readonly ctx: ControllerContext) {}

  /** Asks the platform for every member it does not know yet (it restarts the ones it knows by itself). */
  async ensureNodes(): Promise<void> {
    const known = new Set(this.ctx.platform.nodes().map((n) => n.name));
    const missing = this.ctx.state.shards.flatMap((s) => s.members.map((m) => [m, s.id] as const))
      .filter(([m]) => !known.has(m) && !this.creating.has(m));
    await Promise.all(missing.map(async ([name, shard]) => {
      this.creating.add(name);
      try {
        await this.ctx.platform.ensureNode(name, shard);
        this.ctx.logger.info('node created', { node: name, shard });
      } catch (err) {
        this.ctx.event('Warning', 'NodeCreateFailed', `creating ${name} failed: ${errorText(err)}`, { node: name });
      } finally {
        this.creating.delete(name);
      }
    }));
  }

  /** Progress of a bootstrap: publishes the first map once every node answers with its role. */
  async bootstrap(): Promise<{ up: number; ready: number; total: number }> {
    const { state } = this.ctx;
    const names = state.shards.flatMap((s) => s.members);
    const book = addressBook(this.ctx);
    let up = 0;
    let ready = 0;
    for (const shard of state.shards) {
      for (const name of shard.members) {
        const st = this.ctx.observations.get(name)?.status ?? null;
        if (st === null) continue;
        up++;
        const want = desiredRole(shard, name, book);
        if (want !== null && roleDrift(want, st) === 'none') ready++;
      }
    }
    const progress = { up, ready, total: names.length };
    if (state.map !== null || ready < names.length) return progress;
    const nodes = mapNodes(this.ctx, names);
    if (nodes === null) return progress;
    const map = bootstrapMap(state.shards.map((s) => ({ id: s.id, primary: s.currentPrimary, replicas: s.members.filter((m) => m !== s.currentPrimary) })), nodes, 1);
    await this.ctx.commit({ ...state, map });
    this.ctx.event('Normal', 'Bootstrapped', `cluster map published: ${state.shards.length} shards, ${names.length} nodes, all 16384 slots assigned`);
    return progress;
  }

  /**
   * Deletes platform nodes that no shard lists, once no answering primary
   * still declares them as replicas (its writes would wait for a node that is gone).
   */
  async collectGarbage(): Promise<void> {
    const members = new Set(this.ctx.state.shards.flatMap((s) => s.members));
    const declared = new Set<string>();
    for (const s of this.ctx.state.shards) {
      const st = this.ctx.observations.get(s.currentPrimary)?.status;
      for (const r of st?.declaredReplicas ?? []) declared.add(r);
      // A replica the failover guarantee still counts on may hold the only copy of a write.
      for (const r of [...s.sync.replicas, ...(s.sync.target?.replicas ?? [])]) declared.add(r);
    }
    for (const n of this.ctx.platform.nodes()) {
      if (members.has(n.name) || declared.has(n.name)) continue;
      try {
        await this.ctx.platform.deleteNode(n.name);
        this.ctx.event('Normal', 'NodeDeleted', `${n.name} deleted: no shard lists it any more`, { node: n.name });
      } catch (err) {
        this.ctx.logger.warn('deleting a node failed', { node: n.name, error: errorText(err) });
      }
    }
  }
}
