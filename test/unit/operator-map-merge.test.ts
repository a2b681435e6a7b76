/**
 * What the controller publishes when a node refuses its map
 * (operator/core/map-merge.ts): a migration's flip is adopted as is, or
 * carried above the controller's own changes; a map with the same slot
 * ownership is overwritten from above; anything else is refused. Property
 * tests over random ownership and random moves.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  moveSlots, normalizeRanges, parseClusterMap, rangesToSlots, sameMapContent, slotOwners,
  type ClusterMap, type MapNode, type SlotRange,
} from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { resolveMapConflict, sameOwnership } from '../../operator/core/map-merge.js';
import { withNodeAddresses, withShard, withShardPrimary } from '../../operator/core/slot-plan.js';
import type { SlotMove } from '../../operator/core/state.js';

const node = (name: string, port: number): MapNode => ({ name, host: '127.0.0.1', port, busPort: port + 10000 });

/** Shards shard-0..n-1, each with primary p<i> and replica r<i>, slots as given. */
function mapOf(slots: ReadonlyArray<readonly SlotRange[]>, epoch: number): ClusterMap {
  return parseClusterMap({
    epoch,
    nodes: slots.flatMap((_, i) => [node(`p${i}`, 7000 + 2 * i), node(`r${i}`, 7001 + 2 * i)]),
    shards: slots.map((s, i) => ({ id: `shard-${i}`, slots: s, primary: `p${i}`, replicas: [`r${i}`] })),
  });
}

/** Random ownership of all slots over 2..8 shards (up to 30 segments), at a random epoch. */
const randomMap = fc.integer({ min: 2, max: 8 }).chain((n) => fc.record({
  n: fc.constant(n),
  epoch: fc.integer({ min: 1, max: 1000 }),
  cuts: fc.uniqueArray(fc.integer({ min: 1, max: SLOT_COUNT - 1 }), { maxLength: 29 }),
  owners: fc.array(fc.integer({ min: 0, max: n - 1 }), { minLength: 30, maxLength: 30 }),
})).map(({ n, epoch, cuts, owners }) => {
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), SLOT_COUNT];
  const slots: SlotRange[][] = Array.from({ length: n }, () => []);
  for (let j = 0; j + 1 < bounds.length; j++) slots[owners[j]!]!.push([bounds[j]!, bounds[j + 1]! - 1]);
  return mapOf(slots, epoch);
});

/** The slots of `ranges` whose position is in [from, to) of their list, as ranges. */
function slice(ranges: readonly SlotRange[], from: number, to: number): SlotRange[] {
  const all = rangesToSlots(ranges);
  return normalizeRanges(all.slice(from, to).map((s) => [s, s] as const));
}

/** A map and a non-empty move of some of one shard's slots to another shard. */
const withMove = randomMap.chain((map) => {
  const donors = map.shards.filter((s) => s.slots.length > 0).map((s) => s.id);
  return fc.record({
    map: fc.constant(map),
    from: fc.constantFrom(...donors),
    to: fc.constantFrom(...map.shards.map((s) => s.id)),
    a: fc.nat(),
    b: fc.nat(),
  }).filter(({ from, to }) => from !== to).map(({ map: m, from, to, a, b }) => {
    const owned = rangesToSlots(m.shards.find((s) => s.id === from)!.slots).length;
    const x = a % owned;
    const y = x + 1 + (b % (owned - x));
    const move: SlotMove = { from, to, slots: slice(m.shards.find((s) => s.id === from)!.slots, x, y) };
    return { map: m, move };
  });
});

/** The flip a source and target install by themselves: the move at the next epoch. */
const flipOf = (ours: ClusterMap, move: SlotMove, epoch = ours.epoch + 1): ClusterMap => moveSlots(ours, move.slots, move.to, epoch);

/** A change of primary in the move's source shard (what a failover publishes), at `epoch`. */
function failoverIn(map: ClusterMap, shardId: string, epoch: number): ClusterMap {
  const i = Number(shardId.slice('shard-'.length));
  return withShardPrimary(map, shardId, `r${i}`, [`p${i}`], epoch);
}

describe('operator/core/map-merge', () => {
  describe('resolveMapConflict', () => {
    it('adopts the flip of the move in flight exactly as the nodes installed it', () => {
      fc.assert(fc.property(withMove, ({ map, move }) => {
        const flip = flipOf(map, move);
        const res = resolveMapConflict(map, flip, move);
        expect(res.ok).to.equal(true);
        if (!res.ok) return;
        expect(res.flipped).to.equal(true);
        expect(res.map).to.deep.equal(flip);
      }), { numRuns: 100 });
    });

    it('carries the controller\'s own change at the same epoch as the flip above both', () => {
      fc.assert(fc.property(withMove, fc.boolean(), ({ map, move }, inSource) => {
        const ours = failoverIn(map, inSource ? move.from : move.to, map.epoch + 1);
        const flip = flipOf(map, move);
        const res = resolveMapConflict(ours, flip, move);
        expect(res.ok).to.equal(true);
        if (!res.ok) return;
        expect(res.flipped).to.equal(true);
        expect(res.map.epoch).to.equal(Math.max(ours.epoch, flip.epoch) + 1);
        // The flip's ownership, the controller's primaries.
        expect(sameOwnership(res.map, flip)).to.equal(true);
        expect(sameMapContent(res.map, flipOf(ours, move))).to.equal(true);
        expect(() => parseClusterMap(res.map)).not.to.throw();
      }), { numRuns: 100 });
    });

    it('publishes its own content above a node\'s map with the same ownership and other primaries or addresses', () => {
      fc.assert(fc.property(withMove, fc.integer({ min: 0, max: 5 }), fc.boolean(), fc.boolean(), ({ map, move }, ahead, addresses, knowsMove) => {
        const theirs = addresses
          ? withNodeAddresses(map, [node('p0', 9000)], map.epoch + ahead)
          : failoverIn(map, move.from, map.epoch + ahead);
        const res = resolveMapConflict(map, theirs, knowsMove ? move : null);
        expect(res.ok).to.equal(true);
        if (!res.ok) return;
        expect(res.flipped).to.equal(false);
        expect(res.map.epoch).to.equal(Math.max(map.epoch, theirs.epoch) + 1);
        expect(sameMapContent(res.map, map)).to.equal(true);
      }), { numRuns: 100 });
    });

    it('refuses a map whose ownership is neither the controller\'s nor the controller\'s plus the move', () => {
      fc.assert(fc.property(withMove, fc.nat(), fc.integer({ min: 0, max: 3 }), ({ map, move }, pick, ahead) => {
        // Some other change of ownership: part of the move, the move to another shard, or a move the controller never planned.
        const others = map.shards.map((s) => s.id).filter((id) => id !== move.from && id !== move.to);
        const half = slice(move.slots, 0, Math.max(1, Math.floor(rangesToSlots(move.slots).length / 2)));
        const epoch = map.epoch + 1 + ahead;
        const candidates: Array<() => ClusterMap> = [
          () => moveSlots(map, half, move.to, epoch),
          ...others.map((o) => () => moveSlots(map, move.slots, o, epoch)),
          () => moveSlots(map, move.slots, move.to, epoch),
        ];
        const theirs = candidates[pick % candidates.length]!();
        const knowsMove = pick % candidates.length !== candidates.length - 1;
        fc.pre(!sameOwnership(theirs, map));
        fc.pre(!knowsMove || !sameOwnership(theirs, flipOf(map, move)));
        const res = resolveMapConflict(map, theirs, knowsMove ? move : null);
        expect(res.ok).to.equal(false);
        if (res.ok) return;
        expect(res.reason).to.include(`epoch ${theirs.epoch}`).and.to.include(`epoch ${map.epoch}`);
      }), { numRuns: 100 });
    });

    it('refuses, rather than throws, when the move in flight names a shard the controller\'s map lacks', () => {
      const ours = mapOf([[[0, 8191]], [[8192, 16383]]], 4);
      const theirs = moveSlots(ours, [[0, 99]], 'shard-1', 5);
      const res = resolveMapConflict(ours, theirs, { from: 'shard-0', to: 'shard-7', slots: [[0, 99]] });
      expect(res.ok).to.equal(false);
    });

    it('refuses a flip when no move is in flight, and a move other than the one in flight', () => {
      const ours = mapOf([[[0, 8191]], [[8192, 16383]]], 4);
      const move: SlotMove = { from: 'shard-0', to: 'shard-1', slots: [[0, 99]] };
      expect(resolveMapConflict(ours, flipOf(ours, move), null)).to.deep.include({ ok: false });
      // The reverse move is not the move in flight either.
      const reverse = moveSlots(ours, [[8192, 8199]], 'shard-0', 5);
      expect(resolveMapConflict(ours, reverse, move).ok).to.equal(false);
    });

    it('never gives a map whose epoch is below either side, or slots to no one', () => {
      fc.assert(fc.property(withMove, fc.integer({ min: 0, max: 3 }), fc.boolean(), ({ map, move }, kind, ahead) => {
        const flip = flipOf(map, move);
        const theirs = [flip, failoverIn(map, move.to, map.epoch + (ahead ? 1 : 0)), failoverIn(flip, move.to, flip.epoch + 1), map][kind]!;
        const ours = ahead ? failoverIn(map, move.from, map.epoch + 1) : map;
        // Whatever the epochs (the publisher only asks about maps at or above its own, but a slip must not move the map back).
        fc.pre(!sameMapContent(theirs, ours));
        const res = resolveMapConflict(ours, theirs, move);
        if (!res.ok) return;
        expect(res.map.epoch).to.be.at.least(theirs.epoch);
        expect(res.map.epoch).to.be.greaterThan(ours.epoch);
        // Equal epochs only for the node's own map, unchanged.
        if (res.map.epoch === theirs.epoch) expect(sameMapContent(res.map, theirs)).to.equal(true);
        expect(slotOwners(res.map).every((o) => o !== -1)).to.equal(true);
      }), { numRuns: 100 });
    });
  });

  describe('sameOwnership', () => {
    it('compares which shard owns which slot, nothing else', () => {
      fc.assert(fc.property(withMove, ({ map, move }) => {
        expect(sameOwnership(map, map)).to.equal(true);
        // Primaries, addresses and the epoch do not matter.
        expect(sameOwnership(map, failoverIn(map, move.from, map.epoch + 3))).to.equal(true);
        expect(sameOwnership(map, withNodeAddresses(map, [node('r0', 9100)], map.epoch))).to.equal(true);
        // Neither does the order of the shards, nor how the ranges are split.
        const shuffled: ClusterMap = {
          ...map,
          shards: [...map.shards].reverse().map((s) => ({ ...s, slots: rangesToSlots(s.slots).map((x) => [x, x] as const) })),
        };
        expect(sameOwnership(map, shuffled)).to.equal(true);
        expect(sameOwnership(shuffled, map)).to.equal(true);
        // A shard that owns nothing does not count (a new shard not yet in a node's map).
        const extra = withShard(map, { id: 'shard-99', slots: [], primary: 'p99', replicas: [] }, [node('p99', 9500)], map.epoch);
        expect(sameOwnership(map, extra)).to.equal(true);
        // Any real move does.
        const moved = flipOf(map, move);
        expect(sameOwnership(map, moved)).to.equal(false);
        expect(sameOwnership(moved, map)).to.equal(false);
      }), { numRuns: 100 });
    });
  });
});
