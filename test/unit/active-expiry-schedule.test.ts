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
import { ActiveExpiry, type ExpiryTarget } from '../../node/engine/active-expiry.js';
import { waitFor } from '../support/wait.js';

describe('active expiry: catch-up schedule', () => {
  it('runs one chain of cycles, at most one cycle per event-loop turn, while a backlog lasts', async () => {
    // An endless backlog: every batch finds as many expired keys as it asks for.
    const target: ExpiryTarget = { expireBatch: (_now, limit) => limit, reclaimPages: () => undefined };
    // A turn counter advanced once per check phase (where the group commit runs).
    let turn = 0;
    let spinning = true;
    const spin = (): void => {
      turn++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const cycleTurns: number[] = [];
    // maxKeysPerCycle 64: every cycle ends with keys left, so a catch-up follows it after ~1 ms; the interval ticks every 5 ms meanwhile.
    const expiry = new ActiveExpiry(target, { intervalMs: 5, maxKeysPerCycle: 64, maxCycleMs: 50 }, (count) => {
      expect(count).to.equal(64);
      cycleTurns.push(turn);
    });
    expiry.start();
    try {
      await waitFor('300 expiry cycles', () => cycleTurns.length >= 300, { timeoutMs: 20_000, intervalMs: 10 });
    } finally {
      expiry.stop();
      spinning = false;
    }
    const sharedTurns = cycleTurns.filter((t, i) => i > 0 && t === cycleTurns[i - 1]);
    expect(sharedTurns, 'cycles that ran in the same turn as the previous one').to.deep.equal([]);
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
