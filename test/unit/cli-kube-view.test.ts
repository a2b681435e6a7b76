/**
 * `irisctl --kube status`: the IrisCluster resource (its status as the
 * operator writes it with operator/kube/status-view.ts, and its record) read
 * back as the ClusterStatus the local renderers show (operator/cli/kube-view.ts). Pure.
 */
import { expect } from 'chai';
import { renderStatus } from '../../operator/cli/render-status.js';
import { renderProgress } from '../../operator/cli/render-progress.js';
import { clusterStatusOf, parseSlots } from '../../operator/cli/kube-view.js';
import { initialState } from '../../operator/core/initial-state.js';
import type { ClusterStatus, NodeView, ShardView } from '../../operator/core/observation.js';
import { bootstrapMap } from '../../operator/core/slot-plan.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import type { ControllerState, FailoverProgress } from '../../operator/core/state.js';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';
import { REQUEST_ANNOTATION } from '../../operator/kube/request.js';
import { statusView } from '../../operator/kube/status-view.js';

const SPEC = { ...DEFAULT_SPEC, shards: 2, replicasPerShard: 1 };

function record(over: Partial<ControllerState> = {}): ControllerState {
  const base = initialState('iris', SPEC);
  const nodes = base.shards.flatMap((s) => s.members.map((m, j) => ({ name: m, host: `10.0.${s.index}.${j}`, port: 6379, busPort: 16379 })));
  const map = bootstrapMap(base.shards.map((s) => ({ id: s.id, primary: s.currentPrimary, replicas: s.members.slice(1) })), nodes, 3);
  return { ...base, map, ...over };
}

function node(name: string, over: Partial<NodeView> = {}): NodeView {
  return { name, role: 'replica', up: true, host: null, port: null, httpUrl: null, epoch: 1, lastSeq: 5, lagOps: 3, lagMs: 12, link: 'streaming', restarts: 0, error: null, ...over };
}

function shard(i: number, over: Partial<ShardView> = {}): ShardView {
  const p = `iris-shard-${i}-0`;
  return {
    id: `shard-${i}`, slots: i === 0 ? [[0, 8191]] : [[8192, 16383]], slotCount: 8192, epoch: 1, primary: p, targetPrimary: p, failover: null, leaving: false,
    nodes: [node(p, { role: 'primary', link: null, lagOps: null, lagMs: null }), node(`iris-shard-${i}-1`)], ...over,
  };
}

/** What the operator would write for `st` and `rec`, as the API server serves it. */
function resource(st: ClusterStatus, rec: ControllerState, over: { generation?: number; annotations?: Record<string, string> } = {}): IrisCluster {
  const view = statusView({ status: st, generation: 4, previous: [], rollout: null, scaling: null, operatorProblem: null, deleting: false, now: '2026-01-01T00:00:00Z' });
  return {
    metadata: { name: 'iris', namespace: 'db', generation: over.generation ?? 4, ...(over.annotations !== undefined ? { annotations: over.annotations } : {}) },
    spec: { shards: 2, replicasPerShard: 1 },
    status: JSON.parse(JSON.stringify({ ...view, controllerState: rec })) as IrisCluster['status'],
  };
}

const ready: ClusterStatus = { cluster: 'iris', phase: 'Ready', spec: SPEC, mapEpoch: 3, slotsAssigned: 16384, shards: [shard(0), shard(1)], operation: null, messages: [], updatedAt: 0 };

describe('irisctl --kube: the IrisCluster resource as a ClusterStatus', () => {
  it('gives back what the operator saw of a Ready cluster: shards, slots, roles, links, lag, addresses from the record', () => {
    const v = clusterStatusOf(resource(ready, record()), 7);
    expect(v).to.deep.include({ cluster: 'iris', phase: 'Ready', spec: SPEC, mapEpoch: 3, slotsAssigned: 16384, operation: null, messages: [], updatedAt: 7 });
    expect(v.shards.map((s) => [s.id, s.slots, s.slotCount, s.primary, s.epoch])).to.deep.equal([
      ['shard-0', [[0, 8191]], 8192, 'iris-shard-0-0', 1], ['shard-1', [[8192, 16383]], 8192, 'iris-shard-1-0', 1],
    ]);
    expect(v.shards[0]!.nodes.map((n) => [n.name, n.role, n.up, n.link, n.lagOps, n.lagMs, `${n.host}:${n.port}`])).to.deep.equal([
      ['iris-shard-0-0', 'primary', true, null, null, null, '10.0.0.0:6379'],
      ['iris-shard-0-1', 'replica', true, 'streaming', 3, 12, '10.0.0.1:6379'],
    ]);
    const text = renderStatus(v, { color: false });
    expect(text).to.match(/^cluster iris {2}phase Ready {2}map epoch 3 {2}slots assigned 16384\/16384/);
    expect(text).to.contain('iris-shard-1-1').and.contain('3 ops/12 ms');
  });

  it('shows down nodes and the reasons from the Degraded condition', () => {
    const st: ClusterStatus = {
      ...ready, phase: 'Unavailable', messages: ['shard-1: no primary serves its 8192 slots: iris-shard-1-0 does not answer (connection refused)'],
      shards: [shard(0), shard(1, { nodes: [node('iris-shard-1-0', { up: false, role: 'unknown', link: null }), node('iris-shard-1-1', { up: false, role: 'unknown', link: null, lagOps: null, lagMs: null })] })],
    };
    const v = clusterStatusOf(resource(st, record()), 0);
    expect(v.phase).to.equal('Unavailable');
    expect(v.messages).to.deep.equal(st.messages);
    expect(v.shards[1]!.nodes.map((n) => [n.role, n.up])).to.deep.equal([['unknown', false], ['unknown', false]]);
  });

  it('takes failover progress and the operation from the record, the live migration from the status', () => {
    const failover: FailoverProgress = {
      kind: 'switchover', id: 'switchover-9', oldPrimary: 'iris-shard-0-0', reason: 'requested', stage: 'catchup', fenceEpoch: 2, promoteEpoch: 2,
      candidate: 'iris-shard-0-1', inSync: [], catchupSeq: 10, blocked: null, startedAt: 0, updatedAt: 0,
    };
    const base = record();
    const rec: ControllerState = {
      ...base,
      shards: base.shards.map((s) => (s.index === 0 ? { ...s, failover, targetPrimary: 'iris-shard-0-1' } : s)),
      operation: {
        kind: 'rebalance', id: 'op-4', reason: 'scale shards 2 → 3', stage: 'migrate', shardsAfter: ['shard-0', 'shard-1', 'shard-2'],
        moves: [{ slots: [[0, 2730]], from: 'shard-0', to: 'shard-2' }, { slots: [[8192, 10922]], from: 'shard-1', to: 'shard-2' }],
        done: 1, migration: { id: 'm-6', sourceNode: 'iris-shard-1-0', sourceEpoch: 1 }, keysMoved: 100, bytesMoved: 5000, startedAt: 0, updatedAt: 0, error: null,
      },
    };
    const st: ClusterStatus = {
      ...ready, phase: 'Degraded', shards: [shard(0, { failover, targetPrimary: 'iris-shard-0-1' }), shard(1)],
      operation: {
        id: 'op-4', kind: 'rebalance', reason: 'scale shards 2 → 3', stage: 'migrate', movesDone: 1, movesTotal: 2, slotsDone: 2731, slotsTotal: 5462,
        keysMoved: 100, bytesMoved: 5000, current: { id: 'm-6', from: 'shard-1', to: 'shard-2', slotCount: 2731, stage: 'copying', keysCopied: 20, bytesCopied: 900 }, error: null,
      },
      messages: ['shard-0: switchover from iris-shard-0-0 to iris-shard-0-1 in progress (stage catchup): requested'],
    };
    const v = clusterStatusOf(resource(st, rec), 0);
    expect(v.shards[0]!.failover).to.deep.equal(failover);
    expect(v.shards[0]!.targetPrimary).to.equal('iris-shard-0-1');
    // As the controller reported it, apart from the bytes of the running migration (the status does not carry them).
    expect(v.operation).to.deep.equal({ ...st.operation, current: { ...st.operation!.current!, bytesCopied: 0 } });
    expect(renderProgress(v, { tty: false, width: 80 })).to.equal(renderProgress(st, { tty: false, width: 80 }));
    expect(renderStatus(v, { color: false })).to.contain('switchover switchover-9 of iris-shard-0-0 (requested): stage catchup, candidate iris-shard-0-1');
  });

  it('says when the operator has not caught up with the spec, has written nothing yet, or refused the current request', () => {
    const lagging = clusterStatusOf(resource(ready, record(), { generation: 5 }), 0);
    expect(lagging.messages).to.deep.equal(['the operator has not acted on the latest spec yet (generation 5; the status describes 4)']);
    const fresh = clusterStatusOf({ metadata: { name: 'iris', namespace: 'db', generation: 1 }, spec: { shards: 3 } }, 0);
    expect(fresh).to.deep.include({ phase: 'Bootstrapping', shards: [], slotsAssigned: 0 });
    expect(fresh.spec.shards).to.equal(3);
    expect(fresh.messages[0]).to.match(/has not written this IrisCluster's status yet: is it running and watching namespace db\?/);
    const a = 'failover shard-7 id=abc';
    const cr = resource(ready, record(), { annotations: { [REQUEST_ANNOTATION]: a } });
    const withRequest: IrisCluster = { ...cr, status: { ...cr.status, request: { annotation: a, phase: 'Refused', message: 'failover of shard-7 refused: no shard shard-7', operation: '', time: '2026-01-01T00:00:00Z' } } };
    expect(clusterStatusOf(withRequest, 0).messages).to.deep.equal([`request "${a}": Refused: failover of shard-7 refused: no shard shard-7`]);
  });

  it('never shows Ready while the status view lags the record (a new primary, a new replica): follow.ts must not stop early', () => {
    const base = record();
    const promoted: ControllerState = { ...base, shards: base.shards.map((s) => (s.index === 1 ? { ...s, epoch: 3, currentPrimary: 'iris-shard-1-1', targetPrimary: 'iris-shard-1-1' } : s)) };
    const v = clusterStatusOf(resource(ready, promoted), 0);
    expect(v.phase).to.equal('Degraded');
    expect(v.messages).to.deep.equal(['shard-1: the status does not show its primary iris-shard-1-1 yet']);
    expect([v.shards[1]!.primary, v.shards[1]!.epoch]).to.deep.equal(['iris-shard-1-1', 3]);
    expect(v.shards[1]!.nodes.every((n) => !n.up)).to.equal(true);
    const grown: ControllerState = { ...base, shards: base.shards.map((s) => (s.index === 0 ? { ...s, members: [...s.members, 'iris-shard-0-2'] } : s)) };
    const g = clusterStatusOf(resource(ready, grown), 0);
    expect([g.phase, g.messages]).to.deep.equal(['Degraded', ['shard-0: iris-shard-0-2 is not in the status yet']]);
  });

  it('reads slot range text, skipping what is not a range', () => {
    expect(parseSlots('0-5460,10923,x,16000-16383')).to.deep.equal([[0, 5460], [10923, 10923], [16000, 16383]]);
    expect(parseSlots('')).to.deep.equal([]);
  });
});
