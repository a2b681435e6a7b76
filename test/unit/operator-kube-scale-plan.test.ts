/**
 * The scale step's decision (operator/kube/reconcile/scale-plan.ts):
 * replicas before shards, a switchover first when a primary sits on an
 * ordinal a smaller StatefulSet would drop, and waiting while the cluster
 * bootstraps or another change runs. The property: following the plan,
 * resizeMembers always keeps exactly ordinals 0..r — what a StatefulSet of
 * r+1 replicas keeps.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ClusterMap } from '../../common/cluster-map.js';
import { initialState, resizeMembers } from '../../operator/core/initial-state.js';
import { nodeName, parseNodeName } from '../../operator/core/naming.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import type { ControllerState, ShardState } from '../../operator/core/state.js';
import { planScale } from '../../operator/kube/reconcile/scale-plan.js';

const MAP: ClusterMap = { epoch: 1, nodes: [], shards: [] };

function state(replicas: number, shards = 3, over: Partial<ControllerState> = {}): ControllerState {
  const s = initialState('iris', { ...DEFAULT_SPEC, shards, replicasPerShard: replicas });
  return { ...s, map: MAP, ...over };
}

function withPrimary(st: ControllerState, shardIndex: number, ordinal: number): ControllerState {
  const p = nodeName('iris', shardIndex, ordinal);
  return { ...st, shards: st.shards.map((s) => (s.index === shardIndex ? { ...s, currentPrimary: p, targetPrimary: p } : s)) };
}

describe('operator/kube scale plan', () => {
  it('does nothing when the spec matches, and waits while bootstrapping', () => {
    expect(planScale(state(1), { shards: 3, replicasPerShard: 1 })).to.deep.equal({ do: 'none' });
    expect(planScale({ ...state(1), map: null }, { shards: 4, replicasPerShard: 1 }).do).to.equal('wait');
  });

  it('scales replicas up and down directly when every primary keeps its ordinal', () => {
    expect(planScale(state(1), { shards: 3, replicasPerShard: 2 })).to.deep.include({ do: 'scale', request: { replicasPerShard: 2 } });
    expect(planScale(state(2), { shards: 3, replicasPerShard: 1 })).to.deep.include({ do: 'scale', request: { replicasPerShard: 1 } });
  });

  it('switches a primary on a dropped ordinal over to a kept one first', () => {
    const st = withPrimary(state(2), 1, 2);
    // Ordinals 0 and 1 stay; 1 is a replica the primary counts acknowledgements from, so it has every acknowledged write.
    expect(planScale(st, { shards: 3, replicasPerShard: 1 })).to.deep.include({ do: 'switchover', shard: 'shard-1', to: 'iris-shard-1-1' });
    const notInSync = { ...st, shards: st.shards.map((s) => (s.index === 1 ? { ...s, sync: { ...s.sync, replicas: ['iris-shard-1-0'] } } : s)) };
    expect(planScale(notInSync, { shards: 3, replicasPerShard: 1 })).to.deep.include({ do: 'switchover', to: 'iris-shard-1-0' });
    expect(planScale(st, { shards: 3, replicasPerShard: 0 })).to.deep.include({ do: 'switchover', to: 'iris-shard-1-0' });
  });

  it('does one thing at a time: replicas first, shards once no operation runs', () => {
    expect(planScale(state(1), { shards: 4, replicasPerShard: 2 })).to.deep.include({ do: 'scale', request: { replicasPerShard: 2 } });
    expect(planScale(state(1), { shards: 4, replicasPerShard: 1 })).to.deep.include({ do: 'scale', request: { shards: 4 } });
    const busy = state(1, 3, { operation: { kind: 'rebalance', id: 'op-1', reason: 'r', stage: 'migrate', shardsAfter: [], moves: [], done: 0, migration: null, keysMoved: 0, bytesMoved: 0, startedAt: 0, updatedAt: 0, error: null } });
    expect(planScale(busy, { shards: 2, replicasPerShard: 1 }).do).to.equal('wait');
  });

  it('waits for a change of primary before changing replicas', () => {
    const st = state(1);
    const moving: ShardState = { ...st.shards[0]!, failover: { kind: 'switchover', id: 's-1', oldPrimary: 'a', reason: 'r', stage: 'catchup', fenceEpoch: 2, promoteEpoch: 2, candidate: 'b', inSync: [], catchupSeq: 1, blocked: null, startedAt: 0, updatedAt: 0 } };
    expect(planScale({ ...st, shards: [moving, ...st.shards.slice(1)] }, { shards: 3, replicasPerShard: 2 }).do).to.equal('wait');
  });

  it('leaves members a StatefulSet can keep: ordinals 0..r (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.nat(), (from, to, primarySeed) => {
      let st = withPrimary(state(from, 1), 0, primarySeed % (from + 1));
      for (let step = 0; step < 3; step++) {
        const plan = planScale(st, { shards: 1, replicasPerShard: to });
        if (plan.do === 'switchover') {
          st = withPrimary(st, 0, parseNodeName('iris', plan.to)!.ordinal);
          continue;
        }
        if (plan.do === 'scale') {
          const members = resizeMembers('iris', st.shards[0]!, to);
          const ordinals = members.map((m) => parseNodeName('iris', m)!.ordinal).sort((a, b) => a - b);
          expect(ordinals).to.deep.equal(Array.from({ length: to + 1 }, (_, i) => i));
          return;
        }
        expect(plan.do).to.equal('none');
        expect(from).to.equal(to);
        return;
      }
      expect.fail('the plan did not converge in 3 steps');
    }));
  });
});
