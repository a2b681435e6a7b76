/**
 * Why a shard refuses writes and since when (issue #13): the node's verdict
 * (common/writability.ts), the NOREPLICAS text that quotes it, the shard's
 * writesRefused in the controller's status, `irisctl status`'s line and the
 * IrisCluster WritesAvailable condition. Plain data, fake time.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ReplicaStatus, ReplicationStatus } from '../../common/replication.js';
import { WritabilityTracker, goodReplica, judgeWritability, refusalText, type WritabilityFacts } from '../../common/writability.js';
import { AckGate, AckTimeoutError } from '../../node/replication/ack-gate.js';
import { renderWritesRefused } from '../../operator/cli/render-status.js';
import type { ClusterStatus, NodeView, ShardView } from '../../operator/core/observation.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import { shardWritesRefused } from '../../operator/core/status-view.js';
import { writesCondition } from '../../operator/kube/writes-condition.js';

function replica(name: string, over: Partial<ReplicaStatus> = {}): ReplicaStatus {
  return { name, host: '127.0.0.1', port: 7001, busPort: 17001, connected: true, state: 'online', ackedSeq: 10, lagOps: 0, lagMs: 0, fullSync: null, ...over };
}

function facts(over: Partial<WritabilityFacts> = {}): WritabilityFacts {
  return {
    role: 'primary', primaryName: null, fenced: null, mapless: false, minSyncReplicas: 1, effectiveMinSyncReplicas: 1,
    declaredReplicas: ['r1'], replicas: [replica('r1')], maxLagMs: 1000, ...over,
  };
}

describe('writability: why a node refuses writes', () => {
  it('accepts writes with enough good replicas', () => {
    expect(judgeWritability(facts())).to.deep.equal({ ok: true, detail: '1 of 1 replicas streaming (minSyncReplicas=1)' });
    expect(judgeWritability(facts({ minSyncReplicas: 0, effectiveMinSyncReplicas: 0, replicas: [] })).ok).to.equal(true);
  });

  it('names each missing replica and the counts when too few are good', () => {
    const v = judgeWritability(facts({ replicas: [replica('r1', { connected: false, state: 'handshake' })] }));
    expect(v).to.deep.equal({ ok: false, reason: 'no-sync-replica', detail: 'no replica acknowledges (minSyncReplicas=1, 0 of 1 replicas streaming: r1 disconnected)' });
    const slow = judgeWritability(facts({ replicas: [replica('r1', { lagMs: 1500 })] }));
    expect(slow.detail).to.contain('r1 not acknowledging for 1500 ms');
    const syncing = judgeWritability(facts({ replicas: [replica('r1', { state: 'full_sync' })] }));
    expect(syncing.detail).to.contain('r1 in full_sync');
  });

  it('ranks the reasons: replica, self-fence, no map, then replicas', () => {
    const bad = { replicas: [replica('r1', { connected: false })] };
    expect(judgeWritability(facts({ ...bad, role: 'replica', primaryName: 'p' })).reason).to.equal('not-primary');
    expect(judgeWritability(facts({ ...bad, fenced: 'peer x reported epoch 7' }))).to.deep.equal({ ok: false, reason: 'self-fenced', detail: 'fenced itself: peer x reported epoch 7' });
    expect(judgeWritability(facts({ ...bad, mapless: true })).reason).to.equal('no-cluster-map');
  });

  it('counts only declared replicas, and good ones as Redis does (connected, online, acknowledging in time)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ connected: fc.boolean(), online: fc.boolean(), lagMs: fc.nat(3000), declared: fc.boolean() }), { maxLength: 5 }),
      fc.nat(5),
      (rs, min) => {
        const replicas = rs.map((r, i) => replica(`r${i}`, { connected: r.connected, state: r.online ? 'online' : 'catchup', lagMs: r.lagMs }));
        const declared = replicas.filter((_, i) => rs[i]!.declared).map((r) => r.name);
        const eff = Math.min(min, declared.length);
        const v = judgeWritability(facts({ replicas, declaredReplicas: declared, minSyncReplicas: min, effectiveMinSyncReplicas: eff }));
        const good = replicas.filter((r) => declared.includes(r.name) && goodReplica(r, 1000)).length;
        expect(v.ok).to.equal(good >= eff);
        if (!v.ok) expect(v.detail).to.contain(`${good} of ${declared.length} replicas streaming`);
      },
    ));
  });

  it('keeps since while the reason holds and restamps it when the reason changes', () => {
    const t = new WritabilityTracker();
    const base = Date.parse('2026-12-06T12:03:04Z');
    const refused = judgeWritability(facts({ replicas: [replica('r1', { connected: false })] }));
    expect(t.update(judgeWritability(facts()), base - 5000).since).to.equal('2026-12-06T12:02:59.000Z');
    expect(t.update(refused, base).since).to.equal('2026-12-06T12:03:04.000Z');
    const later = t.update(refused, base + 38_000);
    expect(later.since).to.equal('2026-12-06T12:03:04.000Z');
    expect(refusalText('iris-0-0', later)).to.equal('iris-0-0: no replica acknowledges (minSyncReplicas=1, 0 of 1 replicas streaming: r1 disconnected) since 12:03:04Z');
    const back = t.update(judgeWritability(facts()), base + 40_000);
    expect([back.ok, back.since]).to.deep.equal([true, '2026-12-06T12:03:44.000Z']);
    expect(refusalText('iris-0-0', back)).to.equal(null);
  });

  it('quotes the reason in the NOREPLICAS text, after Redis\'s own first words', () => {
    let fire: (() => void) | null = null;
    const gate = new AckGate({
      minAcks: 1, ackTimeoutMs: 100,
      timers: { now: () => 0, setTimer: (fn) => { fire = fn; return { cancel: () => { fire = null; } }; } },
      explain: () => 'iris-0-0: no replica acknowledges since 12:03:04Z',
    });
    gate.setVoters(['r1']);
    let got: Error | null = null;
    gate.hold(1, null, (e) => { got = e; });
    expect(fire).to.not.equal(null);
    fire!();
    expect(got).to.be.instanceOf(AckTimeoutError);
    expect((got as unknown as AckTimeoutError).respMessage).to.equal(
      'NOREPLICAS Not enough good replicas to write (iris-0-0: no replica acknowledges since 12:03:04Z): minSyncReplicas=1 did not acknowledge ' +
        'within 100 ms (acknowledged by 0); it is applied on the primary and may or may not survive a failover',
    );
  });
});

function nodeView(name: string, over: Partial<NodeView> = {}): NodeView {
  return { name, role: 'primary', up: true, host: '127.0.0.1', port: 7000, httpUrl: null, epoch: 1, lastSeq: 1, lagOps: null, lagMs: null, link: null, restarts: 0, error: null, ...over };
}

function shardView(over: Partial<ShardView> = {}): ShardView {
  return {
    id: 'shard-1', slots: [[0, 16383]], slotCount: 16384, epoch: 1, primary: 'iris-1-0', targetPrimary: 'iris-1-0', failover: null, leaving: false,
    nodes: [nodeView('iris-1-0'), nodeView('iris-1-1', { role: 'replica', link: 'streaming' })], ...over,
  };
}

function clusterStatus(shards: ShardView[], phase: ClusterStatus['phase'] = 'Degraded'): ClusterStatus {
  return { cluster: 'iris', phase, spec: DEFAULT_SPEC, mapEpoch: 1, slotsAssigned: 16384, shards, operation: null, messages: [], updatedAt: 0 };
}

describe('writability: what the controller, irisctl and Kubernetes show', () => {
  const refused = { reason: 'no-sync-replica' as const, since: '2026-12-06T12:03:04.000Z', detail: 'no replica acknowledges (minSyncReplicas=1, 0 of 1 replicas streaming: iris-1-1 disconnected)' };

  it('takes a shard\'s refusal from its primary only, and only when the primary says so', () => {
    const st = { role: 'primary', writable: { ok: false, ...refused } } as unknown as ReplicationStatus;
    expect(shardWritesRefused(st)).to.deep.equal(refused);
    expect(shardWritesRefused({ ...st, role: 'replica' } as ReplicationStatus)).to.equal(null);
    expect(shardWritesRefused({ role: 'primary', writable: { ok: true, since: refused.since, detail: 'x' } } as unknown as ReplicationStatus)).to.equal(null);
    // A node from before the report: nothing claimed.
    expect(shardWritesRefused({ role: 'primary' } as unknown as ReplicationStatus)).to.equal(null);
    expect(shardWritesRefused(null)).to.equal(null);
  });

  it('prints WRITES REFUSED with the time, the age and the reason', () => {
    const lines = renderWritesRefused(shardView({ writesRefused: refused }), Date.parse(refused.since) + 38_000, false);
    expect(lines).to.deep.equal([`  WRITES REFUSED since 12:03:04 (38 s): no-sync-replica: ${refused.detail}`]);
    expect(renderWritesRefused(shardView(), 0, false)).to.deep.equal([]);
  });

  it('sets WritesAvailable False with the reason and every refusing shard, True when all take writes', () => {
    const c = writesCondition(clusterStatus([shardView({ writesRefused: refused })]));
    expect([c.type, c.status, c.reason]).to.deep.equal(['WritesAvailable', 'False', 'NoSyncReplica']);
    expect(c.message).to.equal(`shard-1: writes refused since ${refused.since}: ${refused.detail}`);
    const down = writesCondition(clusterStatus([shardView({ nodes: [nodeView('iris-1-0', { up: false, role: 'unknown', error: 'ECONNREFUSED' })] })], 'Unavailable'));
    expect([down.status, down.reason, down.message]).to.deep.equal(['False', 'NoPrimary', 'shard-1: no primary answers for its 16384 slots (ECONNREFUSED)']);
    // A shard with no slots (being added or removed) costs no writes.
    expect(writesCondition(clusterStatus([shardView({ slotCount: 0, slots: [], nodes: [nodeView('iris-1-0', { up: false })] })])).status).to.equal('True');
    expect(writesCondition(clusterStatus([shardView()], 'Ready'))).to.deep.include({ status: 'True', reason: 'WritesAccepted' });
    expect(writesCondition(clusterStatus([], 'Bootstrapping'))).to.deep.include({ status: 'Unknown', reason: 'Bootstrapping' });
  });
});
