/**
 * The published status (operator/core/status-view.ts): phase and messages
 * for every non-Ready reason, node views (lag as the primary reports it,
 * link as the replica reports it) and the operation's progress.
 */
import { expect } from 'chai';
import type { ClusterMap } from '../../common/cluster-map.js';
import type { MigrationStatus } from '../../common/migration.js';
import type { PrimaryLinkStatus, ReplicaStatus, ReplicationStatus } from '../../common/replication.js';
import type { NodeObservation } from '../../operator/core/observation.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import type { ControllerState, FailoverProgress, RebalanceOp, ShardState } from '../../operator/core/state.js';
import { buildStatus } from '../../operator/core/status-view.js';

const MAP: ClusterMap = {
  epoch: 3,
  nodes: [
    { name: 'c-shard-0-0', host: '127.0.0.1', port: 7000, busPort: 17000 },
    { name: 'c-shard-0-1', host: '127.0.0.1', port: 7001, busPort: 17001 },
    { name: 'c-shard-1-0', host: '127.0.0.1', port: 7002, busPort: 17002 },
    { name: 'c-shard-1-1', host: '127.0.0.1', port: 7003, busPort: 17003 },
  ],
  shards: [
    { id: 'shard-0', slots: [[0, 8191]], primary: 'c-shard-0-0', replicas: ['c-shard-0-1'] },
    { id: 'shard-1', slots: [[8192, 16383]], primary: 'c-shard-1-0', replicas: ['c-shard-1-1'] },
  ],
};

const shard = (i: number, over: Partial<ShardState> = {}): ShardState => ({
  id: `shard-${i}`, index: i, epoch: 2, members: [`c-shard-${i}-0`, `c-shard-${i}-1`],
  currentPrimary: `c-shard-${i}-0`, targetPrimary: `c-shard-${i}-0`, failover: null, leaving: false, sync: { replicas: [`c-shard-${i}-1`], acks: 1, target: null }, ...over,
});

const STATE: ControllerState = {
  version: 1, cluster: 'c', spec: { ...DEFAULT_SPEC, shards: 2 }, shards: [shard(0), shard(1)], map: MAP, operation: null, nextId: 1,
};

function link(state: PrimaryLinkStatus['state'], over: Partial<PrimaryLinkStatus> = {}): PrimaryLinkStatus {
  return { name: 'p', host: '127.0.0.1', busPort: 1, respHost: null, respPort: null, state, lastError: null, fullSyncs: 0, partialSyncs: 0, loading: null, ...over };
}

function entry(name: string, lagOps: number, lagMs: number): ReplicaStatus {
  return { name, host: '127.0.0.1', port: 1, busPort: 2, connected: true, state: 'online', ackedSeq: 10, lagOps, lagMs, fullSync: null };
}

function repl(name: string, over: Partial<ReplicationStatus>): ReplicationStatus {
  return {
    name, role: 'replica', epoch: 2, lastSeq: 10, history: [], minSyncReplicas: 1, effectiveMinSyncReplicas: 1, ackTimeoutMs: 1000,
    declaredReplicas: [], replicas: [], primary: link('streaming'), backlog: { firstSeq: 1, lastSeq: 10 }, pendingAcks: 0, loading: false, declaredSeq: 0, ...over,
  };
}

function ob(name: string, status: ReplicationStatus | null, over: Partial<NodeObservation> = {}): NodeObservation {
  const port = 7000 + Number(name.at(-3)) * 2 + Number(name.at(-1));
  return {
    name, shard: `shard-${name.at(-3)}`, endpoint: { host: '127.0.0.1', port, busPort: port + 10000, httpUrl: `http://127.0.0.1:${port + 1000}` },
    running: true, status, missed: 0, mapEpoch: 3, error: null, restarts: 0, ...over,
  };
}

/** Everyone up and streaming; `change` replaces observations by name. */
function healthy(change: Record<string, NodeObservation> = {}): NodeObservation[] {
  const base = [
    ob('c-shard-0-0', repl('c-shard-0-0', { role: 'primary', primary: null, replicas: [entry('c-shard-0-1', 3, 12)] })),
    ob('c-shard-0-1', repl('c-shard-0-1', { lastSeq: 7 })),
    ob('c-shard-1-0', repl('c-shard-1-0', { role: 'primary', primary: null, replicas: [entry('c-shard-1-1', 0, 0)] })),
    ob('c-shard-1-1', repl('c-shard-1-1', {})),
  ];
  return base.map((o) => change[o.name] ?? o);
}

const failover = (over: Partial<FailoverProgress>): FailoverProgress => ({
  kind: 'failover', id: 'f-1', oldPrimary: 'c-shard-1-0', reason: 'missed 3 heartbeats in a row (failureThreshold 3)', stage: 'fence',
  fenceEpoch: 3, promoteEpoch: 4, candidate: null, inSync: [], catchupSeq: null, blocked: null, startedAt: 0, updatedAt: 0, ...over,
});

describe('operator/core/status-view', () => {
  it('is Ready with no messages when every node answers and streams', () => {
    const s = buildStatus({ state: STATE, observations: healthy(), migration: null, now: 1234 });
    expect(s).to.deep.include({ cluster: 'c', phase: 'Ready', mapEpoch: 3, slotsAssigned: 16384, messages: [], updatedAt: 1234, operation: null });
    expect(s.shards.map((x) => [x.id, x.slotCount, x.primary, x.epoch])).to.deep.equal([['shard-0', 8192, 'c-shard-0-0', 2], ['shard-1', 8192, 'c-shard-1-0', 2]]);
  });

  it('shows lag as the primary reports it and the link as the replica reports it', () => {
    const s = buildStatus({ state: STATE, observations: healthy(), migration: null, now: 0 });
    const [p, r] = s.shards[0]!.nodes;
    expect(p).to.deep.include({ name: 'c-shard-0-0', role: 'primary', up: true, lagOps: null, lagMs: null, link: null, port: 7000, httpUrl: 'http://127.0.0.1:8000' });
    expect(r).to.deep.include({ name: 'c-shard-0-1', role: 'replica', up: true, lastSeq: 7, epoch: 2, lagOps: 3, lagMs: 12, link: 'streaming' });
  });

  it('is Bootstrapping before the first map', () => {
    const s = buildStatus({ state: { ...STATE, map: null }, observations: [], migration: null, now: 0 });
    expect(s.phase).to.equal('Bootstrapping');
    expect(s.mapEpoch).to.equal(0);
    expect(s.slotsAssigned).to.equal(0);
    expect(s.messages[0]).to.match(/bootstrapping/);
  });

  it('is Degraded when a replica is down or not streaming, and says which and why', () => {
    const down = buildStatus({
      state: STATE, migration: null, now: 0,
      observations: healthy({ 'c-shard-0-1': ob('c-shard-0-1', null, { missed: 2, error: 'connect ECONNREFUSED', endpoint: null, restarts: 1 }) }),
    });
    expect(down.phase).to.equal('Degraded');
    expect(down.messages).to.deep.equal(['shard-0: replica c-shard-0-1 does not answer (missed 2 heartbeats: connect ECONNREFUSED)']);
    // No endpoint: the address falls back to the published map; the primary's stale lag entry still shows.
    expect(down.shards[0]!.nodes[1]).to.deep.include({ up: false, role: 'unknown', host: '127.0.0.1', port: 7001, httpUrl: null, restarts: 1, link: null, lagOps: 3 });

    const loading = buildStatus({
      state: STATE, migration: null, now: 0,
      observations: healthy({ 'c-shard-1-1': ob('c-shard-1-1', repl('c-shard-1-1', { primary: link('full_sync', { name: 'c-shard-1-0', loading: { keys: 10, bytes: 1, totalKeys: 200 } }) })) }),
    });
    expect(loading.phase).to.equal('Degraded');
    expect(loading.messages).to.deep.equal(['shard-1: replica c-shard-1-1 is not streaming from its primary (link to c-shard-1-0 full_sync, loading 10 of 200 keys)']);
    expect(loading.shards[1]!.nodes[1]!.link).to.equal('full_sync');
  });

  it('is Degraded when a member that should be a replica acts as a primary', () => {
    const s = buildStatus({ state: STATE, migration: null, now: 0, observations: healthy({ 'c-shard-0-1': ob('c-shard-0-1', repl('c-shard-0-1', { role: 'primary', primary: null })) }) });
    expect(s.phase).to.equal('Degraded');
    expect(s.messages).to.deep.equal(['shard-0: c-shard-0-1 answers as a primary at epoch 2, but c-shard-0-0 is the shard\'s primary']);
  });

  it('is Unavailable when a slot-owning shard has no answering primary', () => {
    const s = buildStatus({ state: STATE, migration: null, now: 0, observations: healthy({ 'c-shard-1-0': ob('c-shard-1-0', null, { running: false }) }) });
    expect(s.phase).to.equal('Unavailable');
    expect(s.messages).to.deep.equal(['shard-1: no primary serves its 8192 slots: c-shard-1-0 does not answer (its process is not running)']);
  });

  it('is only Degraded when the primary without an answer owns no slots (a shard being added)', () => {
    const state = { ...STATE, map: { ...MAP, shards: [{ ...MAP.shards[0]!, slots: [[0, 16383]] as const }, { ...MAP.shards[1]!, slots: [] }] } };
    const s = buildStatus({ state, migration: null, now: 0, observations: healthy({ 'c-shard-1-0': ob('c-shard-1-0', null, { missed: 1 }) }) });
    expect(s.phase).to.equal('Degraded');
    expect(s.messages).to.deep.equal(['shard-1: its primary c-shard-1-0 does not answer (missed 1 heartbeat)']);
  });

  it('is Unavailable when slots are unassigned', () => {
    const state = { ...STATE, map: { ...MAP, shards: [MAP.shards[0]!, { ...MAP.shards[1]!, slots: [[8192, 16000]] as const }] } };
    const s = buildStatus({ state, migration: null, now: 0, observations: healthy() });
    expect(s.phase).to.equal('Unavailable');
    expect(s.slotsAssigned).to.equal(16001);
    expect(s.messages).to.deep.equal(['383 of 16384 slots are not assigned to any shard: keys in them cannot be served']);
  });

  it('is Unavailable with the blocked text verbatim when a failover cannot promote', () => {
    const blocked = 'no promotion: 0 of 1 replicas answered (shard-1 needs 1 with minSyncReplicas=1 so that one of them holds every acknowledged write); not answering: c-shard-1-1 (no answer)';
    const state = { ...STATE, shards: [shard(0), shard(1, { failover: failover({ blocked }) })] };
    const s = buildStatus({ state, migration: null, now: 0, observations: healthy({ 'c-shard-1-0': ob('c-shard-1-0', null, { missed: 5 }), 'c-shard-1-1': ob('c-shard-1-1', null, { missed: 5 }) }) });
    expect(s.phase).to.equal('Unavailable');
    expect(s.messages[0]).to.equal(`shard-1: failover of c-shard-1-0 is blocked: ${blocked}`);
    expect(s.shards[1]!.failover!.blocked).to.equal(blocked);
  });

  it('is Degraded while a failover or switchover progresses, and for a blocked switchover', () => {
    const moving = { ...STATE, shards: [shard(0), shard(1, { failover: failover({ kind: 'switchover', stage: 'catchup', candidate: 'c-shard-1-1', reason: 'requested by the user' }) })] };
    const s = buildStatus({ state: moving, migration: null, now: 0, observations: healthy() });
    expect(s.phase).to.equal('Degraded');
    expect(s.messages).to.deep.equal(['shard-1: switchover from c-shard-1-0 to c-shard-1-1 in progress (stage catchup): requested by the user']);
    const stuck = { ...STATE, shards: [shard(0), shard(1, { failover: failover({ kind: 'switchover', blocked: 'c-shard-1-1 is not catching up' }) })] };
    const b = buildStatus({ state: stuck, migration: null, now: 0, observations: healthy() });
    expect(b.phase).to.equal('Degraded');
    expect(b.messages).to.deep.equal(['shard-1: switchover of c-shard-1-0 is blocked: c-shard-1-1 is not catching up']);
  });

  describe('operation', () => {
    const op: RebalanceOp = {
      kind: 'rebalance', id: 'op-1', reason: 'scale shards 2 → 3', stage: 'migrate', shardsAfter: ['shard-0', 'shard-1', 'shard-2'],
      moves: [
        { from: 'shard-0', to: 'shard-2', slots: [[5462, 8191]] },
        { from: 'shard-1', to: 'shard-2', slots: [[13655, 16383]] },
      ],
      done: 1, migration: { id: 'm-2', sourceNode: 'c-shard-1-0', sourceEpoch: 2 },
      keysMoved: 100, bytesMoved: 2000, startedAt: 0, updatedAt: 0, error: null,
    };
    const report: MigrationStatus = {
      id: 'm-2', slots: [[13655, 16383]], source: 'c-shard-1-0', target: 'c-shard-2-0', targetShard: 'shard-2', stage: 'copying', running: true,
      attempt: 1, keysCopied: 40, bytesCopied: 800, entriesForwarded: 0, keysDeleted: 0, backlogBytes: 0, startedAt: 0, updatedAt: 0, error: null,
    };

    it('reports moves and slots done and the running migration as its source reports it', () => {
      const s = buildStatus({ state: { ...STATE, operation: op }, observations: healthy(), migration: report, now: 0 });
      expect(s.phase).to.equal('Ready');
      expect(s.operation).to.deep.equal({
        id: 'op-1', kind: 'rebalance', reason: 'scale shards 2 → 3', stage: 'migrate', movesDone: 1, movesTotal: 2, slotsDone: 2730, slotsTotal: 5459,
        keysMoved: 100, bytesMoved: 2000, error: null,
        current: { id: 'm-2', from: 'shard-1', to: 'shard-2', slotCount: 2729, stage: 'copying', keysCopied: 40, bytesCopied: 800 },
      });
    });

    it('shows the migration starting until its source reports it, and none before it is started', () => {
      const other = buildStatus({ state: { ...STATE, operation: op }, observations: healthy(), migration: { ...report, id: 'm-1' }, now: 0 });
      expect(other.operation!.current).to.deep.include({ id: 'm-2', stage: 'starting', keysCopied: 0 });
      const notStarted = buildStatus({ state: { ...STATE, operation: { ...op, migration: null } }, observations: healthy(), migration: null, now: 0 });
      expect(notStarted.operation!.current).to.equal(null);
    });
  });
});
