/**
 * Issue #16, no stalls: the time-sliced runner (pure, with an injected clock
 * and yield), and the incremental digest job on a real node database — same
 * digests as the single-pass computation, of the snapshot taken when the
 * job started even while writes commit between its slices.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { runInSlices } from '../../node/engine/stall-slices.js';
import { digestsFromTable } from '../../node/replication/digest.js';
import { computeSlotDigests, startSlotDigests } from '../../node/replication/slot-digests.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);

/** A job of `total` units; each unit advances the fake clock by `unitMs`. */
function fakeJob(total: number, unitMs: number): { step: (max: number) => number; clock: () => number; turns: number[] } {
  let t = 0;
  let left = total;
  const turns: number[] = [];
  return {
    turns,
    clock: () => t,
    step: (max) => {
      const n = Math.min(max, left);
      left -= n;
      t += n * unitMs;
      return n;
    },
  };
}

describe('stalls: time-sliced jobs', () => {
  describe('runInSlices', () => {
    it('yields once a slice has used its budget, and does every unit', async () => {
      const job = fakeJob(1000, 0.1); // 100 ms of work in all
      let yields = 0;
      const progress: number[] = [];
      const stats = await runInSlices(job.step, {
        sliceMs: 10, stepSize: 16, now: job.clock,
        yieldTurn: async () => { yields++; },
        onSlice: (done) => progress.push(done),
      });
      expect(stats.done).to.equal(1000);
      expect(stats.slices).to.equal(yields + 1);
      // 10 ms budget, 1.6 ms per step: 7 steps (11.2 ms) per slice, so 1000 units need 9 slices.
      expect(stats.slices).to.equal(9);
      expect(progress).to.deep.equal([112, 224, 336, 448, 560, 672, 784, 896, 1000]);
    });

    it('a slice never runs more than one step past its budget (property)', async () => {
      await fc.assert(fc.asyncProperty(
        fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 50 }), fc.double({ min: 0.001, max: 1, noNaN: true }),
        async (total, stepSize, sliceMs, unitMs) => {
          const job = fakeJob(total, unitMs);
          let sliceStart = 0;
          let longest = 0;
          const stats = await runInSlices(job.step, {
            sliceMs, stepSize, now: job.clock,
            yieldTurn: async () => { sliceStart = job.clock(); },
            onSlice: () => { longest = Math.max(longest, job.clock() - sliceStart); },
          });
          expect(stats.done).to.equal(total);
          expect(longest).to.be.at.most(sliceMs + stepSize * unitMs + 1e-9);
        },
      ), { numRuns: 200 });
    });

    it('finishes in one slice when the first step comes up short, and refuses bad budgets', async () => {
      const job = fakeJob(5, 1);
      expect(await runInSlices(job.step, { sliceMs: 10, stepSize: 8, now: job.clock, yieldTurn: async () => { throw new Error('no yield expected'); } })).to.deep.equal({ done: 5, slices: 1 });
      await runInSlices(job.step, { sliceMs: 0, stepSize: 8 }).then(() => expect.fail('accepted sliceMs 0'), (e: Error) => expect(e).to.be.instanceOf(RangeError));
      await runInSlices(job.step, { sliceMs: 5, stepSize: 0 }).then(() => expect.fail('accepted stepSize 0'), (e: Error) => expect(e).to.be.instanceOf(RangeError));
    });

    it('lets other callbacks run between slices (real setImmediate)', async () => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 0);
      const t = { spent: 0 };
      // Each step burns ~1 ms of real time; 60 steps with a 5 ms budget.
      let left = 60;
      const stats = await runInSlices(() => {
        if (left === 0) return 0;
        left--;
        const end = performance.now() + 1;
        while (performance.now() < end) t.spent++;
        return 1;
      }, { sliceMs: 5, stepSize: 1 });
      clearInterval(timer);
      expect(stats.done).to.equal(60);
      expect(stats.slices).to.be.greaterThan(5);
      expect(ticks).to.be.greaterThan(0);
    });
  });

  describe('startSlotDigests', () => {
    const fx = engineFixture();

    it('equals the single-pass digests, of the snapshot taken at its start despite writes between slices', async () => {
      const engine = fx.open({ compression: { algorithm: 'zlib', thresholdBytes: 32 } });
      for (let i = 0; i < 5000; i++) engine.keyspace.set(b(`key:${i}`), b(i % 7 === 0 ? 'long value '.repeat(10) : `v${i}`), i % 11 === 0 ? 4_000_000_000_000 + i : null);
      engine.commits.flushNow();
      const expected = computeSlotDigests(engine.db);
      const seqAtStart = engine.keyspace.lastSeq;
      const progress: number[] = [];
      // A tiny budget: many slices, so the writes below land between them.
      const job = startSlotDigests(engine.file, { sliceMs: 0.01, onProgress: (rows) => progress.push(rows) });
      expect(job.seq).to.equal(seqAtStart);
      let written = 0;
      const writer = setInterval(() => {
        engine.keyspace.set(b(`key:${written}`), b('changed after the snapshot'), null);
        engine.keyspace.set(b(`new:${written++}`), b('added after the snapshot'), null);
        engine.commits.flushNow();
      }, 0);
      const slots = digestsFromTable(await job.result);
      clearInterval(writer);
      expect(written, 'writes committed while the job ran').to.be.greaterThan(0);
      expect(progress.length).to.be.greaterThan(1);
      expect(progress[progress.length - 1]).to.equal(5000);
      expect(slots).to.deep.equal(expected);
      expect(computeSlotDigests(engine.db)).to.not.deep.equal(expected);
    });
  });
});
