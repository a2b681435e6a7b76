/**
 * The active expiry cycle's schedule while it catches up (issue #16, no
 * stall above 50 ms): one chain of cycles, never two cycles in one
 * event-loop turn, so each cycle's deletes are committed (the group commit
 * runs on setImmediate, between turns) before the next cycle deletes more.
 * Before the fix, every interval tick beside a pending catch-up started one
 * more chain, and after a second of catching up ten cycles ran in the same
 * timers phase: one turn of thousands of deletes and one huge commit.
 */
import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { ActiveExpiry, type ExpiryTarget } from '../../node/engine/active-expiry.js';
import { waitFor } from '../support/wait.js';

describe('active expiry: catch-up schedule', () => {
  it('runs one chain of cycles, at most one cycle per event-loop turn, while a backlog lasts', async () => {
    // The property as production needs it: the group commit, scheduled with setImmediate by a turn's first
    // write, runs between any two cycles. Each cycle here "writes" and schedules its commit the same way;
    // a cycle that starts while the previous cycle's commit is still pending shared its turn.
    let commitPending = false;
    let newCycle = true;
    let lastCycleAt = 0;
    const shared: string[] = [];
    const counts: number[] = [];
    const target: ExpiryTarget = {
      // An endless backlog: every batch finds as many expired keys as it asks for.
      expireBatch: (_now, limit) => {
        if (newCycle) {
          newCycle = false;
          const at = performance.now();
          if (commitPending) shared.push(`cycle ${counts.length + 1}: ${(at - lastCycleAt).toFixed(2)} ms after the previous one's start`);
          lastCycleAt = at;
          commitPending = true;
          setImmediate(() => {
            commitPending = false;
          });
        }
        return limit;
      },
      reclaimPages: () => undefined,
    };
    // maxKeysPerCycle 64: every cycle ends with keys left, so a catch-up follows it after ~1 ms; the interval ticks every 5 ms meanwhile.
    // maxCycleMs is out of reach: a cycle cut by time on a loaded machine deletes fewer (counted below, not thrown from a timer).
    const expiry = new ActiveExpiry(target, { intervalMs: 5, maxKeysPerCycle: 64, maxCycleMs: 60_000 }, (count) => {
      counts.push(count);
      newCycle = true;
    });
    expiry.start();
    try {
      await waitFor('300 expiry cycles', () => counts.length >= 300, { timeoutMs: 20_000, intervalMs: 10 });
    } finally {
      expiry.stop();
    }
    expect(counts.filter((c) => c !== 64), 'cycles that deleted other than maxKeysPerCycle').to.deep.equal([]);
    expect(shared, 'cycles that ran before the previous cycle\'s commit').to.deep.equal([]);
  });

  it('an interval tick with no backlog runs one cycle and schedules no catch-up', async () => {
    let batches = 0;
    const target: ExpiryTarget = { expireBatch: () => { batches++; return 0; }, reclaimPages: () => undefined };
    const reports: number[] = [];
    const expiry = new ActiveExpiry(target, { intervalMs: 5, maxKeysPerCycle: 64, maxCycleMs: 50 }, (count) => reports.push(count));
    expiry.start();
    try {
      await waitFor('three idle cycles', () => reports.length >= 3, { timeoutMs: 5_000, intervalMs: 5 });
    } finally {
      expiry.stop();
    }
    expect(reports.every((c) => c === 0)).to.equal(true);
    expect(batches).to.equal(reports.length);
  });
});
