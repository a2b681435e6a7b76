/**
 * Slot planning (docs/architecture.md §4, §5): the first map of a cluster, the slot moves
 * of a rebalance or rescale, and the map edits the controller publishes
 * (a new primary, a shard added or removed, new node addresses). Every map
 * returned passed parseClusterMap, so a bug here fails at the controller
 * instead of at every node refusing the push. Pure.
 */
import { SLOT_COUNT } from '../../common/slot.js';
import {
  countSlots, evenSlotRanges, normalizeRanges, parseClusterMap, slotOwners,
  type ClusterMap, type MapNode, type MapShard, type SlotRange,
} from '../../common/cluster-map.js';
import type { SlotMove } from './state.js';

export class SlotPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlotPlanError';
  }
}

/**
 * rebalancePlan refuses a map with unassigned slots: they belong to no shard,
 * so no migration can move them (nobody holds their keys), and planning
 * around them would leave the result unbalanced. The controller assigns them
 * by a map edit instead (they hold no data: no node accepts writes to a slot
 * it does not own). `slots` says which.
 */
export class UnassignedSlotsError extends SlotPlanError {
  constructor(readonly slots: readonly SlotRange[]) {
    super(`${countSlots(slots)} slots are not assigned to any shard (${describeRanges(slots)}); assign them before rebalancing`);
    this.name = 'UnassignedSlotsError';
  }
}

/** The slots no shard owns, as normalized ranges. */
export function unassignedSlots(map: ClusterMap): SlotRange[] {
  const owner = slotOwners(map);
  const out: Array<[number, number]> = [];
  for (let s = 0; s < SLOT_COUNT; s++) {
    if (owner[s] !== -1) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === s - 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

/** Slots `shardId` owns in `map` (0 if it is not in the map). */
export function slotCountOf(map: ClusterMap, shardId: string): number {
  const s = map.shards.find((x) => x.id === shardId);
  return s === undefined ? 0 : countSlots(s.slots);
}

/**
 * The first map: all 16384 slots split evenly over `shards` in the order
 * given (evenSlotRanges, as redis-cli --cluster create does).
 * Throws ClusterMapError if the result is not a valid map (e.g. a node missing from `nodes`).
 */
export function bootstrapMap(
  shards: ReadonlyArray<{ readonly id: string; readonly primary: string; readonly replicas: readonly string[] }>,
  nodes: readonly MapNode[],
  epoch: number,
): ClusterMap {
  if (shards.length === 0) throw new SlotPlanError('cannot bootstrap a cluster map without shards');
  const ranges = evenSlotRanges(shards.length);
  return parseClusterMap({
    epoch,
    nodes: [...nodes],
    shards: shards.map((s, i) => ({ id: s.id, slots: [ranges[i]!], primary: s.primary, replicas: [...s.replicas] })),
  });
}

/**
 * The slot moves that leave every shard of `shardsAfter` owning floor or
 * ceil(16384 / n) slots and every other shard owning nothing, moving the
 * fewest slots: exactly the sum of the surpluses. The ceil quotas go to the
 * shards that own the most now (ties: order in shardsAfter), which is what
 * makes the total minimal. Receivers (in shardsAfter order) take from the
 * donor with the largest remaining surplus first, from the end of the
 * donor's ranges, so donors keep their low slots contiguous and each (from,
 * to) pair appears at most once. Shards of shardsAfter missing from the map
 * count as owning nothing (the controller adds them, empty, before moving).
 * Deterministic. Throws UnassignedSlotsError if any slot has no owner, and
 * SlotPlanError if shardsAfter is empty or names a shard twice.
 */
export function rebalancePlan(map: ClusterMap, shardsAfter: readonly string[]): SlotMove[] {
  if (shardsAfter.length === 0) throw new SlotPlanError('a rebalance needs at least one shard to own the slots');
  if (new Set(shardsAfter).size !== shardsAfter.length) throw new SlotPlanError(`shardsAfter names a shard twice: ${shardsAfter.join(', ')}`);
  const free = unassignedSlots(map);
  if (free.length > 0) throw new UnassignedSlotsError(free);

  const owned = new Map(map.shards.map((s) => [s.id, normalizeRanges(s.slots)] as const));
  const count = (id: string): number => countSlots(owned.get(id) ?? []);
  const quota = quotas(shardsAfter, count);

  const donors = map.shards
    .map((s) => ({ id: s.id, pool: [...owned.get(s.id)!], surplus: count(s.id) - (quota.get(s.id) ?? 0) }))
    .filter((d) => d.surplus > 0);
  const moves: SlotMove[] = [];
  for (const to of shardsAfter) {
    let deficit = quota.get(to)! - count(to);
    while (deficit > 0) {
      // Largest remaining surplus; the first in map order on ties. One exists: surpluses and deficits both sum to the same total.
      const donor = donors.reduce((best, d) => (d.surplus > best.surplus ? d : best));
      const n = Math.min(deficit, donor.surplus);
      moves.push({ from: donor.id, to, slots: takeFromEnd(donor.pool, n) });
      donor.surplus -= n;
      deficit -= n;
    }
  }
  return moves;
}

/**
 * Every slot is owned by one of `shardIds` and their slot counts are within
 * one of each other (so each owns floor or ceil of 16384 / n).
 */
export function balanced(map: ClusterMap, shardIds: readonly string[]): boolean {
  if (shardIds.length === 0) return false;
  const ids = new Set(shardIds);
  if (map.shards.some((s) => !ids.has(s.id) && s.slots.length > 0)) return false;
  if (unassignedSlots(map).length > 0) return false;
  const counts = shardIds.map((id) => slotCountOf(map, id));
  return Math.max(...counts) - Math.min(...counts) <= 1;
}

/** `map` at `epoch` with the shard's primary and replicas replaced (a failover or switchover). Throws SlotPlanError for an unknown shard. */
export function withShardPrimary(map: ClusterMap, shardId: string, primary: string, replicas: readonly string[], epoch: number): ClusterMap {
  checkEpoch(map, epoch);
  if (!map.shards.some((s) => s.id === shardId)) throw new SlotPlanError(`no shard ${shardId} in the cluster map (epoch ${map.epoch})`);
  return parseClusterMap({
    epoch,
    nodes: map.nodes,
    shards: map.shards.map((s) => (s.id === shardId ? { ...s, primary, replicas: [...replicas] } : s)),
  });
}

/**
 * `map` at `epoch` with `shard` in it (appended, or replacing the shard of
 * the same id in place) and `nodes` added or updated. Nodes that were
 * members of the replaced shard and are not members any more leave
 * map.nodes (a replica scaled away must not linger in CLUSTER NODES).
 */
export function withShard(map: ClusterMap, shard: MapShard, nodes: readonly MapNode[], epoch: number): ClusterMap {
  checkEpoch(map, epoch);
  const old = map.shards.find((s) => s.id === shard.id);
  const members = new Set([shard.primary, ...shard.replicas]);
  const dropped = new Set(old === undefined ? [] : [old.primary, ...old.replicas].filter((n) => !members.has(n)));
  const given = new Map(nodes.map((n) => [n.name, n] as const));
  const kept = map.nodes.filter((n) => !dropped.has(n.name) || given.has(n.name)).map((n) => given.get(n.name) ?? n);
  const added = nodes.filter((n) => !map.nodes.some((m) => m.name === n.name));
  const next = { ...shard, slots: normalizeRanges(shard.slots), replicas: [...shard.replicas] };
  return parseClusterMap({
    epoch,
    nodes: [...kept, ...added],
    shards: old === undefined ? [...map.shards, next] : map.shards.map((s) => (s.id === shard.id ? next : s)),
  });
}

/**
 * `map` at `epoch` without the shard and its nodes (the last step of a
 * scale-in). Throws SlotPlanError if the shard is unknown or still owns
 * slots: dropping it would orphan their keys.
 */
export function withoutShard(map: ClusterMap, shardId: string, epoch: number): ClusterMap {
  checkEpoch(map, epoch);
  const shard = map.shards.find((s) => s.id === shardId);
  if (shard === undefined) throw new SlotPlanError(`no shard ${shardId} in the cluster map (epoch ${map.epoch})`);
  const n = countSlots(shard.slots);
  if (n > 0) throw new SlotPlanError(`shard ${shardId} still owns ${n} slots (${describeRanges(shard.slots)}); move them away before removing it`);
  const members = new Set([shard.primary, ...shard.replicas]);
  return parseClusterMap({
    epoch,
    nodes: map.nodes.filter((x) => !members.has(x.name)),
    shards: map.shards.filter((s) => s.id !== shardId),
  });
}

/**
 * `map` at `epoch` with the listed nodes' host and ports replaced (pods come
 * back with new IPs). Names not in the map are ignored: nodes join through
 * withShard, with their shard.
 */
export function withNodeAddresses(map: ClusterMap, nodes: readonly MapNode[], epoch: number): ClusterMap {
  checkEpoch(map, epoch);
  const given = new Map(nodes.map((n) => [n.name, n] as const));
  return parseClusterMap({
    epoch,
    nodes: map.nodes.map((n) => {
      const u = given.get(n.name);
      return u ?? n;
    }),
    shards: map.shards,
  });
}

/** Per shard of `ids`: floor(16384/n), plus one for the `16384 mod n` shards owning the most now (ties: earlier in `ids`). */
function quotas(ids: readonly string[], count: (id: string) => number): Map<string, number> {
  const base = Math.floor(SLOT_COUNT / ids.length);
  const extra = SLOT_COUNT % ids.length;
  const order = ids.map((id, i) => ({ id, i, n: count(id) })).sort((a, b) => b.n - a.n || a.i - b.i);
  return new Map(order.map((x, rank) => [x.id, base + (rank < extra ? 1 : 0)] as const));
}

/** Removes the last `n` slots of `pool` (normalized ranges, mutated) and returns them as normalized ranges. */
function takeFromEnd(pool: SlotRange[], n: number): SlotRange[] {
  const taken: SlotRange[] = [];
  let left = n;
  while (left > 0) {
    const [a, b] = pool.pop()!;
    const size = b - a + 1;
    if (size <= left) {
      taken.push([a, b]);
      left -= size;
    } else {
      taken.push([b - left + 1, b]);
      pool.push([a, b - left]);
      left = 0;
    }
  }
  return normalizeRanges(taken);
}

/** Maps only move forward: a node refuses an older one, so building one is a bug. */
function checkEpoch(map: ClusterMap, epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < map.epoch) {
    throw new SlotPlanError(`a new cluster map needs an epoch of at least ${map.epoch} (got ${String(epoch)})`);
  }
}

/** "0-99, 200" style, the first few ranges only (for error messages). */
function describeRanges(ranges: readonly SlotRange[]): string {
  const shown = ranges.slice(0, 5).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
  return ranges.length > 5 ? `${shown.join(', ')}, ...` : shown.join(', ');
}
