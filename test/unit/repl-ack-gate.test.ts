/**
 * The acknowledgement gate: turns are released strictly in hold order, each
 * exactly once, when enough declared replicas acknowledged their sequence, or
 * with a NOREPLICAS error after the timeout. Time is a fake clock.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { AckGate, AckTimeoutError, type AckGateOptions, type Timers } from '../../node/replication/ack-gate.js';

/** A manual clock: timers fire only in advance(), in deadline order. */
class FakeTimers implements Timers {
  t = 0;
  private seq = 0;
  private timers: Array<{ at: number; id: number; fn: () => void; live: boolean }> = [];

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): { cancel(): void } {
    const timer = { at: this.t + ms, id: this.seq++, fn, live: true };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
      },
    };
  }

  get armed(): number {
    return this.timers.filter((x) => x.live).length;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      due.live = false;
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
    this.timers = this.timers.filter((x) => x.live);
  }
}

interface Log {
  /** [tag, error message or null] in release order. */
  released: Array<[string, string | null]>;
  errors: Map<string, Error | null>;
}

function setup(over: Partial<AckGateOptions> = {}, voters = ['r1', 'r2']): { gate: AckGate; clock: FakeTimers; log: Log; hold: (tag: string, seq: number, err?: Error | null) => void } {
  const clock = new FakeTimers();
  const gate = new AckGate({ minAcks: 1, ackTimeoutMs: 1000, timers: clock, ...over });
  gate.setVoters(voters);
  const log: Log = { released: [], errors: new Map() };
  const hold = (tag: string, seq: number, err: Error | null = null): void =>
    gate.hold(seq, err, (e) => {
      log.released.push([tag, e === null ? null : e.message]);
      log.errors.set(tag, e);
    });
  return { gate, clock, log, hold };
}

const tags = (log: Log): string[] => log.released.map(([t]) => t);

describe('replication: ack gate', () => {
  it('releases a turn once minAcks voters acknowledged its seq', () => {
    const { gate, log, hold } = setup();
    hold('a', 5);
    expect(gate.pending).to.equal(1);
    gate.ack('r1', 4);
    expect(log.released).to.deep.equal([]);
    gate.ack('r1', 5);
    expect(log.released).to.deep.equal([['a', null]]);
    expect(gate.pending).to.equal(0);
  });

  it('takes the fast path synchronously when nothing waits and the acks are in', () => {
    const { gate, log, hold } = setup();
    gate.ack('r2', 10);
    hold('a', 10);
    expect(tags(log)).to.deep.equal(['a']);
    const async0 = setup({ minAcks: 0 });
    async0.hold('b', 99);
    expect(tags(async0.log)).to.deep.equal(['b']);
    expect(async0.gate.quorumSeq()).to.equal(Infinity);
  });

  it('releases strictly in hold order, errors included', () => {
    const { gate, log, hold } = setup();
    hold('a', 5);
    hold('b', 3);
    hold('c', 6, new Error('turn failed'));
    hold('d', 6);
    gate.ack('r1', 3); // b is covered, but a is ahead of it
    expect(log.released).to.deep.equal([]);
    gate.ack('r1', 5);
    expect(log.released).to.deep.equal([
      ['a', null],
      ['b', null],
      ['c', 'turn failed'],
    ]);
    gate.ack('r1', 6);
    expect(tags(log)).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('a failed turn with nothing ahead is released at once with its error', () => {
    const { log, hold } = setup();
    hold('a', 5, new Error('boom'));
    expect(log.released).to.deep.equal([['a', 'boom']]);
  });

  it('counts only voters, keeps other acks, and ackedBy reports both', () => {
    const { gate, log, hold } = setup({ minAcks: 1 }, ['r1']);
    hold('a', 5);
    gate.ack('other', 9);
    expect(log.released).to.deep.equal([]);
    expect(gate.ackedBy(5)).to.equal(0);
    expect(gate.ackedBy(5, 'all')).to.equal(1);
    gate.setVoters(['r1', 'other']);
    expect(tags(log)).to.deep.equal(['a']);
    expect(gate.ackedBy(5)).to.equal(1);
  });

  it('quorumSeq is the minAcks-th highest voter ack', () => {
    const { gate } = setup({ minAcks: 2 }, ['r1', 'r2', 'r3']);
    expect(gate.quorumSeq()).to.equal(0);
    gate.ack('r1', 10);
    expect(gate.quorumSeq()).to.equal(0);
    gate.ack('r2', 4);
    expect(gate.quorumSeq()).to.equal(4);
    gate.ack('r3', 7);
    expect(gate.quorumSeq()).to.equal(7);
    gate.ack('r3', 6); // acks only move forward
    expect(gate.quorumSeq()).to.equal(7);
    gate.setMinAcks(3);
    expect(gate.quorumSeq()).to.equal(4);
    gate.setMinAcks(4); // more than there are voters: never
    expect(gate.quorumSeq()).to.equal(0);
  });

  it('reset moves a position back or forgets it', () => {
    const { gate, log, hold } = setup();
    gate.ack('r1', 10);
    gate.reset('r1', 2);
    expect(gate.quorumSeq()).to.equal(2);
    hold('a', 5);
    expect(log.released).to.deep.equal([]);
    gate.reset('r1', null);
    expect(gate.ackedBy(0, 'all')).to.equal(0);
    gate.reset('r2', 5);
    expect(tags(log)).to.deep.equal(['a']);
  });

  it('setMinAcks(0) releases whatever waits', () => {
    const { gate, log, hold } = setup({ minAcks: 2 });
    hold('a', 1);
    hold('b', 2);
    gate.setMinAcks(0);
    expect(tags(log)).to.deep.equal(['a', 'b']);
  });

  it('times out with the NOREPLICAS error, each turn at its own deadline', () => {
    const { gate, clock, log, hold } = setup({ minAcks: 2, ackTimeoutMs: 1000 });
    hold('a', 5);
    clock.advance(400);
    hold('b', 6);
    gate.ack('r1', 6);
    clock.advance(599);
    expect(log.released).to.deep.equal([]);
    clock.advance(1);
    expect(tags(log)).to.deep.equal(['a']);
    const err = log.errors.get('a');
    expect(err).to.be.instanceOf(AckTimeoutError);
    const e = err as AckTimeoutError;
    expect(e.code).to.equal('replication_timeout');
    expect(e.respMessage).to.equal(
      'NOREPLICAS Not enough good replicas to write: minSyncReplicas=2 did not acknowledge within 1000 ms (acknowledged by 1); it is applied on the primary and may or may not survive a failover',
    );
    expect(`NOREPLICAS ${e.message}`).to.equal(e.respMessage);
    clock.advance(399);
    expect(tags(log)).to.deep.equal(['a']);
    clock.advance(1);
    expect(tags(log)).to.deep.equal(['a', 'b']);
    expect(clock.armed).to.equal(0);
  });

  it('turns behind a timed-out head that are past their deadline go with it', () => {
    const { clock, log, hold } = setup({ ackTimeoutMs: 100 });
    hold('a', 5);
    hold('b', 5);
    hold('c', 5);
    clock.advance(100);
    expect(tags(log)).to.deep.equal(['a', 'b', 'c']);
    expect(log.released.every(([tag]) => log.errors.get(tag) instanceof AckTimeoutError)).to.equal(true);
  });

  it('a turn acked after its predecessor timed out is released with null', () => {
    const { gate, clock, log, hold } = setup({ ackTimeoutMs: 100 });
    hold('a', 5);
    clock.advance(50);
    hold('b', 6);
    clock.advance(50);
    expect(tags(log)).to.deep.equal(['a']);
    gate.ack('r2', 6);
    expect(log.released[1]).to.deep.equal(['b', null]);
  });

  it('setAckTimeout moves pending deadlines; 0 waits without limit', () => {
    const { gate, clock, log, hold } = setup({ ackTimeoutMs: 1000 });
    hold('a', 5);
    clock.advance(300);
    gate.setAckTimeout(200); // already past: fails now
    expect(tags(log)).to.deep.equal(['a']);
    gate.setAckTimeout(0);
    hold('b', 6);
    clock.advance(1_000_000);
    expect(tags(log)).to.deep.equal(['a']);
    expect(clock.armed).to.equal(0);
    gate.ack('r1', 6);
    expect(tags(log)).to.deep.equal(['a', 'b']);
  });

  it('failAll fails every held turn in order, keeping a turn’s own error, and cancels the timer', () => {
    const { gate, clock, log, hold } = setup();
    hold('a', 5);
    hold('b', 6, new Error('own'));
    hold('c', 7);
    gate.failAll(new Error('fenced'));
    expect(log.released).to.deep.equal([
      ['a', 'fenced'],
      ['b', 'own'],
      ['c', 'fenced'],
    ]);
    expect(gate.pending).to.equal(0);
    expect(clock.armed).to.equal(0);
    // The gate keeps working afterwards.
    hold('d', 8);
    gate.ack('r1', 8);
    expect(tags(log)).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('a throwing release callback does not stop the others; the first error surfaces', () => {
    const { gate, log, hold } = setup();
    hold('a', 1);
    gate.hold(2, null, () => {
      throw new Error('first');
    });
    gate.hold(3, null, () => {
      throw new Error('second');
    });
    hold('d', 4);
    expect(() => gate.ack('r1', 4)).to.throw('first');
    expect(tags(log)).to.deep.equal(['a', 'd']);
    expect(gate.pending).to.equal(0);
  });

  it('re-entrant holds and acks from a release callback keep the order', () => {
    const { gate, log, hold } = setup();
    hold('a', 1);
    gate.hold(2, null, () => {
      log.released.push(['b', null]);
      hold('e', 3); // held while the gate is releasing: must queue behind c and d
      gate.ack('r2', 3);
    });
    hold('c', 3, new Error('x'));
    hold('d', 3);
    gate.ack('r1', 2);
    expect(tags(log)).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
  });

  it('a failAll from a release callback fails the rest', () => {
    const { gate, log, hold } = setup();
    gate.hold(1, null, () => {
      log.released.push(['a', null]);
      gate.failAll(new Error('role change'));
    });
    hold('b', 5);
    hold('c', 6);
    gate.ack('r1', 1);
    expect(log.released).to.deep.equal([
      ['a', null],
      ['b', 'role change'],
      ['c', 'role change'],
    ]);
    hold('d', 7); // not failed by a stale failAll
    expect(gate.pending).to.equal(1);
  });

  it('reports how long each turn waited and whether it got its acks', () => {
    const seen: Array<[number, boolean]> = [];
    const { gate, clock, hold } = setup({ ackTimeoutMs: 100, onReleased: (ms, ok) => seen.push([ms, ok]) });
    hold('a', 1);
    clock.advance(30);
    gate.ack('r1', 1);
    hold('b', 1); // fast path
    hold('c', 2, new Error('not reported: it never waited for acks'));
    hold('d', 3);
    clock.advance(100);
    expect(seen).to.deep.equal([
      [30, true],
      [0, true],
      [100, false],
    ]);
  });

  it('oldestPendingSince is when the oldest waiting turn was held', () => {
    const { gate, clock, hold } = setup();
    expect(gate.oldestPendingSince()).to.equal(null);
    clock.advance(10);
    hold('a', 5);
    clock.advance(10);
    hold('b', 6);
    expect(gate.oldestPendingSince()).to.equal(10);
    gate.ack('r1', 5);
    expect(gate.oldestPendingSince()).to.equal(20);
  });

  describe('waitForAcks (WAIT)', () => {
    it('resolves at once when enough replicas (voters or not) have acked', async () => {
      const { gate } = setup({}, []);
      gate.ack('x', 5);
      gate.ack('y', 6);
      expect(await gate.waitForAcks(5, 2, 0)).to.equal(2);
      expect(await gate.waitForAcks(6, 0, 0)).to.equal(1);
    });

    it('resolves when the count is reached', async () => {
      const { gate, clock } = setup();
      const p = gate.waitForAcks(5, 2, 0);
      gate.ack('r1', 5);
      clock.advance(1_000_000);
      gate.ack('r2', 9);
      expect(await p).to.equal(2);
    });

    it('resolves with the count so far at the timeout, or on failAll', async () => {
      const { gate, clock } = setup();
      const p = gate.waitForAcks(5, 2, 500);
      gate.ack('r1', 5);
      clock.advance(500);
      expect(await p).to.equal(1);
      expect(clock.armed).to.equal(0);
      const q = gate.waitForAcks(6, 1, 0);
      gate.failAll(new Error('demoted'));
      expect(await q).to.equal(0);
    });
  });

  it('releases every turn exactly once, in order, and only when allowed (property)', () => {
    type Op =
      | { k: 'hold'; gap: number; fail: boolean }
      | { k: 'ack'; r: number; seq: number }
      | { k: 'reset'; r: number; seq: number | null }
      | { k: 'tick'; ms: number }
      | { k: 'min'; n: number }
      | { k: 'timeout'; ms: number }
      | { k: 'voters'; mask: number }
      | { k: 'failAll' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { arbitrary: fc.record({ k: fc.constant('hold' as const), gap: fc.nat({ max: 3 }), fail: fc.boolean() }), weight: 6 },
      { arbitrary: fc.record({ k: fc.constant('ack' as const), r: fc.nat({ max: 3 }), seq: fc.nat({ max: 60 }) }), weight: 5 },
      { arbitrary: fc.record({ k: fc.constant('reset' as const), r: fc.nat({ max: 3 }), seq: fc.option(fc.nat({ max: 60 }), { nil: null }) }), weight: 1 },
      { arbitrary: fc.record({ k: fc.constant('tick' as const), ms: fc.nat({ max: 400 }) }), weight: 3 },
      { arbitrary: fc.record({ k: fc.constant('min' as const), n: fc.nat({ max: 3 }) }), weight: 1 },
      { arbitrary: fc.record({ k: fc.constant('timeout' as const), ms: fc.nat({ max: 1000 }) }), weight: 1 },
      { arbitrary: fc.record({ k: fc.constant('voters' as const), mask: fc.nat({ max: 15 }) }), weight: 1 },
      { arbitrary: fc.constant<Op>({ k: 'failAll' }), weight: 1 },
    );
    const names = ['r0', 'r1', 'r2', 'r3'];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.array(op, { maxLength: 80, size: 'max' }), (minAcks, ops) => {
        const clock = new FakeTimers();
        let timeout = 300;
        const gate = new AckGate({ minAcks, ackTimeoutMs: timeout, timers: clock });
        gate.setVoters(names.slice(0, 2));
        let seq = 0;
        let held = 0;
        const released: number[] = [];
        const turns: Array<{ seq: number; at: number; failed: boolean }> = [];
        for (const o of ops) {
          switch (o.k) {
            case 'hold': {
              seq += o.gap;
              const id = held++;
              const at = clock.now();
              const s = seq;
              const own = o.fail ? new Error(`own ${id}`) : null;
              turns.push({ seq: s, at, failed: o.fail });
              gate.hold(s, own, (err) => {
                released.push(id);
                if (own !== null) expect(err).to.equal(own);
                else if (err === null) expect(gate.quorumSeq()).to.be.at.least(s);
                else if (err instanceof AckTimeoutError) {
                  expect(timeout, 'timed out with no timeout set').to.be.greaterThan(0);
                  expect(clock.now() - at).to.be.at.least(timeout);
                }
                else expect(err.message).to.equal('fail all');
              });
              break;
            }
            case 'ack':
              gate.ack(names[o.r]!, o.seq);
              break;
            case 'reset':
              gate.reset(names[o.r]!, o.seq);
              break;
            case 'tick':
              clock.advance(o.ms);
              break;
            case 'min':
              gate.setMinAcks(o.n);
              break;
            case 'timeout':
              timeout = o.ms;
              gate.setAckTimeout(o.ms);
              break;
            case 'voters':
              gate.setVoters(names.filter((_, i) => (o.mask >> i) & 1));
              break;
            case 'failAll':
              gate.failAll(new Error('fail all'));
              break;
          }
          expect(gate.pending).to.equal(held - released.length);
          // Nothing is held that could go: the oldest held turn waits for acks, within its deadline.
          const head = turns[released.length];
          if (head !== undefined) {
            expect(head.failed, 'a failed turn is stuck at the head').to.equal(false);
            expect(head.seq, 'an acknowledged turn is stuck').to.be.greaterThan(gate.quorumSeq());
            if (timeout > 0) expect(clock.now() - head.at, 'a timed-out turn is stuck').to.be.lessThan(timeout);
          }
        }
        gate.failAll(new Error('fail all'));
        expect(released).to.deep.equal(Array.from({ length: held }, (_, i) => i));
        expect(gate.pending).to.equal(0);
      }),
      { numRuns: 500 },
    );
  });
});
