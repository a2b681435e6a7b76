/**
 * The rebalance runner (operator/controller/rebalance-runner.ts) over fake
 * nodes (test/support/controller-fakes.ts): a scale-out through add,
 * migrate and remove, a scale-in, a migration whose source fails over, and
 * a controller restarted after every tick or between recording a migration
 * and starting it. Migrations move on as the nodes would move them, by the
 * test's hand.
 */
import { expect } from 'chai';
import { countSlots, rangesToSlots } from '../../common/cluster-map.js';
import { newShard } from '../../operator/core/initial-state.js';
import { rebalancePlan } from '../../operator/core/slot-plan.js';
import type { ControllerState, RebalanceOp } from '../../operator/core/state.js';
import { bootstrappedCluster, ControllerRig, FakeClock, FakeCluster, MemoryStateStore } from '../support/controller-fakes.js';

function operation(over: Partial<RebalanceOp>): RebalanceOp {
  return {
    kind: 'rebalance', id: 'op-1', reason: 'scale', stage: 'add', shardsAfter: [], moves: [], done: 0, migration: null,
    keysMoved: 0, bytesMoved: 0, startedAt: 0, updatedAt: 0, error: null, ...over,
  };
}

/** A 2-shard cluster being scaled out to 3 (stage add: shard-2's nodes run, not in the map yet). */
function scaleOut(): { state: ControllerState; cluster: FakeCluster } {
  const { state } = bootstrappedCluster({ shards: 2, replicasPerShard: 1 });
  const added = newShard('c', 2, 1, 1);
  const next: ControllerState = {
    ...state, spec: { ...state.spec, shards: 3 }, shards: [...state.shards, added], nextId: 2,
    operation: operation({ reason: 'scale shards 2 → 3', stage: 'add', shardsAfter: ['shard-0', 'shard-1', 'shard-2'] }),
  };
  const cluster = new FakeCluster(next);
  for (const n of cluster.node.values()) n.map = state.map;
  return { state: next, cluster };
}

/** A scale-out whose first migration has been recorded and started on its source. */
async function scaleOutMigrating() {
  const { state, cluster } = scaleOut();
  const store = new MemoryStateStore(state);
  const clock = new FakeClock();
  const rig = await ControllerRig.open(store, cluster, clock);
  await rig.tickUntil(() => rig.state.operation?.migration != null);
  return { store, cluster, clock, rig, ref: rig.state.operation!.migration! };
}

/** A 3-shard cluster being scaled in to 2 (shard-2 leaving, its slots planned away). */
function scaleIn(): { state: ControllerState; cluster: FakeCluster } {
  const { state, cluster } = bootstrappedCluster({ shards: 3, replicasPerShard: 1 });
  const keep = ['shard-0', 'shard-1'];
  const next: ControllerState = {
    ...state, spec: { ...state.spec, shards: 2 }, nextId: 2,
    shards: state.shards.map((s) => (keep.includes(s.id) ? s : { ...s, leaving: true })),
    operation: operation({ reason: 'scale shards 3 → 2', stage: 'migrate', shardsAfter: keep, moves: rebalancePlan(state.map!, keep) }),
  };
  return { state: next, cluster };
}

/** What the nodes do by themselves between ticks: a copying migration flips (the target records it), a flipped one finishes. */
function moveMigrationsOn(cluster: FakeCluster): void {
  for (const n of cluster.node.values()) {
    for (const m of n.migrations.values()) {
      if (m.stage === 'copying') {
        cluster.setMigration(n.name, m.id, { stage: 'flipped', keysCopied: 7, bytesCopied: 70 });
        const target = [...cluster.node.values()].find((t) => t.shard === m.targetShard && t.role === 'primary')!;
        target.imports.push({ id: m.id, slots: m.slots, source: n.name, sourceShard: n.shard, targetShard: m.targetShard, attempt: 1, mapEpoch: 0, state: 'flipped', keysImported: 7, bytesImported: 70, entriesApplied: 0, startedAt: 0, updatedAt: 0 });
      } else if (m.stage === 'flipped') {
        cluster.setMigration(n.name, m.id, { stage: 'done', running: false });
      }
    }
  }
}

/** Ticks (restarting the controller after every tick if asked) until the operation is over; returns every event's reason. */
async function runToEnd(store: MemoryStateStore, cluster: FakeCluster, clock: FakeClock, restartEveryTick: boolean): Promise<{ rig: ControllerRig; reasons: string[] }> {
  let rig = await ControllerRig.open(store, cluster, clock);
  const reasons: string[] = [];
  for (let i = 0; i < 40 && rig.state.operation !== null; i++) {
    await rig.tick();
    moveMigrationsOn(cluster);
    clock.advance(rig.state.spec.heartbeatMs);
    if (restartEveryTick) {
      reasons.push(...rig.reasons());
      rig = await ControllerRig.open(store, cluster, clock);
    }
  }
  reasons.push(...rig.reasons());
  expect(rig.state.operation, `still under way; events: ${reasons.join(', ')}`).to.equal(null);
  expect(rig.errors).to.deep.equal([]);
  return { rig, reasons };
}

function slotsOf(state: ControllerState, shard: string): number {
  return countSlots(state.map!.shards.find((s) => s.id === shard)?.slots ?? []);
}

function count(reasons: readonly string[], r: string): number {
  return reasons.filter((x) => x === r).length;
}

describe('operator/controller rebalance runner (fake nodes)', () => {
  it('scales out: the new shard joins the map empty, each planned move migrates once, then the operation ends', async () => {
    const { state, cluster } = scaleOut();
    const store = new MemoryStateStore(state);
    const { rig, reasons } = await runToEnd(store, cluster, new FakeClock(), false);
    const planned = store.saved.find((s) => s.operation?.stage === 'migrate')!.operation!;
    expect(planned.moves.length).to.be.greaterThan(0);
    expect(planned.moves.every((m) => m.to === 'shard-2')).to.equal(true);
    expect(count(reasons, 'RebalancePlanned')).to.equal(1);
    expect(count(reasons, 'MigrationStarted')).to.equal(planned.moves.length);
    expect(count(reasons, 'MigrationFinished')).to.equal(planned.moves.length);
    expect(count(reasons, 'RebalanceFinished')).to.equal(1);
    expect(reasons).to.not.include.members(['MigrationRestarted', 'MigrationRolledBack']);
    for (const s of ['shard-0', 'shard-1', 'shard-2']) expect(slotsOf(rig.state, s)).to.be.within(5461, 5462);
    // Every node got the final map; the map epoch only rose.
    for (const n of cluster.node.values()) expect(n.map?.epoch).to.equal(rig.state.map!.epoch);
    const epochs = store.saved.map((s) => s.map!.epoch);
    expect(epochs).to.deep.equal([...epochs].sort((a, b) => a - b));
  });

  it('scales in: the leaving shard gives its slots away, leaves the map once every node has it, then the state', async () => {
    const { state, cluster } = scaleIn();
    const store = new MemoryStateStore(state);
    const { rig, reasons } = await runToEnd(store, cluster, new FakeClock(), false);
    expect(rig.state.shards.map((s) => s.id)).to.deep.equal(['shard-0', 'shard-1']);
    expect(rig.state.map!.shards.map((s) => s.id)).to.deep.equal(['shard-0', 'shard-1']);
    expect(slotsOf(rig.state, 'shard-0') + slotsOf(rig.state, 'shard-1')).to.equal(16384);
    expect(count(reasons, 'RebalanceFinished')).to.equal(1);
    // The shard left the state only after it had left the map.
    const leftState = store.saved.findIndex((s) => s.shards.length === 2);
    const leftMap = store.saved.findIndex((s) => s.map!.shards.length === 2);
    expect(leftMap).to.be.greaterThan(-1);
    expect(leftState).to.be.greaterThan(leftMap);
  });

  it('finishes the same operation the same way when the controller restarts after every tick', async () => {
    const straight = scaleOut();
    const a = await runToEnd(new MemoryStateStore(straight.state), straight.cluster, new FakeClock(), false);
    const restarted = scaleOut();
    const b = await runToEnd(new MemoryStateStore(restarted.state), restarted.cluster, new FakeClock(), true);
    expect(b.rig.state.map!.shards.map((s) => [s.id, s.slots])).to.deep.equal(a.rig.state.map!.shards.map((s) => [s.id, s.slots]));
    expect(count(b.reasons, 'MigrationStarted')).to.equal(count(a.reasons, 'MigrationStarted'));
    expect(b.reasons).to.not.include.members(['MigrationRestarted', 'MigrationRolledBack']);
  });

  it('finishes the same operation the same way whichever of its saves the controller died after', async () => {
    const straight = scaleOut();
    const refStore = new MemoryStateStore(straight.state);
    const ref = await runToEnd(refStore, straight.cluster, new FakeClock(), false);
    const total = refStore.saved.length;
    expect(total).to.be.at.least(6);
    for (let k = 1; k < total; k++) {
      const { state, cluster } = scaleOut();
      const store = new MemoryStateStore(state);
      const clock = new FakeClock();
      store.crashAfterSaves(k);
      const dying = await ControllerRig.open(store, cluster, clock);
      for (let i = 0; i < 40 && !dying.dead; i++) {
        await dying.tick();
        moveMigrationsOn(cluster);
        clock.advance(state.spec.heartbeatMs);
      }
      expect(dying.dead, `died after save ${k}`).to.equal(true);
      store.revive();
      const { rig, reasons } = await runToEnd(store, cluster, clock, false);
      const all = [...dying.reasons(), ...reasons];
      expect(rig.state.map!.shards.map((s) => [s.id, s.slots]), `died after save ${k}`).to.deep.equal(ref.rig.state.map!.shards.map((s) => [s.id, s.slots]));
      expect(count(all, 'MigrationStarted'), `died after save ${k}`).to.equal(count(ref.reasons, 'MigrationStarted'));
      expect(all).to.not.include.members(['MigrationRestarted', 'MigrationRolledBack']);
      const epochs = store.saved.map((x) => x.map!.epoch);
      expect(epochs).to.deep.equal([...epochs].sort((a, b) => a - b));
    }
  });

  it('starts a recorded migration that never reached its source under the same id', async () => {
    const { store, cluster, clock, ref } = await scaleOutMigrating();
    cluster.get(ref.sourceNode).migrations.delete(ref.id); // the controller died between recording it and starting it
    const next = await ControllerRig.open(store, cluster, clock);
    await next.tick();
    expect(cluster.migration(ref.sourceNode, ref.id).stage).to.equal('copying');
    expect(next.state.operation!.migration!.id).to.equal(ref.id);
    expect(next.reasons()).to.not.include('MigrationRestarted');
  });

  it('gives a move up (to start it again) when its source primary fails over before the flip', async () => {
    const { cluster, rig, ref } = await scaleOutMigrating();
    cluster.kill(ref.sourceNode);
    await rig.tickUntil(() => rig.reasons().includes('MigrationRestarted'));
    expect(rig.reasons()).to.include('FailoverFinished');
    const op = rig.state.operation!;
    expect(op.done).to.equal(0);
    expect(op.error).to.equal(`the source ${ref.sourceNode} was replaced during migration ${ref.id}; starting the move again`);
    // The new start waits for both primaries to report the controller's map epoch: that epoch must settle (the
    // second publish of a tick once re-pushed with the epoch seen at the heartbeat, was refused and raised it again,
    // so the move never started again).
    await rig.tickUntil(() => rig.state.operation?.migration != null && rig.state.operation.migration.id !== ref.id);
    const restarted = rig.state.operation!.migration!;
    expect(restarted.id).to.not.equal(ref.id);
    expect(restarted.sourceNode).to.not.equal(ref.sourceNode);
    const epoch = rig.state.map!.epoch;
    for (let i = 0; i < 5; i++) await rig.tick();
    expect(rig.state.map!.epoch).to.equal(epoch);
  });

  it('adopts a flip the target reports after the source failed over, without moving again', async () => {
    const { cluster, rig, ref } = await scaleOutMigrating();
    moveMigrationsOn(cluster); // flipped on both nodes
    const move = rig.state.operation!.moves[0]!;
    cluster.kill(ref.sourceNode);
    await rig.tickUntil(() => rig.state.operation!.done === 1);
    expect(rig.reasons()).to.not.include('MigrationRestarted');
    const owned = new Set(rangesToSlots(rig.state.map!.shards.find((s) => s.id === move.to)!.slots));
    expect(rangesToSlots(move.slots).every((s) => owned.has(s))).to.equal(true);
  });
});
