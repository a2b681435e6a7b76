/**
 * Which replicas the cluster map names (operator/core/map-membership.ts):
 * a new member enters only once it follows the shard's primary at the shard's
 * epoch, so clients never reach a node that would take writes as a standalone.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ReplicationStatus } from '../../common/replication.js';
import { mapReplicas } from '../../operator/core/map-membership.js';

const shard = { members: ['c-shard-0-0', 'c-shard-0-1', 'c-shard-0-2'], currentPrimary: 'c-shard-0-0', epoch: 3 };

function status(over: Partial<ReplicationStatus>): ReplicationStatus {
  return {
    name: 'n', role: 'replica', epoch: 3, lastSeq: 0, history: [], minSyncReplicas: 1, effectiveMinSyncReplicas: 1, ackTimeoutMs: 1000,
    declaredReplicas: [], replicas: [], primary: null, backlog: { firstSeq: 1, lastSeq: 0 }, pendingAcks: 0, loading: false, declaredSeq: 0, ...over,
  };
}

function following(name: string): ReplicationStatus['primary'] {
  return { name, host: '127.0.0.1', busPort: 17000, respHost: null, respPort: null, state: 'connecting', lastError: null, fullSyncs: 0, partialSyncs: 0, loading: null };
}

describe('operator/core/map-membership', () => {
  it('keeps members already in the map and leaves out the primary', () => {
    expect(mapReplicas(shard, ['c-shard-0-1', 'c-shard-0-2'], () => null)).to.deep.equal(['c-shard-0-1', 'c-shard-0-2']);
  });

  it('adds a new member only once it reports itself a replica of the primary at the shard epoch', () => {
    const inMap = ['c-shard-0-1'];
    // No status, a fresh node (standalone primary at epoch 0), a replica of someone else, an older epoch: not yet.
    expect(mapReplicas(shard, inMap, () => null)).to.deep.equal(['c-shard-0-1']);
    expect(mapReplicas(shard, inMap, () => status({ role: 'primary', epoch: 0 }))).to.deep.equal(['c-shard-0-1']);
    expect(mapReplicas(shard, inMap, () => status({ primary: following('c-shard-0-1') }))).to.deep.equal(['c-shard-0-1']);
    expect(mapReplicas(shard, inMap, () => status({ epoch: 2, primary: following('c-shard-0-0') }))).to.deep.equal(['c-shard-0-1']);
    // Following the primary (even before its first sync): in.
    expect(mapReplicas(shard, inMap, () => status({ primary: following('c-shard-0-0') }))).to.deep.equal(['c-shard-0-1', 'c-shard-0-2']);
  });

  it('drops a node that is no longer a member', () => {
    expect(mapReplicas({ ...shard, members: ['c-shard-0-0', 'c-shard-0-1'] }, ['c-shard-0-1', 'c-shard-0-2'], () => null)).to.deep.equal(['c-shard-0-1']);
  });

  it('never names a node that is neither in the map nor following the primary (property)', () => {
    const names = ['c-shard-0-0', 'c-shard-0-1', 'c-shard-0-2', 'c-shard-0-3'];
    fc.assert(fc.property(
      fc.subarray(names, { minLength: 1 }), fc.subarray(names), fc.func(fc.oneof(fc.constant(null), fc.record({
        role: fc.constantFrom('primary' as const, 'replica' as const), epoch: fc.integer({ min: 0, max: 4 }), primary: fc.option(fc.constantFrom(...names)),
      }))),
      (members, inMap, gen) => {
        const s = { members, currentPrimary: members[0]!, epoch: 3 };
        const statusOf = (n: string): ReplicationStatus | null => {
          const g = gen(n);
          return g === null ? null : status({ role: g.role, epoch: g.epoch, primary: g.primary === null ? null : following(g.primary) });
        };
        for (const r of mapReplicas(s, inMap, statusOf)) {
          expect(r).to.not.equal(s.currentPrimary);
          expect(members).to.include(r);
          const st = statusOf(r);
          const follows = st !== null && st.role === 'replica' && st.epoch === 3 && st.primary?.name === s.currentPrimary;
          expect(inMap.includes(r) || follows).to.equal(true);
        }
      },
    ));
  });
});
