/**
 * The controller's Prometheus metrics (operator/controller/metrics.ts) over
 * a fake controller: gauges read from its status at scrape time, changes of
 * primary counted once each (on the event, so a failover finished before the
 * scrape still counts), restarts as a counter, the rebalance's last-progress
 * time, and unwatch.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { SLOT_COUNT } from '../../common/slot.js';
import type { ControllerEvent } from '../../operator/controller/context.js';
import { createControllerMetrics, type MeteredController } from '../../operator/controller/metrics.js';
import type { ClusterStatus, NodeView, OperationView, ShardView } from '../../operator/core/observation.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import type { BackupRecord } from '../../operator/core/backup-state.js';
import type { ControllerState, FailoverProgress, ShardState } from '../../operator/core/state.js';

const node = (name: string, role: NodeView['role'], over: Partial<NodeView> = {}): NodeView => ({
  name, role, up: true, host: '127.0.0.1', port: 7000, httpUrl: 'http://127.0.0.1:8000', epoch: 1, lastSeq: 1,
  lagOps: null, lagMs: null, link: null, restarts: 0, error: null, ...over,
});

const failover = (id: string, kind: FailoverProgress['kind'], blocked: string | null = null): FailoverProgress => ({
  kind, id, oldPrimary: 'c-shard-0-0', reason: 'test', stage: 'fence', fenceEpoch: 2, promoteEpoch: 3, candidate: null,
  inSync: [], catchupSeq: null, blocked, startedAt: 0, updatedAt: 0,
});

class FakeController implements MeteredController {
  shards: Array<{ id: string; failover: FailoverProgress | null; primaryUp: boolean; restarts: number }> = [
    { id: 'shard-0', failover: null, primaryUp: true, restarts: 0 },
    { id: 'shard-1', failover: null, primaryUp: true, restarts: 0 },
  ];
  operation: OperationView | null = null;
  slotsAssigned = SLOT_COUNT;
  backups: BackupRecord[] = [];
  private readonly listeners: Array<(e: ControllerEvent) => void> = [];

  get state(): ControllerState {
    return {
      version: 1, cluster: 'c', spec: DEFAULT_SPEC, map: null, operation: null, nextId: 1, backups: this.backups,
      shards: this.shards.map((s, i): ShardState => ({
        id: s.id, index: i, epoch: 1, members: [`c-${s.id}-0`, `c-${s.id}-1`], currentPrimary: `c-${s.id}-0`, targetPrimary: `c-${s.id}-0`,
        failover: s.failover, sync: { replicas: [], acks: 0, target: null }, leaving: false,
      })),
    };
  }

  status(): ClusterStatus {
    const shards = this.shards.map((s): ShardView => ({
      id: s.id, slots: [], slotCount: SLOT_COUNT / 2, epoch: 1, primary: `c-${s.id}-0`, targetPrimary: `c-${s.id}-0`, failover: s.failover, leaving: false,
      nodes: [node(`c-${s.id}-0`, s.primaryUp ? 'primary' : 'unknown', { up: s.primaryUp }), node(`c-${s.id}-1`, 'replica', { restarts: s.restarts })],
    }));
    return {
      cluster: 'c', phase: 'Ready', spec: DEFAULT_SPEC, mapEpoch: 1, slotsAssigned: this.slotsAssigned, shards,
      operation: this.operation, messages: [], updatedAt: 0,
    };
  }

  onEvent(listener: (e: ControllerEvent) => void): void {
    this.listeners.push(listener);
  }

  emit(reason: string): void {
    for (const l of this.listeners) l({ at: 0, type: 'Warning', reason, message: reason });
  }
}

type Sample = { labels: Record<string, string | number>; value: number };

async function samples(registry: Registry, name: string): Promise<Sample[]> {
  const all = await registry.getMetricsAsJSON();
  return (all.find((m) => m.name === name)?.values ?? []) as Sample[];
}

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const s = (await samples(registry, name)).find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

const OPERATION: OperationView = {
  id: 'op-1', kind: 'rebalance', reason: 'scale shards 2 → 3', stage: 'migrate', movesDone: 0, movesTotal: 2, slotsDone: 0, slotsTotal: 5461,
  keysMoved: 0, bytesMoved: 0, current: null, error: null,
};

describe('controller metrics (operator/controller/metrics.ts)', () => {
  let registry: Registry;
  let c: FakeController;
  let clock: number;

  beforeEach(() => {
    registry = new Registry();
    c = new FakeController();
    clock = 1_000_000;
  });

  const watch = (namespace = 'db') => {
    const m = createControllerMetrics(registry, () => clock);
    m.watch(c, namespace);
    return m;
  };

  it('reads a healthy cluster: phase, slots, primaries, nodes and roles, with namespace/cluster/shard/pod labels', async () => {
    watch();
    expect(await value(registry, 'irisdb_controller_cluster_phase', { phase: 'Ready' })).to.equal(1);
    expect(await value(registry, 'irisdb_controller_cluster_phase', { phase: 'Degraded' })).to.equal(0);
    expect(await value(registry, 'irisdb_controller_slots_assigned', { namespace: 'db', cluster: 'c' })).to.equal(SLOT_COUNT);
    expect(await value(registry, 'irisdb_controller_shard_primary_up', { shard: 'shard-1' })).to.equal(1);
    expect(await value(registry, 'irisdb_controller_shard_slots', { shard: 'shard-1' })).to.equal(SLOT_COUNT / 2);
    expect(await value(registry, 'irisdb_controller_node_up', { pod: 'c-shard-0-1', shard: 'shard-0' })).to.equal(1);
    expect(await value(registry, 'irisdb_controller_node_role', { pod: 'c-shard-0-1', role: 'replica' })).to.equal(1);
    expect(await value(registry, 'irisdb_controller_node_role', { pod: 'c-shard-0-1', role: 'primary' })).to.equal(0);
    expect(await value(registry, 'irisdb_controller_failover_blocked', { shard: 'shard-0' })).to.equal(0);
    // Every shard's counters exist at 0 from the start, so increase() sees the first failover.
    expect(await value(registry, 'irisdb_controller_failovers_total', { shard: 'shard-1', kind: 'failover' })).to.equal(0);
    expect(await value(registry, 'irisdb_controller_rebalance_in_progress', { cluster: 'c' })).to.equal(0);
  });

  it('counts a failover once, on its event, even when it finished before the next scrape', async () => {
    watch();
    c.shards[0]!.failover = failover('failover-7', 'failover');
    c.emit('FailoverStarted');
    c.shards[0]!.failover = null;
    expect(await value(registry, 'irisdb_controller_failovers_total', { shard: 'shard-0', kind: 'failover' })).to.equal(1);
    // Seen again in flight at a scrape, and another event: still one.
    c.shards[0]!.failover = failover('failover-7', 'failover');
    c.emit('CandidateChosen');
    c.emit('FailoverStarted');
    expect(await value(registry, 'irisdb_controller_failovers_total', { shard: 'shard-0', kind: 'failover' })).to.equal(1);
    expect(await value(registry, 'irisdb_controller_failover_in_progress', { shard: 'shard-0' })).to.equal(1);
  });

  it('counts a switchover that turns into a failover as both, and not one already under way when watching began', async () => {
    c.shards[1]!.failover = failover('switchover-3', 'switchover');
    watch();
    expect(await value(registry, 'irisdb_controller_failovers_total', { shard: 'shard-1', kind: 'switchover' })).to.equal(0);
    c.shards[0]!.failover = failover('switchover-4', 'switchover');
    c.emit('SwitchoverStarted');
    c.shards[0]!.failover = failover('switchover-4', 'failover');
    c.emit('FailoverStarted');
    expect(await value(registry, 'irisdb_controller_failovers_total', { shard: 'shard-0', kind: 'switchover' })).to.equal(1);
    expect(await value(registry, 'irisdb_controller_failovers_total', { shard: 'shard-0', kind: 'failover' })).to.equal(1);
  });

  it('shows a shard without primary and a failover refusing to promote', async () => {
    watch();
    c.shards[0]!.primaryUp = false;
    c.shards[0]!.failover = failover('failover-1', 'failover', 'no promotion: 0 of 1 sync replicas answered, 1 needed');
    expect(await value(registry, 'irisdb_controller_shard_primary_up', { shard: 'shard-0' })).to.equal(0);
    expect(await value(registry, 'irisdb_controller_failover_blocked', { shard: 'shard-0' })).to.equal(1);
    expect(await value(registry, 'irisdb_controller_node_up', { pod: 'c-shard-0-0' })).to.equal(0);
    expect(await value(registry, 'irisdb_controller_node_role', { pod: 'c-shard-0-0', role: 'unknown' })).to.equal(1);
  });

  it('turns the platform\'s restart counts into a counter that never goes back', async () => {
    watch();
    c.shards[0]!.restarts = 2;
    expect(await value(registry, 'irisdb_controller_node_restarts_total', { pod: 'c-shard-0-1' })).to.equal(2);
    c.shards[0]!.restarts = 3;
    expect(await value(registry, 'irisdb_controller_node_restarts_total', { pod: 'c-shard-0-1' })).to.equal(3);
    // A platform that lost count (a recreated pod) adds nothing, then counts from its new number.
    c.shards[0]!.restarts = 0;
    expect(await value(registry, 'irisdb_controller_node_restarts_total', { pod: 'c-shard-0-1' })).to.equal(3);
    c.shards[0]!.restarts = 1;
    expect(await value(registry, 'irisdb_controller_node_restarts_total', { pod: 'c-shard-0-1' })).to.equal(4);
  });

  it('keeps the rebalance\'s last-progress time while nothing moves, and the scrape time without one', async () => {
    watch();
    const ts = () => value(registry, 'irisdb_controller_rebalance_last_progress_timestamp_seconds', { cluster: 'c' });
    expect(await ts()).to.equal(1000);
    c.operation = OPERATION;
    clock += 5_000;
    expect(await ts()).to.equal(1005);
    expect(await value(registry, 'irisdb_controller_rebalance_in_progress', { cluster: 'c' })).to.equal(1);
    expect(await value(registry, 'irisdb_controller_rebalance_slots', { state: 'total' })).to.equal(5461);
    clock += 600_000;
    expect(await ts(), 'no progress: the time stays').to.equal(1005);
    c.operation = { ...OPERATION, current: { id: 'mig-2', from: 'shard-0', to: 'shard-2', slotCount: 2730, stage: 'copying', keysCopied: 10, bytesCopied: 100 } };
    clock += 1_000;
    expect(await ts(), 'keys copied: progress').to.equal(1606);
    c.operation = null;
    clock += 1_000;
    expect(await ts()).to.equal(1607);
    expect(await value(registry, 'irisdb_controller_rebalance_in_progress', { cluster: 'c' })).to.equal(0);
  });

  it('counts backups that end after watching began, by result, and keeps the newest completed one\'s time', async () => {
    const backup = (id: string, phase: BackupRecord['phase'], finishedAt: number | null): BackupRecord => ({ id, phase, finishedAt } as unknown as BackupRecord);
    c.backups = [backup('backup-1', 'Completed', 50_000), backup('backup-2', 'Failed', 60_000)];
    watch();
    const count = (result: string) => value(registry, 'irisdb_controller_backups_total', { cluster: 'c', result });
    // Those ended before: counted by the controller that saw them end.
    expect(await count('completed')).to.equal(0);
    expect(await count('failed')).to.equal(0);
    expect(await value(registry, 'irisdb_controller_backup_last_success_timestamp_seconds', { cluster: 'c' })).to.equal(50);
    c.backups = [...c.backups, backup('backup-3', 'Running', null)];
    expect(await value(registry, 'irisdb_controller_backup_running', { cluster: 'c' })).to.equal(1);
    c.backups = [...c.backups.slice(0, 2), backup('backup-3', 'Failed', 70_000), backup('backup-4', 'Completed', 90_000)];
    expect(await count('failed')).to.equal(1);
    expect(await count('completed')).to.equal(1);
    expect(await count('failed'), 'counted once').to.equal(1);
    expect(await value(registry, 'irisdb_controller_backup_running', { cluster: 'c' })).to.equal(0);
    expect(await value(registry, 'irisdb_controller_backup_last_success_timestamp_seconds', { cluster: 'c' })).to.equal(90);
  });

  it('drops an unwatched cluster from the gauges and the counters', async () => {
    const m = watch();
    expect(await samples(registry, 'irisdb_controller_shard_primary_up')).to.have.length(2);
    expect(await samples(registry, 'irisdb_controller_node_restarts_total')).to.have.length(4);
    m.unwatch(c);
    for (const name of ['irisdb_controller_shard_primary_up', 'irisdb_controller_failovers_total', 'irisdb_controller_backups_total', 'irisdb_controller_node_restarts_total']) {
      expect(await samples(registry, name), name).to.have.length(0);
    }
  });
});
