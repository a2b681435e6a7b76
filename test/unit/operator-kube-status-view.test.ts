/**
 * The IrisCluster status (operator/kube/status-view.ts) from the
 * controller's ClusterStatus: phase, conditions and their reasons, the
 * ready count of the printer column, per-shard views and migration
 * progress; transition times kept while a condition holds.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ClusterStatus, NodeView, OperationView, ShardView } from '../../operator/core/observation.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import type { FailoverProgress } from '../../operator/core/state.js';
import type { Condition } from '../../operator/kube/iris-cluster.js';
import { slotsText, stampTransitions, statusView, type StatusViewInput } from '../../operator/kube/status-view.js';

function node(name: string, over: Partial<NodeView> = {}): NodeView {
  return { name, role: 'replica', up: true, host: '127.0.100.1', port: 6379, httpUrl: 'http://127.0.100.1:8080', epoch: 1, lastSeq: 5, lagOps: 0, lagMs: 0, link: 'streaming', restarts: 0, error: null, ...over };
}

function shard(i: number, over: Partial<ShardView> = {}): ShardView {
  const p = `iris-shard-${i}-0`;
  return {
    id: `shard-${i}`, slots: i === 0 ? [[0, 8191]] : [[8192, 16383]], slotCount: 8192, epoch: 1, primary: p, targetPrimary: p, failover: null, leaving: false,
    nodes: [node(p, { role: 'primary', link: null, lagOps: null, lagMs: null }), node(`iris-shard-${i}-1`)], ...over,
  };
}

function status(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return { cluster: 'iris', phase: 'Ready', spec: DEFAULT_SPEC, mapEpoch: 1, slotsAssigned: 16384, shards: [shard(0), shard(1)], operation: null, messages: [], updatedAt: 0, ...over };
}

function input(over: Partial<StatusViewInput> = {}): StatusViewInput {
  return { status: status(), generation: 4, previous: [], rollout: null, scaling: null, operatorProblem: null, deleting: false, now: '2026-01-01T00:00:00Z', ...over };
}

const cond = (v: ReturnType<typeof statusView>, type: string) => v.conditions.find((c) => c.type === type)!;

describe('operator/kube status view', () => {
  it('shows a healthy cluster as Ready, not progressing, not degraded, with every node ready', () => {
    const v = statusView(input());
    expect(v).to.deep.include({ phase: 'Ready', observedGeneration: 4, readyNodes: 4, nodes: 4, ready: '4/4', migration: null });
    expect([cond(v, 'Ready').status, cond(v, 'Ready').reason]).to.deep.equal(['True', 'ClusterReady']);
    expect([cond(v, 'Progressing').status, cond(v, 'Degraded').status]).to.deep.equal(['False', 'False']);
    expect(v.conditions.every((c) => c.observedGeneration === 4)).to.equal(true);
    expect(v.shards[0]).to.deep.equal({
      id: 'shard-0', slots: '0-8191', slotCount: 8192, primary: 'iris-shard-0-0', primaryUp: true, targetPrimary: 'iris-shard-0-0', epoch: 1,
      replicas: [{ name: 'iris-shard-0-1', lagOps: 0, lagMs: 0, link: 'streaming' }],
    });
  });

  it('counts a node ready only when it serves in its role', () => {
    const s0 = shard(0, { nodes: [node('iris-shard-0-0', { role: 'primary', link: null }), node('iris-shard-0-1', { link: 'full_sync' })] });
    const s1 = shard(1, { nodes: [node('iris-shard-1-0', { role: 'replica' }), node('iris-shard-1-1', { up: false, role: 'unknown', link: null, lagOps: null, lagMs: null })] });
    const v = statusView(input({ status: status({ phase: 'Unavailable', shards: [s0, s1], messages: ['shard-1: no primary serves its 8192 slots'] }) }));
    expect(v.ready).to.equal('1/4');
    expect(v.shards[1]!.replicas).to.deep.equal([{ name: 'iris-shard-1-1', link: 'down' }]);
    // shard-1's recorded primary answers as a replica: not up as primary (irisctl --kube status shows it down).
    expect(v.shards.map((s) => s.primaryUp)).to.deep.equal([true, false]);
    expect([cond(v, 'Ready').status, cond(v, 'Ready').reason, cond(v, 'Ready').message]).to.deep.equal(['False', 'Unavailable', 'shard-1: no primary serves its 8192 slots']);
    expect([cond(v, 'Degraded').status, cond(v, 'Degraded').reason]).to.deep.equal(['True', 'SlotsUnavailable']);
  });

  it('reports a failover as Progressing and in the shard, and a rebalance as migration progress', () => {
    const f: FailoverProgress = {
      kind: 'failover', id: 'failover-2', oldPrimary: 'iris-shard-0-0', reason: 'pod deleted', stage: 'promote', fenceEpoch: 2, promoteEpoch: 3,
      candidate: 'iris-shard-0-1', inSync: [], catchupSeq: null, blocked: null, startedAt: 0, updatedAt: 0,
    };
    const v = statusView(input({ status: status({ phase: 'Degraded', shards: [shard(0, { failover: f }), shard(1)], messages: ['shard-0: failover in progress'] }) }));
    expect([cond(v, 'Progressing').status, cond(v, 'Progressing').reason]).to.deep.equal(['True', 'Failover']);
    expect(v.shards[0]!.failover).to.equal('failover failover-2 from iris-shard-0-0 at stage promote');
    expect(v.shards[1]).to.not.have.property('failover');
    const op: OperationView = {
      id: 'op-3', kind: 'rebalance', reason: 'scale shards 3 → 4', stage: 'migrate', movesDone: 1, movesTotal: 3, slotsDone: 1365, slotsTotal: 4096,
      keysMoved: 100, bytesMoved: 1000, current: { id: 'm-4', from: 'shard-1', to: 'shard-3', slotCount: 1365, stage: 'copying', keysCopied: 20, bytesCopied: 200 }, error: null,
    };
    const w = statusView(input({ status: status({ operation: op }) }));
    expect(w.migration).to.deep.equal({ operation: 'op-3: scale shards 3 → 4', stage: 'migrate: shard-1 → shard-3 copying (20 keys copied)', movesDone: 1, movesTotal: 3, slotsDone: 1365, slotsTotal: 4096, keysMoved: 120 });
    expect([cond(w, 'Progressing').reason, cond(w, 'Ready').status]).to.deep.equal(['Rebalancing', 'True']);
  });

  it('says what the operator itself works at or is blocked on', () => {
    expect(cond(statusView(input({ rollout: '2 pods on an old revision: restarting iris-shard-0-1' })), 'Progressing').reason).to.equal('RollingUpdate');
    expect(cond(statusView(input({ scaling: 'replicas per shard 2 → 1' })), 'Progressing').reason).to.equal('Scaling');
    const blocked = statusView(input({ operatorProblem: 'shards 3 → 200 refused' }));
    expect([cond(blocked, 'Degraded').status, cond(blocked, 'Degraded').reason]).to.deep.equal(['True', 'OperatorBlocked']);
    const deleting = statusView(input({ deleting: true }));
    expect([deleting.phase, cond(deleting, 'Ready').reason]).to.deep.equal(['Deleting', 'Deleting']);
    expect(statusView(input({ status: status({ phase: 'Bootstrapping', messages: ['bootstrapping: 2 of 4 nodes answer'] }) })).conditions.find((c) => c.type === 'Progressing')!.reason).to.equal('Bootstrapping');
  });

  it('keeps a condition\'s transition time while its status holds, and stamps new transitions', () => {
    const first = stampTransitions(statusView(input()).conditions, '2026-01-01T00:00:00Z');
    const same = statusView(input({ previous: first, now: 'later' }));
    expect(cond(same, 'Ready').lastTransitionTime).to.equal('2026-01-01T00:00:00Z');
    const flipped = statusView(input({ previous: first, status: status({ phase: 'Degraded', messages: ['x'] }) }));
    expect(cond(flipped, 'Ready').lastTransitionTime, 'a new transition is stamped on write').to.equal('');
    expect(cond(flipped, 'Progressing').lastTransitionTime).to.equal('2026-01-01T00:00:00Z');
    const stamped: Condition[] = stampTransitions(flipped.conditions, '2026-01-02T00:00:00Z');
    expect(stamped.find((c) => c.type === 'Ready')!.lastTransitionTime).to.equal('2026-01-02T00:00:00Z');
  });

  it('writes integers the CRD accepts and clips long messages', () => {
    const s = shard(0, { nodes: [node('iris-shard-0-0', { role: 'primary', link: null }), node('iris-shard-0-1', { lagOps: 3.6, lagMs: 12.2 })] });
    const v = statusView(input({ status: status({ shards: [s], phase: 'Degraded', messages: ['y'.repeat(5000)] }) }));
    expect(v.shards[0]!.replicas[0]).to.deep.include({ lagOps: 4, lagMs: 12 });
    expect(cond(v, 'Ready').message.length).to.be.at.most(1000);
  });

  it('prints slot ranges the way CLUSTER SLOTS users read them', () => {
    expect(slotsText([[0, 5460], [10923, 10923]])).to.equal('0-5460,10923');
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 16383 }), fc.integer({ min: 0, max: 100 })), { maxLength: 10 }), (pairs) => {
      const ranges = pairs.map(([a, n]) => [a, Math.min(16383, a + n)] as const);
      const text = slotsText(ranges);
      const back = text === '' ? [] : text.split(',').map((p) => p.split('-').map(Number));
      expect(back.map((r) => [r[0], r[1] ?? r[0]])).to.deep.equal(ranges.map((r) => [...r]));
    }));
  });
});
