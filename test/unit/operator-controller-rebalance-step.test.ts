/**
 * The rebalance decisions (operator/core/rebalance-step.ts) on plain data:
 * which migrate step the record calls for, what a source's report of its
 * migration calls for, and when the leaving shards may go.
 */
import { expect } from 'chai';
import type { MigrationStatus } from '../../common/migration.js';
import {
  adoptedMap, afterMigrationStatus, finishedMove, migrateStep, ownsMove, removeStep, RESUME_EVERY_MS, stuck,
} from '../../operator/core/rebalance-step.js';
import { newFailover } from '../../operator/core/failover-step.js';
import { rebalancePlan } from '../../operator/core/slot-plan.js';
import type { ControllerState, RebalanceOp } from '../../operator/core/state.js';
import { bootstrappedCluster } from '../support/controller-fakes.js';

const base = bootstrappedCluster({ shards: 3, replicasPerShard: 1 }).state;
const keep = ['shard-0', 'shard-1'];
const moves = rebalancePlan(base.map!, keep);
const op: RebalanceOp = {
  kind: 'rebalance', id: 'op-1', reason: 'scale shards 3 → 2', stage: 'migrate', shardsAfter: keep, moves, done: 0, migration: null,
  keysMoved: 0, bytesMoved: 0, startedAt: 100, updatedAt: 100, error: null,
};
const state: ControllerState = { ...base, shards: base.shards.map((s) => (keep.includes(s.id) ? s : { ...s, leaving: true })), operation: op };

function migration(over: Partial<MigrationStatus>): MigrationStatus {
  return {
    id: 'm', slots: [], source: 'x', target: 'y', targetShard: 'shard-0', stage: 'copying', running: true, attempt: 1, keysCopied: 0, bytesCopied: 0,
    entriesForwarded: 0, keysDeleted: 0, backlogBytes: 0, startedAt: 0, updatedAt: 0, error: null, ...over,
  };
}

describe('operator/core/rebalance-step', () => {
  it('starts the next move, checks a started one, waits for a change of primary, and moves on when all are done', () => {
    expect(moves.length).to.be.greaterThan(0);
    expect(migrateStep(state, op)).to.deep.include({ do: 'start', move: moves[0] });
    const ref = { id: 'op-1-2-shard-2-shard-0', sourceNode: 'c-shard-2-0', sourceEpoch: 1 };
    expect(migrateStep(state, { ...op, migration: ref })).to.deep.include({ do: 'check', ref });
    expect(migrateStep(state, { ...op, migration: { ...ref, sourceEpoch: 0 } }).do).to.equal('source-replaced');
    const failing = { ...state, shards: state.shards.map((s) => (s.id === moves[0]!.from ? { ...s, failover: newFailover(s, 'failover', 'failover-9', 'test', null, 0) } : s)) };
    expect(migrateStep(failing, op)).to.deep.equal({ do: 'wait' });
    expect(migrateStep(state, { ...op, done: moves.length })).to.deep.equal({ do: 'next-stage' });
    const gone = { ...state, shards: state.shards.filter((s) => s.id !== moves[0]!.from) };
    expect(migrateStep(gone, op)).to.deep.equal({ do: 'fail', why: `shard ${moves[0]!.from} is gone` });
  });

  it('finishes a move the map already has, and adopts a flip once', () => {
    const flipped = adoptedMap(state.map!, moves[0]!)!;
    expect(flipped.epoch).to.equal(state.map!.epoch + 1);
    expect(ownsMove(flipped, moves[0]!)).to.equal(true);
    expect(adoptedMap(flipped, moves[0]!)).to.equal(null);
    expect(migrateStep({ ...state, map: flipped }, op)).to.deep.equal({ do: 'finish-when-clean', move: moves[0] });
    const done = finishedMove(op, moves[0]!, 5, 50, 200);
    expect(done.operation).to.include({ done: 1, keysMoved: 5, bytesMoved: 50, migration: null, error: null, updatedAt: 200 });
    expect(done.event.reason).to.equal('MigrationFinished');
  });

  it('reads a source\'s report: adopt from the flip on, start again after a rollback, resume a stopped one at most every RESUME_EVERY_MS', () => {
    const started = { ...op, migration: { id: 'm', sourceNode: 'x', sourceEpoch: 1 } };
    for (const stage of ['flipped', 'cleanup', 'done'] as const) expect(afterMigrationStatus(started, migration({ stage }), 0, 0)).to.deep.equal({ do: 'adopt' });
    const rolled = afterMigrationStatus(started, migration({ stage: 'aborted', error: 'target refused' }), 500, 0);
    expect(rolled.do === 'restart' && rolled.operation).to.include({ migration: null, error: 'migration m was rolled back: target refused' });
    const stopped = migration({ stage: 'copying', running: false });
    expect(afterMigrationStatus(started, stopped, 1000 + RESUME_EVERY_MS + 1, 1000)).to.deep.equal({ do: 'resume' });
    expect(afterMigrationStatus(started, stopped, 1000 + RESUME_EVERY_MS, 1000)).to.deep.equal({ do: 'wait' });
    expect(afterMigrationStatus(started, migration({ stage: 'copying' }), 99_999, 0)).to.deep.equal({ do: 'wait' });
  });

  it('records a problem the operation waits on once', () => {
    const s = stuck(op, 'shard-9 is gone', 300)!;
    expect(s.operation.error).to.equal('shard-9 is gone');
    expect(s.event.reason).to.equal('RebalanceStuck');
    expect(stuck(s.operation, 'shard-9 is gone', 400)).to.equal(null);
  });

  it('removes the leaving shards from the map, then (once every answering remaining node has that map) from the state', () => {
    let map = state.map!;
    for (const m of moves) map = adoptedMap(map, m)!;
    const removing = { ...state, map, operation: { ...op, stage: 'remove' as const, done: moves.length } };
    const first = removeStep(removing, removing.operation, () => undefined, 500);
    expect(first.do).to.equal('map');
    if (first.do !== 'map') return;
    expect(first.map.shards.map((s) => s.id)).to.deep.equal(keep);
    const without = { ...removing, map: first.map };
    const behind = removeStep(without, without.operation, (n) => (n === 'c-shard-0-1' ? first.map.epoch - 1 : first.map.epoch), 600);
    expect(behind).to.deep.equal({ do: 'wait', behind: ['c-shard-0-1'] });
    // A node that does not answer does not hold the shards back.
    const fin = removeStep(without, without.operation, (n) => (n === 'c-shard-0-1' ? undefined : first.map.epoch), 700);
    expect(fin.do === 'finish' && fin.state.shards.map((s) => s.id)).to.deep.equal(keep);
    expect(fin.do === 'finish' && fin.state.operation).to.equal(null);
    expect(fin.do === 'finish' && fin.tookMs).to.equal(600);
  });
});
