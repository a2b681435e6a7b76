/**
 * What the controller does when a node already has a cluster map it did not
 * publish (its push got 409). The one legitimate source of such a map is a
 * migration's flip: the source and target install the moved ownership at
 * the next epoch by themselves. The controller must then adopt that move —
 * pushing a map without it would hand the slots back to the source shard
 * and strand writes the target acknowledged after the flip. Pure.
 */
import { moveSlots, normalizeRanges, sameMapContent, type ClusterMap, type SlotRange } from '../../common/cluster-map.js';
import type { SlotMove } from './state.js';

export type MapConflict =
  /** Publish `map` instead (it includes the node's change); `flipped`: the current move's flip was adopted. */
  | { readonly ok: true; readonly map: ClusterMap; readonly flipped: boolean }
  | { readonly ok: false; readonly reason: string };

/**
 * ours: the map the controller publishes; theirs: a node's map at an epoch
 * >= ours with other content; move: the migration in flight, if any.
 */
export function resolveMapConflict(ours: ClusterMap, theirs: ClusterMap, move: SlotMove | null): MapConflict {
  const epoch = Math.max(ours.epoch, theirs.epoch) + 1;
  // A move naming a shard our map lacks cannot be the flip (moveSlots would throw into the control loop).
  if (move !== null && ours.shards.some((s) => s.id === move.to)) {
    const moved = moveSlots(ours, move.slots, move.to, theirs.epoch);
    if (sameOwnership(moved, theirs)) {
      // Exactly the flip (same content, at or above our epoch): adopt it as is; otherwise carry our other changes above both.
      const asIs = sameMapContent(moved, theirs) && theirs.epoch >= ours.epoch;
      return { ok: true, map: asIs ? moved : { ...moved, epoch }, flipped: true };
    }
  }
  if (sameOwnership(ours, theirs)) return { ok: true, map: { ...ours, epoch }, flipped: false };
  return {
    ok: false,
    reason: `a node has cluster map epoch ${theirs.epoch} with slot ownership the controller did not publish (its own map is at epoch ${ours.epoch}); refusing to overwrite it: compare the maps (GET /admin/cluster/map) and the migrations (GET /admin/cluster/migrations) on the nodes`,
  };
}

/** Same shards owning the same slots (primaries, replicas and addresses may differ). */
export function sameOwnership(a: ClusterMap, b: ClusterMap): boolean {
  return ownership(a) === ownership(b);
}

function ownership(m: ClusterMap): string {
  return JSON.stringify(
    m.shards
      .filter((s) => s.slots.length > 0)
      .map((s) => [s.id, normalizeRanges(s.slots)] as [string, SlotRange[]])
      .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)),
  );
}
