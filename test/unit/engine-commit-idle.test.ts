/**
 * GroupCommit.idle, which lets a RESP batch that wrote nothing go out without
 * a turn of its own (connection.ts). The property that keeps that free of
 * dirty reads: whenever idle is true, every callback registered before has
 * already run (so no reply, and no write it could read, is still waiting
 * for a commit, a sync or replica acknowledgements), and a callback
 * registered then runs with no error at the next flush. Checked over random
 * interleavings of writes, failed writes and commits, reads, event-loop
 * turns, syncs (fsync always) and acknowledgements through a real AckGate.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { GroupCommit, type TurnTransaction } from '../../node/engine/group-commit.js';
import type { Db } from '../../node/engine/database.js';
import type { WalSyncer } from '../../node/engine/wal-sync.js';
import { AckGate } from '../../node/replication/ack-gate.js';

type Op = 'write' | 'failWrite' | 'failCommit' | 'read' | 'turn' | 'sync' | 'ack';

class FakeTx implements TurnTransaction {
  readonly broken = null;
  failNextCommit = false;
  begin(): void {}
  commit(): void {
    if (!this.failNextCommit) return;
    this.failNextCommit = false;
    throw new Error('COMMIT failed');
  }
  rollback(): void {}
}

/** fsync always: each sync completes when the test says so. */
class ManualSyncer implements WalSyncer {
  readonly pending: Array<(err: Error | null) => void> = [];
  sync(cb: (err: Error | null) => void): void {
    this.pending.push(cb);
  }
  syncNow(): void {}
  close(): void {}
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Setup {
  readonly walSync: boolean;
  /** null: no release gate; else the gate's minSyncReplicas. */
  readonly minAcks: number | null;
}

async function run(setup: Setup, ops: readonly Op[], seen: { idle: number; busy: number }): Promise<void> {
  const tx = new FakeTx();
  const syncer = setup.walSync ? new ManualSyncer() : null;
  let head = 0;
  let committed = 0;
  const gc = new GroupCommit(null as unknown as Db, {
    onBegin: () => {},
    beforeCommit: () => {},
    onCommitted: () => {
      committed = head;
    },
    onRolledBack: () => {
      head = committed;
    },
    committedSeq: () => committed,
  }, syncer, tx);
  const gate = setup.minAcks === null ? null : new AckGate({
    minAcks: setup.minAcks,
    ackTimeoutMs: 0,
    timers: { now: () => 0, setTimer: () => ({ cancel: () => {} }) },
  });
  if (gate !== null) {
    gate.setVoters(['r']);
    gc.setReleaseGate(gate);
  }
  let registered = 0;
  const ran = new Set<number>();
  const read = (): number => {
    const id = registered++;
    gc.afterCommit(() => ran.add(id));
    return id;
  };

  for (const op of ops) {
    switch (op) {
      case 'write':
        try {
          gc.markWrite();
          head++;
        } catch {
          /* the turn already failed: the write is refused */
        }
        break;
      case 'failWrite':
        gc.fail(new Error('write failed'));
        break;
      case 'failCommit':
        tx.failNextCommit = true;
        break;
      case 'read':
        read();
        break;
      case 'turn':
        await nextTurn();
        break;
      case 'sync':
        syncer?.pending.shift()?.(null);
        break;
      case 'ack':
        gate?.ack('r', committed);
        break;
    }
    if (!gc.idle) {
      seen.busy++;
      continue;
    }
    seen.idle++;
    expect(ran.size, `callbacks run when idle after ${op}`).to.equal(registered);
    let probeErr: Error | null | undefined;
    gc.afterCommit((err) => {
      probeErr = err;
    });
    await nextTurn();
    expect(probeErr, 'a callback registered while idle runs at the next flush without error').to.equal(null);
  }
}

describe('engine: group commit idle (read-only batches skip the turn)', () => {
  it('is idle only when every earlier callback has run, and an idle callback runs at once with no error', async () => {
    const seen = { idle: 0, busy: 0 };
    const op = fc.constantFrom<Op>('write', 'write', 'failWrite', 'failCommit', 'read', 'read', 'turn', 'turn', 'sync', 'ack', 'ack');
    const setup = fc.record({ walSync: fc.boolean(), minAcks: fc.constantFrom<number | null>(null, 0, 1) });
    await fc.assert(fc.asyncProperty(setup, fc.array(op, { maxLength: 40 }), (s, ops) => run(s, ops, seen)), { numRuns: 300 });
    // Both branches were exercised: the property is not vacuous.
    expect(seen.idle).to.be.greaterThan(100);
    expect(seen.busy).to.be.greaterThan(100);
  });

  it('is not idle while the open turn has writes, a flush is scheduled, or the gate holds a turn', async () => {
    let committed = 0;
    const gc = new GroupCommit(null as unknown as Db, {
      onBegin: () => {}, beforeCommit: () => {}, onCommitted: () => { committed++; }, onRolledBack: () => {}, committedSeq: () => committed,
    }, null, new FakeTx());
    expect(gc.idle).to.equal(true);
    gc.markWrite();
    expect(gc.idle).to.equal(false);
    await nextTurn();
    expect(gc.idle).to.equal(true);
    gc.afterCommit(() => {});
    expect(gc.idle, 'a callback waits for the flush').to.equal(false);
    await nextTurn();
    const gate = new AckGate({ minAcks: 1, ackTimeoutMs: 0, timers: { now: () => 0, setTimer: () => ({ cancel: () => {} }) } });
    gate.setVoters(['r']);
    gc.setReleaseGate(gate);
    expect(gc.idle, 'committed seq 1 is not acknowledged').to.equal(false);
    gate.ack('r', 1);
    expect(gc.idle).to.equal(true);
    gc.markWrite();
    let released = false;
    gc.afterCommit(() => {
      released = true;
    });
    await nextTurn();
    expect(released).to.equal(false);
    expect(gc.idle, 'the gate holds the write turn').to.equal(false);
    gate.ack('r', 2);
    expect(released).to.equal(true);
    expect(gc.idle).to.equal(true);
    // A gate that cannot tell (the fencing gate) is never assumed to release.
    gc.setReleaseGate({ hold: (_seq, err, release) => release(err) });
    expect(gc.idle).to.equal(false);
  });
});
