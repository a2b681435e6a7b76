/**
 * Roles (operator/core/role-plan.ts): what each member of a shard is told,
 * when nothing may be said, and how a node's reported status compares.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ReplicationStatus, RoleRequest } from '../../common/replication.js';
import { desiredRole, roleDrift } from '../../operator/core/role-plan.js';
import type { FailoverProgress, ShardState } from '../../operator/core/state.js';

const shard: ShardState = {
  id: 'shard-0', index: 0, epoch: 4, members: ['c-shard-0-0', 'c-shard-0-1', 'c-shard-0-2'],
  currentPrimary: 'c-shard-0-1', targetPrimary: 'c-shard-0-1', failover: null, leaving: false,
  sync: { replicas: ['c-shard-0-0', 'c-shard-0-2'], acks: 1, target: null },
};
const addresses = new Map([['c-shard-0-1', { host: '127.0.0.2', busPort: 17001 }]]);

function status(over: Partial<ReplicationStatus>): ReplicationStatus {
  return {
    name: 'n', role: 'replica', epoch: 4, lastSeq: 0, history: [], minSyncReplicas: 1, effectiveMinSyncReplicas: 1, ackTimeoutMs: 1000,
    declaredReplicas: [], replicas: [], primary: null, backlog: { firstSeq: 1, lastSeq: 0 }, pendingAcks: 0, loading: false, declaredSeq: 0, ...over,
  };
}

function following(name: string, host: string, busPort: number): ReplicationStatus['primary'] {
  return { name, host, busPort, respHost: null, respPort: null, state: 'streaming', lastError: null, fullSyncs: 0, partialSyncs: 0, loading: null };
}

describe('operator/core/role-plan', () => {
  describe('desiredRole', () => {
    it('tells the primary its replicas and the others where the primary is', () => {
      expect(desiredRole(shard, 'c-shard-0-1', addresses)).to.deep.equal({ role: 'primary', epoch: 4, replicas: ['c-shard-0-0', 'c-shard-0-2'] });
      expect(desiredRole(shard, 'c-shard-0-2', addresses)).to.deep.equal({
        role: 'replica', epoch: 4, primary: { name: 'c-shard-0-1', host: '127.0.0.2', busPort: 17001 },
      });
    });

    it('says nothing to non-members, without the primary\'s address, or during a change of primary', () => {
      expect(desiredRole(shard, 'c-shard-1-0', addresses)).to.equal(null);
      expect(desiredRole(shard, 'c-shard-0-0', new Map())).to.equal(null);
      // The primary needs no address of its own.
      expect(desiredRole(shard, 'c-shard-0-1', new Map())).to.deep.include({ role: 'primary' });
      const failover: FailoverProgress = {
        kind: 'failover', id: 'f-1', oldPrimary: 'c-shard-0-1', reason: 'x', stage: 'fence', fenceEpoch: 5, promoteEpoch: 6,
        candidate: null, inSync: [], catchupSeq: null, blocked: null, startedAt: 0, updatedAt: 0,
      };
      expect(desiredRole({ ...shard, failover }, 'c-shard-0-0', addresses)).to.equal(null);
      expect(desiredRole({ ...shard, failover }, 'c-shard-0-1', addresses)).to.equal(null);
    });
  });

  describe('roleDrift', () => {
    const asPrimary: RoleRequest = { role: 'primary', epoch: 4, replicas: ['a', 'b'] };
    const asReplica: RoleRequest = { role: 'replica', epoch: 4, primary: { name: 'p', host: '10.0.0.1', busPort: 17000 } };

    it('none when role, epoch and replica set match (in any order)', () => {
      expect(roleDrift(asPrimary, status({ role: 'primary', declaredReplicas: ['b', 'a'] }))).to.equal('none');
      expect(roleDrift({ role: 'primary', epoch: 4 }, status({ role: 'primary', declaredReplicas: [] }))).to.equal('none');
    });

    it('none when a replica follows the same primary at the same address', () => {
      expect(roleDrift(asReplica, status({ primary: following('p', '10.0.0.1', 17000) }))).to.equal('none');
    });

    it('apply on any difference at the same or an older epoch', () => {
      expect(roleDrift(asPrimary, status({ role: 'primary', declaredReplicas: ['a'] }))).to.equal('apply');
      expect(roleDrift(asPrimary, status({ role: 'primary', epoch: 3, declaredReplicas: ['a', 'b'] }))).to.equal('apply');
      expect(roleDrift(asPrimary, status({ role: 'replica' }))).to.equal('apply');
      expect(roleDrift(asReplica, status({ primary: following('p', '10.0.0.2', 17000) }))).to.equal('apply');
      expect(roleDrift(asReplica, status({ primary: following('p', '10.0.0.1', 17001) }))).to.equal('apply');
      expect(roleDrift(asReplica, status({ primary: following('q', '10.0.0.1', 17000) }))).to.equal('apply');
      expect(roleDrift(asReplica, status({ primary: null }))).to.equal('apply');
      expect(roleDrift(asReplica, status({ role: 'primary' }))).to.equal('apply');
    });

    it('newer whenever the node is ahead of the request, never apply (property)', () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.constantFrom<'primary' | 'replica'>('primary', 'replica'), (want, has, role) => {
        const req: RoleRequest = role === 'primary' ? { ...asPrimary, epoch: want } : { ...asReplica, epoch: want };
        const d = roleDrift(req, status({ role, epoch: has, declaredReplicas: ['a', 'b'], primary: following('p', '10.0.0.1', 17000) }));
        expect(d).to.equal(has > want ? 'newer' : has === want ? 'none' : 'apply');
      }));
    });
  });
});
