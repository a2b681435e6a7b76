/**
 * The failover decisions (operator/core/failover-step.ts) on plain data:
 * the quorum rule over the recorded sync set, what each stage records next,
 * and when a failed step is retried rather than changing course.
 */
import { expect } from 'chai';
import type { ReplicationStatus } from '../../common/replication.js';
import {
  afterCandidateLost, afterCatchup, afterFence, afterRestrict, alreadyPromoted, CATCHUP_TIMEOUT_MS, fenceChoice, fencePlan, firstReplicas,
  newFailover, oldPrimaryIntact, promotePlan, publishPatch, restrictRecord, switchoverToFailover,
} from '../../operator/core/failover-step.js';
import type { NodeObservation } from '../../operator/core/observation.js';
import { bootstrapMap } from '../../operator/core/slot-plan.js';
import type { FailoverProgress, ShardState } from '../../operator/core/state.js';

const shard: ShardState = {
  id: 'shard-0', index: 0, epoch: 4, members: ['n0', 'n1', 'n2'], currentPrimary: 'n0', targetPrimary: 'n0',
  failover: null, leaving: false, sync: { replicas: ['n1', 'n2'], acks: 1, target: null },
};

function status(name: string, over: Partial<ReplicationStatus> = {}): ReplicationStatus {
  return {
    name, role: 'replica', epoch: 5, lastSeq: 10, history: [{ epoch: 4, id: 't', firstSeq: 1 }], minSyncReplicas: 1, effectiveMinSyncReplicas: 0,
    ackTimeoutMs: 1000, declaredReplicas: [], replicas: [], primary: null, backlog: { firstSeq: 1, lastSeq: 10 }, pendingAcks: 0, loading: false, declaredSeq: 0,
    ...over,
  };
}

function obs(name: string, over: Partial<NodeObservation> = {}): NodeObservation {
  return { name, shard: 'shard-0', endpoint: null, running: true, status: status(name), missed: 0, mapEpoch: 1, error: null, restarts: 0, ...over };
}

const failover = newFailover(shard, 'failover', 'failover-7', 'n0 failed', null, 100);
const spec = { minSyncReplicas: 1, dataDurability: 'required' as const };

describe('operator/core/failover-step', () => {
  it('starts a failover at fence and a switchover at restrict, with epochs above the shard\'s', () => {
    expect(failover).to.include({ stage: 'fence', fenceEpoch: 5, promoteEpoch: 6, oldPrimary: 'n0', candidate: null, blocked: null });
    expect(failover.inSync).to.deep.equal([]);
    const sw = newFailover(shard, 'switchover', 'switchover-8', 'asked', 'n2', 100);
    expect(sw).to.include({ stage: 'restrict', fenceEpoch: 5, promoteEpoch: 5, candidate: 'n2' });
    expect(sw.inSync).to.deep.equal(['n1']);
  });

  it('fences every survivor and demotes the old primary to follow the first of them', () => {
    expect(fencePlan(shard, failover)).to.deep.equal({ survivors: ['n1', 'n2'], demoteOldToFollow: 'n1' });
  });

  describe('the quorum rule (fenceChoice)', () => {
    const answers = (entries: Array<[string, ReplicationStatus | null]>) => new Map(entries);

    it('promotes the most caught-up of the recorded replicas once n − k + 1 answered', () => {
      const c = fenceChoice(shard, failover, 1, answers([['n1', status('n1', { lastSeq: 9 })], ['n2', status('n2', { lastSeq: 12 })]]));
      expect(c).to.deep.include({ ok: true, candidate: 'n2', answered: ['n1', 'n2'] });
    });

    it('refuses with fewer, saying who did not answer', () => {
      const c = fenceChoice(shard, failover, 1, answers([['n1', status('n1')], ['n2', null]]));
      expect(c.ok).to.equal(false);
      expect(!c.ok && c.reason).to.match(/^no promotion: 1 of 2 replicas answered .*not answering: n2 \(no answer\)/);
    });

    it('counts only the replicas the record says hold every acknowledged write', () => {
      const narrow: ShardState = { ...shard, sync: { replicas: ['n1'], acks: 1, target: null } };
      // n2 answers ahead but is not in the record: n1 alone is the quorum.
      const c = fenceChoice(narrow, failover, 1, answers([['n1', status('n1', { lastSeq: 9 })], ['n2', status('n2', { lastSeq: 12 })]]));
      expect(c).to.deep.include({ ok: true, candidate: 'n1' });
    });

    it('refuses when the record guarantees no replica holds the writes (acks 0 with minSyncReplicas > 0, or no replica)', () => {
      const none: ShardState = { ...shard, sync: { replicas: ['n1', 'n2'], acks: 0, target: null } };
      const c = fenceChoice(none, failover, 1, answers([['n1', status('n1')], ['n2', status('n2')]]));
      expect(!c.ok && c.reason).to.equal('no promotion: no replica of shard-0 is known to hold every write n0 acknowledged (they were acknowledged with 0 of n1, n2); waiting for n0 to come back');
      const empty: ShardState = { ...shard, sync: { replicas: ['n0'], acks: 1, target: null } };
      expect(fenceChoice(empty, failover, 1, answers([])).ok).to.equal(false);
    });

    it('with minSyncReplicas 0 needs every replica (nothing is guaranteed anywhere)', () => {
      expect(fenceChoice(shard, failover, 0, answers([['n1', status('n1')], ['n2', null]])).ok).to.equal(false);
      expect(fenceChoice(shard, failover, 0, answers([['n1', status('n1')], ['n2', status('n2')]])).ok).to.equal(true);
    });
  });

  describe('after the fence (afterFence)', () => {
    const refused = { ok: false as const, reason: 'no promotion: 1 of 2' };

    it('records the candidate as targetPrimary and moves to promote, keeping the other answerers in sync', () => {
      const d = afterFence(shard, failover, { ok: true, candidate: 'n2', position: { epoch: 4, seq: 12 }, answered: ['n1', 'n2'] }, false, 200);
      expect(d.do).to.equal('record');
      if (d.do !== 'record') return;
      expect(d.patch.targetPrimary).to.equal('n2');
      expect(d.patch.failover).to.include({ stage: 'promote', candidate: 'n2', blocked: null, updatedAt: 200 });
      expect(d.patch.failover!.inSync).to.deep.equal(['n1']);
      expect(d.event?.reason).to.equal('CandidateChosen');
    });

    it('records a refusal once (the same reason again records nothing)', () => {
      const d = afterFence(shard, failover, refused, false, 200);
      expect(d.do === 'record' && d.patch.failover!.blocked).to.equal(refused.reason);
      expect(d.do === 'record' && d.event?.reason).to.equal('PromotionRefused');
      expect(afterFence(shard, { ...failover, blocked: refused.reason }, refused, false, 300)).to.deep.equal({ do: 'wait' });
    });

    it('promotes the old primary back when it answers intact and too few replicas do (a failover only)', () => {
      const d = afterFence(shard, failover, refused, true, 200);
      expect(d.do === 'record' && d.patch).to.deep.include({ targetPrimary: 'n0' });
      expect(d.do === 'record' && d.patch.failover).to.include({ stage: 'promote', candidate: 'n0' });
      expect(oldPrimaryIntact(status('n0', { role: 'primary', epoch: 4 }), 5)).to.equal(true);
      expect(oldPrimaryIntact(status('n0', { epoch: 6 }), 5)).to.equal(false);
      expect(oldPrimaryIntact(null, 5)).to.equal(false);
    });
  });

  describe('promote', () => {
    const chosen: FailoverProgress = { ...failover, stage: 'promote', candidate: 'n1', inSync: ['n2'] };

    it('promotes the candidate counting the answerers, re-points the others but not a dead old primary', () => {
      expect(promotePlan(shard, chosen, spec)).to.deep.equal({ stepDown: null, candidate: 'n1', replicas: ['n2'], repoint: ['n2'] });
      const sw: FailoverProgress = { ...chosen, kind: 'switchover' };
      expect(promotePlan(shard, sw, spec)).to.deep.equal({ stepDown: 'n0', candidate: 'n1', replicas: ['n2'], repoint: ['n0', 'n2'] });
    });

    it('fills the first replicas up to minSyncReplicas with durability required, the old primary last', () => {
      const none: FailoverProgress = { ...chosen, inSync: [] };
      expect(firstReplicas(shard, none, { minSyncReplicas: 1, dataDurability: 'required' })).to.deep.equal(['n2']);
      expect(firstReplicas(shard, none, { minSyncReplicas: 2, dataDurability: 'required' })).to.deep.equal(['n2', 'n0']);
      expect(firstReplicas(shard, none, { minSyncReplicas: 2, dataDurability: 'preferred' })).to.deep.equal([]);
    });

    it('does not promote a candidate that already leads at promoteEpoch', () => {
      expect(alreadyPromoted(status('n1', { role: 'primary', epoch: 6 }), chosen)).to.equal(true);
      expect(alreadyPromoted(status('n1', { role: 'replica', epoch: 6 }), chosen)).to.equal(false);
    });

    it('retries a lost candidate until it counts as failed, then fences again above every epoch used', () => {
      expect(afterCandidateLost(shard, chosen, obs('n1', { missed: 2 }), 3, 'timeout', 300)).to.deep.equal({ do: 'retry', why: 'timeout' });
      const d = afterCandidateLost(shard, chosen, obs('n1', { missed: 3, status: null }), 3, 'timeout', 300);
      expect(d.do === 'record' && d.patch.targetPrimary).to.equal('n0');
      expect(d.do === 'record' && d.patch.failover).to.include({ stage: 'fence', candidate: null, fenceEpoch: 7, promoteEpoch: 8, kind: 'failover' });
      expect(d.do === 'record' && d.event?.reason).to.equal('CandidateLost');
    });
  });

  it('publishes: currentPrimary, epoch and the map in one patch; the sync guarantee starts again from the first replicas', () => {
    const nodes = ['n0', 'n1', 'n2'].map((name, i) => ({ name, host: '127.0.0.1', port: 7000 + i, busPort: 17000 + i }));
    const map = bootstrapMap([{ id: 'shard-0', primary: 'n0', replicas: ['n1', 'n2'] }], nodes, 3);
    const p = publishPatch(shard, { ...failover, stage: 'publish', candidate: 'n1', inSync: ['n2'] }, map, spec, 1100);
    expect(p.patch).to.deep.include({ epoch: 6, currentPrimary: 'n1', targetPrimary: 'n1', failover: null });
    expect(p.patch.sync).to.deep.equal({ replicas: [], acks: 0, target: { replicas: ['n2'], seq: null } });
    expect(p.map!.epoch).to.equal(4);
    expect(p.map!.shards[0]).to.deep.include({ primary: 'n1' });
    expect(p.event).to.deep.include({ reason: 'FailoverFinished' });
    expect(p.tookMs).to.equal(1000);
  });

  describe('switchover', () => {
    const sw = newFailover(shard, 'switchover', 'switchover-8', 'asked', 'n2', 100);

    it('restricts: the record first (the candidate joins, the guarantee drops to what it alone gives), then catchup from the primary\'s sequence', () => {
      const record = restrictRecord(shard, sw, 2);
      expect(record).to.deep.equal({ replicas: ['n1', 'n2'], acks: 1, target: { replicas: ['n2'], seq: null } });
      const patch = afterRestrict(sw, record, 42, 200);
      expect(patch.sync).to.deep.equal({ replicas: ['n1', 'n2'], acks: 1, target: { replicas: ['n2'], seq: 42 } });
      expect(patch.failover).to.include({ stage: 'catchup', catchupSeq: 42 });
    });

    it('promotes once the candidate acknowledged catchupSeq, waits before, gives up after the timeout', () => {
      const catching: FailoverProgress = { ...sw, stage: 'catchup', catchupSeq: 42, updatedAt: 1000 };
      const link = (ackedSeq: number) => status('n0', { role: 'primary', replicas: [{ name: 'n2', host: 'h', port: 1, busPort: 2, connected: true, state: 'online', ackedSeq, lagOps: 0, lagMs: 0, fullSync: null }] });
      const ready = afterCatchup(shard, catching, link(42), 1001);
      expect(ready.do === 'record' && ready.patch).to.deep.include({ targetPrimary: 'n2' });
      expect(afterCatchup(shard, catching, link(41), 1000 + CATCHUP_TIMEOUT_MS)).to.deep.equal({ do: 'wait' });
      const gaveUp = afterCatchup(shard, catching, link(41), 1001 + CATCHUP_TIMEOUT_MS);
      expect(gaveUp.do === 'record' && gaveUp.patch).to.deep.equal({ failover: null, targetPrimary: 'n0' });
      expect(gaveUp.do === 'record' && gaveUp.event?.reason).to.equal('SwitchoverAbandoned');
    });

    it('turns into a failover above every epoch it may have used once the old primary stops answering, retries before', () => {
      expect(switchoverToFailover(shard, sw, obs('n0'), 3, 'timeout', 300)).to.deep.equal({ do: 'retry', why: 'timeout' });
      const d = switchoverToFailover(shard, sw, obs('n0', { status: null, missed: 1 }), 3, 'timeout', 300);
      expect(d.do === 'record' && d.patch.failover).to.include({ kind: 'failover', stage: 'fence', fenceEpoch: 6, promoteEpoch: 7 });
      expect(d.do === 'record' && d.patch.failover!.reason).to.equal('asked; turned into a failover: timeout');
    });
  });
});
