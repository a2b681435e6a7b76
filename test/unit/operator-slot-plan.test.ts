/**
 * Slot planning (operator/core/slot-plan.ts): the bootstrap map, the moves
 * of a rebalance (property-tested over random, uneven ownership and random
 * target shard sets: balanced afterwards, minimal, disjoint, owned by their
 * source) and the map edits the controller publishes.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  ClusterMapError, countSlots, moveSlots, parseClusterMap, rangesToSlots, slotOwners,
  type ClusterMap, type MapNode, type SlotRange,
} from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import {
  SlotPlanError, UnassignedSlotsError, balanced, bootstrapMap, rebalancePlan, slotCountOf, unassignedSlots,
  withNodeAddresses, withShard, withShardPrimary, withoutShard,
} from '../../operator/core/slot-plan.js';

const node = (name: string, port = 7000): MapNode => ({ name, host: '127.0.0.1', port, busPort: port + 10000 });

/** Shards shard-0..n-1, each with primary p<i> and replica r<i>, slots as given. */
function mapOf(slots: ReadonlyArray<readonly SlotRange[]>, epoch = 1): ClusterMap {
  return parseClusterMap({
    epoch,
    nodes: slots.flatMap((_, i) => [node(`p${i}`, 7000 + 2 * i), node(`r${i}`, 7001 + 2 * i)]),
    shards: slots.map((s, i) => ({ id: `shard-${i}`, slots: s, primary: `p${i}`, replicas: [`r${i}`] })),
  });
}

/** Adds each id of `ids` missing from `map` as an empty shard (what the controller does before planning). */
function withNewShards(map: ClusterMap, ids: readonly string[]): ClusterMap {
  let m = map;
  for (const id of ids) {
    if (m.shards.some((s) => s.id === id)) continue;
    m = withShard(m, { id, slots: [], primary: `p-${id}`, replicas: [] }, [node(`p-${id}`, 9000 + m.nodes.length)], m.epoch);
  }
  return m;
}

function apply(map: ClusterMap, moves: ReturnType<typeof rebalancePlan>): ClusterMap {
  return moves.reduce((m, mv) => moveSlots(m, mv.slots, mv.to, m.epoch + 1), map);
}

/** The fewest slots any balanced result can move, computed independently of the planner: 16384 minus the most slots that can stay put. */
function minimumMoved(map: ClusterMap, after: readonly string[]): number {
  const base = Math.floor(SLOT_COUNT / after.length);
  const extra = SLOT_COUNT % after.length;
  const counts = after.map((id) => slotCountOf(map, id));
  const stay = counts.reduce((n, c) => n + Math.min(c, base), 0) + Math.min(extra, counts.filter((c) => c > base).length);
  return SLOT_COUNT - stay;
}

/** Random ownership: up to 40 contiguous segments, each given to a random shard (so some own nothing, others many pieces). */
const randomMap = fc.integer({ min: 1, max: 12 }).chain((n) => fc.record({
  n: fc.constant(n),
  cuts: fc.uniqueArray(fc.integer({ min: 1, max: SLOT_COUNT - 1 }), { maxLength: 39 }),
  owners: fc.array(fc.integer({ min: 0, max: n - 1 }), { minLength: 40, maxLength: 40 }),
})).map(({ n, cuts, owners }) => {
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), SLOT_COUNT];
  const slots: SlotRange[][] = Array.from({ length: n }, () => []);
  for (let j = 0; j + 1 < bounds.length; j++) slots[owners[j]!]!.push([bounds[j]!, bounds[j + 1]! - 1]);
  return mapOf(slots);
});

const scenario = randomMap.chain((map) => fc.record({
  map: fc.constant(map),
  after: fc.shuffledSubarray([...map.shards.map((s) => s.id), 'shard-20', 'shard-21', 'shard-22', 'shard-23'], { minLength: 1 }),
}));

describe('operator/core/slot-plan', () => {
  describe('bootstrapMap', () => {
    it('splits all slots evenly over the shards in order', () => {
      const m = bootstrapMap(
        [{ id: 'shard-0', primary: 'p0', replicas: ['r0'] }, { id: 'shard-1', primary: 'p1', replicas: [] }, { id: 'shard-2', primary: 'p2', replicas: [] }],
        [node('p0'), node('r0', 7001), node('p1', 7002), node('p2', 7003)], 1,
      );
      expect(m.epoch).to.equal(1);
      expect(m.shards.map((s) => s.slots)).to.deep.equal([[[0, 5461]], [[5462, 10922]], [[10923, 16383]]]);
      expect(balanced(m, ['shard-0', 'shard-1', 'shard-2'])).to.equal(true);
    });

    it('refuses no shards (SlotPlanError) and a shard naming an unknown node (ClusterMapError)', () => {
      expect(() => bootstrapMap([], [], 1)).to.throw(SlotPlanError, /without shards/);
      expect(() => bootstrapMap([{ id: 'shard-0', primary: 'ghost', replicas: [] }], [], 1)).to.throw(ClusterMapError, /ghost/);
    });
  });

  describe('rebalancePlan', () => {
    const three = mapOf([[[0, 5461]], [[5462, 10922]], [[10923, 16383]]]);

    it('scale out 3 → 4: the new shard takes the end of each donor, largest surplus first', () => {
      const map = withNewShards(three, ['shard-3']);
      const moves = rebalancePlan(map, ['shard-0', 'shard-1', 'shard-2', 'shard-3']);
      expect(moves).to.deep.equal([
        { from: 'shard-0', to: 'shard-3', slots: [[4096, 5461]] },
        { from: 'shard-1', to: 'shard-3', slots: [[9558, 10922]] },
        { from: 'shard-2', to: 'shard-3', slots: [[15019, 16383]] },
      ]);
      expect(balanced(apply(map, moves), ['shard-0', 'shard-1', 'shard-2', 'shard-3'])).to.equal(true);
    });

    it('scale in 3 → 2: the leaving shard gives everything, split between the two', () => {
      const moves = rebalancePlan(three, ['shard-0', 'shard-1']);
      expect(moves.map((m) => [m.from, m.to, countSlots(m.slots)])).to.deep.equal([['shard-2', 'shard-0', 2730], ['shard-2', 'shard-1', 2731]]);
      const after = apply(three, moves);
      expect(balanced(after, ['shard-0', 'shard-1'])).to.equal(true);
      expect(slotCountOf(after, 'shard-2')).to.equal(0);
    });

    it('gives the extra slot to the shards that already own the most (nothing to do when already balanced)', () => {
      expect(rebalancePlan(three, ['shard-0', 'shard-1', 'shard-2'])).to.deep.equal([]);
      expect(rebalancePlan(three, ['shard-2', 'shard-1', 'shard-0'])).to.deep.equal([]);
    });

    it('throws UnassignedSlotsError naming the unassigned slots, and SlotPlanError for bad shard lists', () => {
      const holes = mapOf([[[0, 99]], [[200, 16383]]]);
      expect(unassignedSlots(holes)).to.deep.equal([[100, 199]]);
      try {
        rebalancePlan(holes, ['shard-0', 'shard-1']);
        expect.fail('no error');
      } catch (err) {
        expect(err).to.be.instanceOf(UnassignedSlotsError);
        expect((err as UnassignedSlotsError).slots).to.deep.equal([[100, 199]]);
        expect((err as Error).message).to.match(/100 slots are not assigned to any shard \(100-199\)/);
      }
      expect(() => rebalancePlan(three, [])).to.throw(SlotPlanError, /at least one shard/);
      expect(() => rebalancePlan(three, ['shard-0', 'shard-0'])).to.throw(SlotPlanError, /twice/);
    });

    it('leaves every target shard balanced and the others empty, moving the fewest slots, each once, from their owner (property)', () => {
      fc.assert(fc.property(scenario, ({ map: input, after }) => {
        const map = withNewShards(input, after);
        const moves = rebalancePlan(map, after);
        const owner = slotOwners(map);
        const seen = new Set<number>();
        const pairs = new Set<string>();
        for (const mv of moves) {
          expect(mv.from).to.not.equal(mv.to);
          expect(after).to.include(mv.to);
          const pair = `${mv.from}>${mv.to}`;
          expect(pairs.has(pair), `two moves ${pair}`).to.equal(false);
          pairs.add(pair);
          expect(mv.slots.length).to.be.greaterThan(0);
          const from = map.shards.findIndex((s) => s.id === mv.from);
          // Plain checks per slot (thousands of them), one assertion per move.
          const notOwned = rangesToSlots(mv.slots).filter((s) => owner[s] !== from);
          const twice = rangesToSlots(mv.slots).filter((s) => seen.has(s));
          expect({ notOwned: notOwned.slice(0, 5), twice: twice.slice(0, 5) }, `${mv.from} → ${mv.to}`).to.deep.equal({ notOwned: [], twice: [] });
          for (const s of rangesToSlots(mv.slots)) seen.add(s);
        }
        expect(seen.size).to.equal(minimumMoved(map, after));
        expect(balanced(apply(map, moves), after)).to.equal(true);
        expect(rebalancePlan(map, after)).to.deep.equal(moves);
      }), { numRuns: 200 });
    });

    it('rescales an even map to any shard count; scaling out keeps every donor one contiguous range (property)', () => {
      fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), (before, after) => {
        const ids = Array.from({ length: Math.max(before, after) }, (_, i) => `shard-${i}`);
        let map = bootstrapMap(ids.slice(0, before).map((id, i) => ({ id, primary: `p${i}`, replicas: [] })), ids.slice(0, before).map((_, i) => node(`p${i}`, 7000 + i)), 1);
        map = withNewShards(map, ids.slice(0, after));
        const target = ids.slice(0, after);
        const result = apply(map, rebalancePlan(map, target));
        expect(balanced(result, target)).to.equal(true);
        if (before > after) return;
        // Scale out: donors give their tail, so they keep one range, and each move is one range.
        for (const id of ids.slice(0, before)) expect(result.shards.find((s) => s.id === id)!.slots.length).to.equal(1);
        for (const m of rebalancePlan(map, target)) expect(m.slots.length).to.equal(1);
      }));
    });
  });

  describe('balanced', () => {
    it('needs every slot on one of the listed shards, within one slot of each other', () => {
      const m = mapOf([[[0, 8191]], [[8192, 16383]], []]);
      expect(balanced(m, ['shard-0', 'shard-1'])).to.equal(true);
      expect(balanced(m, ['shard-0', 'shard-1', 'shard-2'])).to.equal(false);
      expect(balanced(m, ['shard-0'])).to.equal(false);
      expect(balanced(m, [])).to.equal(false);
      expect(balanced(mapOf([[[0, 5460]], [[5461, 10922]], [[10923, 16383]]]), ['shard-0', 'shard-1', 'shard-2'])).to.equal(true);
      expect(balanced(mapOf([[[0, 8190]], [[8191, 16383]]]), ['shard-0', 'shard-1'])).to.equal(false);
      expect(balanced(mapOf([[[0, 8191]], [[8192, 16382]]]), ['shard-0', 'shard-1'])).to.equal(false);
    });
  });

  describe('map edits', () => {
    const base = mapOf([[[0, 8191]], [[8192, 16383]]], 5);

    it('withShardPrimary swaps the primary and replicas at the new epoch', () => {
      const m = withShardPrimary(base, 'shard-0', 'r0', ['p0'], 6);
      expect(m.epoch).to.equal(6);
      expect(m.shards[0]).to.deep.include({ primary: 'r0', replicas: ['p0'] });
      expect(m.shards[1]).to.deep.equal(base.shards[1]);
      expect(() => withShardPrimary(base, 'shard-9', 'r0', [], 6)).to.throw(SlotPlanError, /no shard shard-9/);
      expect(() => withShardPrimary(base, 'shard-0', 'ghost', [], 6)).to.throw(ClusterMapError, /ghost/);
    });

    it('refuses to build a map older than its input', () => {
      expect(() => withShardPrimary(base, 'shard-0', 'r0', ['p0'], 4)).to.throw(SlotPlanError, /epoch of at least 5/);
      expect(() => withNodeAddresses(base, [], 4)).to.throw(SlotPlanError);
    });

    it('withShard adds a shard with its nodes, and replaces one, dropping members that left', () => {
      const added = withShard(base, { id: 'shard-2', slots: [], primary: 'p2', replicas: ['r2'] }, [node('p2', 8000), node('r2', 8001)], 6);
      expect(added.shards.map((s) => s.id)).to.deep.equal(['shard-0', 'shard-1', 'shard-2']);
      expect(added.nodes.map((n) => n.name)).to.include.members(['p2', 'r2']);
      const fewer = withShard(added, { id: 'shard-2', slots: [], primary: 'p2', replicas: [] }, [], 7);
      expect(fewer.nodes.map((n) => n.name)).to.not.include('r2');
      expect(fewer.shards[2]).to.deep.equal({ id: 'shard-2', slots: [], primary: 'p2', replicas: [] });
      const moved = withShard(fewer, { id: 'shard-2', slots: [], primary: 'p2', replicas: ['r2'] }, [node('p2', 8100), node('r2', 8101)], 8);
      expect(moved.nodes.find((n) => n.name === 'p2')!.port).to.equal(8100);
      expect(moved.nodes.filter((n) => n.name === 'p2')).to.have.length(1);
      expect(() => withShard(base, { id: 'shard-2', slots: [[0, 5]], primary: 'p2', replicas: [] }, [node('p2', 8000)], 6))
        .to.throw(ClusterMapError, /assigned to two shards/);
    });

    it('withoutShard removes an empty shard and its nodes, and refuses one that owns slots', () => {
      const m = mapOf([[[0, 16383]], []], 3);
      const out = withoutShard(m, 'shard-1', 4);
      expect(out.shards.map((s) => s.id)).to.deep.equal(['shard-0']);
      expect(out.nodes.map((n) => n.name)).to.deep.equal(['p0', 'r0']);
      expect(() => withoutShard(m, 'shard-0', 4)).to.throw(SlotPlanError, /still owns 16384 slots \(0-16383\)/);
      expect(() => withoutShard(m, 'shard-7', 4)).to.throw(SlotPlanError, /no shard shard-7/);
    });

    it('withNodeAddresses updates the listed nodes and ignores names not in the map', () => {
      const m = withNodeAddresses(base, [{ name: 'r1', host: '10.0.0.9', port: 6379, busPort: 16379 }, node('stranger')], 6);
      expect(m.nodes.find((n) => n.name === 'r1')).to.deep.equal({ name: 'r1', host: '10.0.0.9', port: 6379, busPort: 16379 });
      expect(m.nodes.map((n) => n.name)).to.deep.equal(base.nodes.map((n) => n.name));
      expect(m.shards).to.deep.equal(base.shards);
    });
  });
});
