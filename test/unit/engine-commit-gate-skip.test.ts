/**
 * A group-commit turn that wrote nothing skips the release gate when the
 * gate would release it at once (AckGate.releasesAt). What must not change:
 * callbacks run in the order they were registered, and none runs before
 * every write committed ahead of it has its acknowledgements (no dirty
 * reads). Checked over random interleavings of writes, reads, failed
 * writes, turns and acknowledgements, with minSyncReplicas 0 and 1.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { GroupCommit, type TurnTransaction } from '../../node/engine/group-commit.js';
import type { Db } from '../../node/engine/database.js';
import type { ReleaseGate } from '../../node/engine/types.js';
import { AckGate } from '../../node/replication/ack-gate.js';

type Op = 'write' | 'failWrite' | 'read' | 'turn' | 'ack';

class FakeTx implements TurnTransaction {
  readonly broken = null;
  begin(): void {}
  commit(): void {}
  rollback(): void {}
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const timers = { now: () => 0, setTimer: () => ({ cancel: () => {} }) };

function groupCommit(state: { head: number; committed: number }): GroupCommit {
  return new GroupCommit(null as unknown as Db, {
    onBegin: () => {},
    beforeCommit: () => {},
    onCommitted: () => {
      state.committed = state.head;
    },
    onRolledBack: () => {
      state.head = state.committed;
    },
    committedSeq: () => state.committed,
  }, null, new FakeTx());
}

/** Wraps a gate to count hold() calls; releasesAt forwarded. */
function counting(gate: AckGate): ReleaseGate & { holds: number } {
  const g = {
    holds: 0,
    hold: (seq: number, err: Error | null, release: (err: Error | null) => void): void => {
      g.holds++;
      gate.hold(seq, err, release);
    },
    releasesAt: (seq: number): boolean => gate.releasesAt(seq),
  };
  return g;
}

async function run(minAcks: number, ops: readonly Op[]): Promise<void> {
  const state = { head: 0, committed: 0 };
  const gc = groupCommit(state);
  const gate = new AckGate({ minAcks, ackTimeoutMs: 0, timers });
  gate.setVoters(['r']);
  gc.setReleaseGate(gate);
  let acked = 0;
  let registered = 0;
  const order: number[] = [];
  for (const op of ops) {
    switch (op) {
      case 'write':
        try {
          gc.markWrite();
          state.head++;
        } catch {
          /* the turn already failed: the write is refused */
        }
        break;
      case 'failWrite':
        gc.fail(new Error('write failed'));
        break;
      case 'read': {
        const id = registered++;
        // Every write committed by now (or pending in this turn) must be acknowledged before this runs.
        const mustSee = state.head;
        gc.afterCommit((err) => {
          order.push(id);
          if (err === null && minAcks > 0) expect(acked, `callback ${id} ran before the writes ahead of it were acknowledged`).to.be.at.least(mustSee);
        });
        break;
      }
      case 'turn':
        await nextTurn();
        break;
      case 'ack':
        acked = state.committed;
        gate.ack('r', acked);
        break;
    }
  }
  await nextTurn();
  acked = state.committed;
  gate.ack('r', acked);
  expect(order).to.deep.equal([...Array(registered).keys()]);
}

describe('engine: group commit, read-only turns and the release gate', () => {
  it('runs callbacks in order and never ahead of unacknowledged writes', async () => {
    const op = fc.constantFrom<Op>('write', 'write', 'failWrite', 'read', 'read', 'read', 'turn', 'turn', 'ack');
    await fc.assert(fc.asyncProperty(fc.constantFrom(0, 1), fc.array(op, { maxLength: 40 }), (minAcks, ops) => run(minAcks, ops)), { numRuns: 300 });
  });

  it('hands the gate only turns that wrote, or that must wait behind a held one', async () => {
    const state = { head: 0, committed: 0 };
    const gc = groupCommit(state);
    const inner = new AckGate({ minAcks: 1, ackTimeoutMs: 0, timers });
    inner.setVoters(['r']);
    const gate = counting(inner);
    gc.setReleaseGate(gate);
    const ran: string[] = [];
    gc.afterCommit(() => ran.push('read 1'));
    await nextTurn();
    expect(ran).to.deep.equal(['read 1']);
    expect(gate.holds, 'a read-only turn with nothing ahead').to.equal(0);
    gc.markWrite();
    state.head++;
    gc.afterCommit(() => ran.push('write'));
    await nextTurn();
    expect(gate.holds).to.equal(1);
    gc.afterCommit(() => ran.push('read 2'));
    await nextTurn();
    expect(gate.holds, 'a read-only turn behind a held write').to.equal(2);
    expect(ran).to.deep.equal(['read 1']);
    inner.ack('r', state.committed);
    expect(ran).to.deep.equal(['read 1', 'write', 'read 2']);
    gc.afterCommit(() => ran.push('read 3'));
    await nextTurn();
    expect(gate.holds).to.equal(2);
    expect(ran).to.deep.equal(['read 1', 'write', 'read 2', 'read 3']);
  });

  it('still hands the gate every turn that wrote, even one it releases at once (its ack-wait is observed)', async () => {
    const state = { head: 0, committed: 0 };
    const gc = groupCommit(state);
    const gate = counting(new AckGate({ minAcks: 0, ackTimeoutMs: 0, timers }));
    gc.setReleaseGate(gate);
    gc.markWrite();
    state.head++;
    let ran = false;
    gc.afterCommit(() => {
      ran = true;
    });
    await nextTurn();
    expect(ran).to.equal(true);
    expect(gate.holds).to.equal(1);
    gc.afterCommit(() => {});
    await nextTurn();
    expect(gate.holds).to.equal(1);
  });
});
