/**
 * Publishing the cluster map: every answering node whose installed map is not
 * the controller's gets it pushed. A node that refuses (409: it has a newer
 * map, or another one at the same epoch) is looked at before anything else is
 * pushed: a migration's flip is adopted, anything else stops publishing and
 * is reported (see core/map-merge.ts).
 */
import { AdminApiError } from '../../common/admin-client.js';
import { sameMapContent, type ClusterMap, type MapNode } from '../../common/cluster-map.js';
import { withNodeAddresses, withShard } from '../core/slot-plan.js';
import { mapNodeOf, mapNodes } from './addresses.js';
import { resolveMapConflict } from '../core/map-merge.js';
import type { SlotMove } from '../core/state.js';
import { mapReplicas } from '../core/map-membership.js';
import { errorText, type ControllerContext } from './context.js';

export class MapPublisher {
  /** Why publishing is stopped, or null. */
  blocked: string | null = null;

  constructor(private readonly ctx: ControllerContext) {}

  /** Pushes the controller's map where it is missing; returns the nodes that have it now. */
  async publish(): Promise<void> {
    await this.refreshMembership();
    await this.refreshAddresses();
    const map = this.ctx.state.map;
    if (map === null) return;
    const names = this.ctx.state.shards.flatMap((s) => s.members);
    const stale = names.filter((n) => {
      const o = this.ctx.observations.get(n);
      return o !== undefined && o.status !== null && o.mapEpoch !== map.epoch;
    });
    if (stale.length === 0) {
      this.blocked = null;
      return;
    }
    const conflicts: string[] = [];
    const participants = this.migrationParticipants();
    await Promise.all(stale.map(async (name) => {
      try {
        // The two primaries of a migration in flight may install its flip at any moment: push to them only
        // over the epoch they were seen at, so a flip never gets overwritten by a map that has not seen it.
        const cas = participants.has(name) ? (this.ctx.observations.get(name)?.mapEpoch ?? 0) : undefined;
        const api = this.ctx.api(name);
        if (api === null) return;
        await api.setClusterMap(map, cas);
        // The node has this epoch now: a second publish in the same tick must not push again over the epoch the
        // heartbeat saw (the node would refuse it, and resolving that refusal raised the epoch on every tick).
        const seen = this.ctx.observations.get(name);
        if (seen !== undefined) this.ctx.observations.set(name, { ...seen, mapEpoch: map.epoch });
      } catch (err) {
        if (err instanceof AdminApiError && err.status === 409) conflicts.push(name);
        else this.ctx.logger.debug('cluster map push failed', { node: name, epoch: map.epoch, error: errorText(err) });
      }
    }));
    for (const name of conflicts) {
      if (!(await this.resolve(name, map))) return;
    }
    if (conflicts.length === 0) this.blocked = null;
  }

  /** The source and target primaries of the migration in flight. */
  private migrationParticipants(): Set<string> {
    const op = this.ctx.state.operation;
    const out = new Set<string>();
    if (op === null || op.stage !== 'migrate' || op.done >= op.moves.length) return out;
    const move = op.moves[op.done]!;
    if (op.migration !== null) out.add(op.migration.sourceNode);
    for (const s of this.ctx.state.shards) if (s.id === move.from || s.id === move.to) out.add(s.currentPrimary);
    return out;
  }

  /** Replicas added or removed by scaling enter or leave the map (clients see them in CLUSTER SLOTS/NODES; core/map-membership.ts). */
  private async refreshMembership(): Promise<void> {
    const map = this.ctx.state.map;
    if (map === null) return;
    let next = map;
    for (const shard of this.ctx.state.shards) {
      const inMap = next.shards.find((s) => s.id === shard.id);
      if (inMap === undefined || shard.failover !== null || inMap.primary !== shard.currentPrimary) continue;
      const replicas = mapReplicas(shard, inMap.replicas, (n) => this.ctx.observations.get(n)?.status ?? null);
      if (replicas.length === inMap.replicas.length && replicas.every((r) => inMap.replicas.includes(r))) continue;
      const nodes = mapNodes(this.ctx, shard.members);
      if (nodes === null) continue; // a new node without an address yet: next time
      next = withShard(next, { ...inMap, replicas }, nodes, next.epoch + 1);
    }
    if (next === map) return;
    await this.ctx.commit({ ...this.ctx.state, map: { ...next, epoch: map.epoch + 1 } });
    this.ctx.logger.info('map membership updated', { epoch: map.epoch + 1 });
  }

  /**
   * Nodes are known by name; their addresses change when they restart
   * elsewhere (a new pod IP). A map naming an old address is republished
   * with the platform's current one.
   */
  private async refreshAddresses(): Promise<void> {
    const map = this.ctx.state.map;
    if (map === null) return;
    const changed: MapNode[] = [];
    for (const n of map.nodes) {
      const ep = this.ctx.endpoint(n.name);
      const now = ep === null ? null : mapNodeOf(n.name, ep);
      if (now !== null && (now.host !== n.host || now.port !== n.port || now.busPort !== n.busPort || now.httpPort !== n.httpPort)) {
        changed.push(now);
      }
    }
    if (changed.length === 0) return;
    await this.ctx.commit({ ...this.ctx.state, map: withNodeAddresses(map, changed, map.epoch + 1) });
    this.ctx.event('Normal', 'AddressesChanged', `new addresses for ${changed.map((c) => `${c.name} (${c.host}:${c.port})`).join(', ')}; map epoch ${map.epoch + 1}`);
  }

  /** Looks at the map `name` refused ours for; true if the controller's map now includes it. */
  private async resolve(name: string, ours: ClusterMap): Promise<boolean> {
    let theirs: ClusterMap | null;
    try {
      theirs = (await this.ctx.api(name)?.clusterMap()) ?? null;
    } catch (err) {
      this.ctx.logger.debug('could not read a refusing node\'s map', { node: name, error: errorText(err) });
      return false;
    }
    if (theirs === null || theirs.epoch < ours.epoch) return true; // it changed meanwhile; the next round pushes again
    const current = this.ctx.state.map;
    if (current !== ours) return true; // someone committed a newer map meanwhile
    if (theirs.epoch === ours.epoch && sameMapContent(theirs, ours)) return true; // it has ours already
    const res = resolveMapConflict(ours, theirs, this.currentMove());
    if (!res.ok) {
      if (this.blocked !== res.reason) this.ctx.event('Warning', 'MapConflict', `${name}: ${res.reason}`, { node: name });
      this.blocked = `${name}: ${res.reason}`;
      return false;
    }
    await this.ctx.commit({ ...this.ctx.state, map: res.map });
    this.ctx.logger.info(res.flipped ? 'adopted a migration flip from a node' : 'raised the map epoch above a node\'s', { node: name, epoch: res.map.epoch });
    this.blocked = null;
    return true;
  }

  /** The move whose flip a node may have installed by itself. */
  private currentMove(): SlotMove | null {
    const op = this.ctx.state.operation;
    if (op === null || op.stage !== 'migrate' || op.done >= op.moves.length) return null;
    return op.moves[op.done]!;
  }
}
