/**
 * The recorded state of a new cluster and of the shards a scale-out adds
 * (operator/core/initial-state.ts): every replica counted, with
 * acks = min(minSyncReplicas, replicas); and replica rescaling: new members take
 * the lowest unused ordinals, removed ones are the highest that are neither
 * the primary nor the primary a change is heading to.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { initialState, newShard, resizeMembers } from '../../operator/core/initial-state.js';
import { nodeName, parseNodeName } from '../../operator/core/naming.js';
import { DEFAULT_SPEC, type ClusterSpec } from '../../operator/core/spec.js';
import { STATE_VERSION, type ShardState } from '../../operator/core/state.js';

const CLUSTER = 'iris';
const ordinal = (name: string): number => parseNodeName(CLUSTER, name)!.ordinal;

/** A shard of index 2 with the given member ordinals, primary and target primary (ordinals). */
function shardWith(ordinals: readonly number[], primary: number, target = primary): ShardState {
  const members = ordinals.map((o) => nodeName(CLUSTER, 2, o));
  return {
    ...newShard(CLUSTER, 2, 0, 1),
    members,
    currentPrimary: nodeName(CLUSTER, 2, primary),
    targetPrimary: nodeName(CLUSTER, 2, target),
    sync: { replicas: members.filter((m) => m !== nodeName(CLUSTER, 2, primary)), acks: Math.min(1, members.length - 1), target: null },
  };
}

/** A shard whose members are distinct random ordinals, with a primary and target primary among them. */
const randomShard = fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 7 }).chain((ords) => fc.record({
  ords: fc.constant(ords),
  primary: fc.constantFrom(...ords),
  target: fc.constantFrom(...ords),
})).map(({ ords, primary, target }) => shardWith(ords, primary, target));

describe('operator/core/initial-state', () => {
  describe('initialState', () => {
    it('records every shard at epoch 1 with ordinal 0 as primary and no map yet', () => {
      const spec: ClusterSpec = { ...DEFAULT_SPEC, shards: 2, replicasPerShard: 2 };
      const s = initialState(CLUSTER, spec);
      expect(s).to.deep.include({ version: STATE_VERSION, cluster: CLUSTER, spec, map: null, operation: null, nextId: 1 });
      expect(s.shards.map((x) => [x.id, x.index, x.epoch, x.currentPrimary, x.targetPrimary])).to.deep.equal([
        ['shard-0', 0, 1, 'iris-shard-0-0', 'iris-shard-0-0'],
        ['shard-1', 1, 1, 'iris-shard-1-0', 'iris-shard-1-0'],
      ]);
      expect(s.shards[1]!.members).to.deep.equal(['iris-shard-1-0', 'iris-shard-1-1', 'iris-shard-1-2']);
    });

    it('gives every shard 1 + replicasPerShard distinct nodes, every replica counted with acks = min(minSync, replicas), nothing in flight', () => {
      const arb = [fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })] as const;
      fc.assert(fc.property(...arb, (shards, replicas, minSync) => {
        const s = initialState(CLUSTER, { ...DEFAULT_SPEC, shards, replicasPerShard: replicas, minSyncReplicas: minSync });
        expect(s.shards).to.have.length(shards);
        const all = s.shards.flatMap((x) => x.members);
        expect(new Set(all).size).to.equal(shards * (replicas + 1));
        s.shards.forEach((x, i) => {
          expect(x.id).to.equal(`shard-${i}`);
          expect(x.members.map((m) => parseNodeName(CLUSTER, m))).to.deep.equal(
            Array.from({ length: replicas + 1 }, (_, j) => ({ shardIndex: i, ordinal: j })),
          );
          // No writes yet: every replica holds all of them.
          expect(x.sync).to.deep.equal({ replicas: x.members.slice(1), acks: Math.min(minSync, replicas), target: null });
          expect(x).to.deep.include({ failover: null, leaving: false, epoch: 1 });
        });
      }));
    });
  });

  describe('newShard', () => {
    it('names a scale-out\'s shard after its index', () => {
      expect(newShard(CLUSTER, 7, 1, 1)).to.deep.equal({
        id: 'shard-7', index: 7, epoch: 1, members: ['iris-shard-7-0', 'iris-shard-7-1'],
        currentPrimary: 'iris-shard-7-0', targetPrimary: 'iris-shard-7-0', failover: null, leaving: false,
        sync: { replicas: ['iris-shard-7-1'], acks: 1, target: null },
      });
    });

    it('counts every replica, with acks capped by the replicas there are', () => {
      expect(newShard(CLUSTER, 3, 0, 2).sync).to.deep.equal({ replicas: [], acks: 0, target: null });
      expect(newShard(CLUSTER, 3, 3, 2).sync).to.deep.equal({ replicas: ['iris-shard-3-1', 'iris-shard-3-2', 'iris-shard-3-3'], acks: 2, target: null });
      expect(newShard(CLUSTER, 3, 2, 0).sync.acks).to.equal(0);
    });
  });

  describe('resizeMembers', () => {
    it('adds the lowest unused ordinals', () => {
      expect(resizeMembers(CLUSTER, shardWith([0, 2], 0), 3).map(ordinal)).to.deep.equal([0, 2, 1, 3]);
      expect(resizeMembers(CLUSTER, shardWith([3], 3), 2).map(ordinal)).to.deep.equal([3, 0, 1]);
    });

    it('removes the highest ordinals that are neither the primary nor the target primary', () => {
      expect(resizeMembers(CLUSTER, shardWith([0, 1, 2, 3], 3), 1).map(ordinal)).to.deep.equal([0, 3]);
      expect(resizeMembers(CLUSTER, shardWith([0, 1, 2, 3], 3, 2), 1).map(ordinal)).to.deep.equal([2, 3]);
      expect(resizeMembers(CLUSTER, shardWith([0, 1, 2], 0), 0).map(ordinal)).to.deep.equal([0]);
    });

    it('keeps the primary and the target primary even below the size asked for', () => {
      expect(resizeMembers(CLUSTER, shardWith([0, 1, 2], 1, 2), 0).map(ordinal)).to.deep.equal([1, 2]);
    });

    it('leaves a shard of the right size as it is', () => {
      const s = shardWith([4, 0, 9], 9);
      expect(resizeMembers(CLUSTER, s, 2)).to.deep.equal(s.members);
    });

    it('sizes any shard as asked, by the ordinal rules, without touching the primary or the target primary', () => {
      fc.assert(fc.property(randomShard, fc.integer({ min: 0, max: 6 }), (shard, replicas) => {
        const out = resizeMembers(CLUSTER, shard, replicas);
        const protectedNames = new Set([shard.currentPrimary, shard.targetPrimary]);
        expect(new Set(out).size).to.equal(out.length);
        expect(out.length).to.equal(Math.max(replicas + 1, protectedNames.size));
        for (const p of protectedNames) expect(out).to.include(p);
        for (const m of out) expect(parseNodeName(CLUSTER, m)?.shardIndex).to.equal(shard.index);
        const before = shard.members.map(ordinal);
        const after = out.map(ordinal);
        if (out.length >= shard.members.length) {
          // Growing: every old member stays, in order; the new ones are the lowest unused ordinals.
          expect(out.slice(0, shard.members.length)).to.deep.equal(shard.members);
          const unused = Array.from({ length: 32 }, (_, i) => i).filter((o) => !before.includes(o));
          expect(after.slice(before.length)).to.deep.equal(unused.slice(0, after.length - before.length));
        } else {
          // Shrinking: the survivors keep their order, and every removed one is above every unprotected survivor.
          expect(shard.members.filter((m) => out.includes(m))).to.deep.equal(out);
          const removed = before.filter((o) => !after.includes(o));
          const keptFree = out.filter((m) => !protectedNames.has(m)).map(ordinal);
          for (const r of removed) for (const k of keptFree) expect(r).to.be.greaterThan(k);
        }
        // Resizing again to the size it has is a no-op.
        expect(resizeMembers(CLUSTER, { ...shard, members: out }, replicas)).to.deep.equal(out);
      }), { numRuns: 500 });
    });
  });
});
