/**
 * The write journal's batch budget (node/engine/journal-batch-budget.ts):
 * the journal bytes a SQLite batch may hold so that its COMMIT, which runs
 * on the event loop, takes about --journal-commit-target-ms. As plain data
 * (the limit settles where a commit takes the target, within its bounds),
 * then on a real engine (batches end at the limit; 0 turns it off).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { afterBatchCommit, initialBudget, type BatchBudget, type BatchBudgetSettings } from '../../node/engine/journal-batch-budget.js';
import { openEngine } from '../../node/engine/open.js';
import { engineFixture } from '../support/engine-fixture.js';

const S: BatchBudgetSettings = { targetMs: 25, minBytes: 64 * 1024, maxBytes: 64 * 1024 * 1024 };

/**
 * A model of a batch COMMIT's cost (plain arithmetic, no clock: these tests time nothing): a batch of
 * `bytes` over a keyspace of `pages` pages, each write of ~140 journal bytes dirtying a random page, each dirty page costing `msPerPage`.
 */
function modelledCommitMs(bytes: number, pages: number, msPerPage: number): number {
  const writes = bytes / 140;
  return pages * (1 - Math.exp(-writes / pages)) * msPerPage;
}

describe('engine: write journal batch budget', () => {
  it('starts at 1 MiB (nothing measured yet; maxBytes with the budget off) and ignores batches too small to measure', () => {
    const b = initialBudget(S);
    expect(b).to.deep.equal({ msPerByte: null, limitBytes: 1024 * 1024 });
    expect(initialBudget({ ...S, targetMs: 0 }).limitBytes).to.equal(S.maxBytes);
    expect(initialBudget({ ...S, maxBytes: 4096, minBytes: 1024 }).limitBytes).to.equal(4096);
    expect(afterBatchCommit(b, 100, 5, S)).to.equal(b);
  });

  it('a large keyspace (1M keys, every SET its own page): a 360 ms commit of a second\'s 5 MB brings the limit near the target\'s share', () => {
    let b: BatchBudget = initialBudget(S);
    b = afterBatchCommit(b, 5_000_000, 360, S);
    expect(b.limitBytes).to.be.within(340_000, 360_000);
    // Following batches at the new size cost their share: the limit stays where a commit takes ~25 ms.
    for (let i = 0; i < 20; i++) b = afterBatchCommit(b, b.limitBytes, modelledCommitMs(b.limitBytes, 35_000, 0.01), S);
    expect(modelledCommitMs(b.limitBytes, 35_000, 0.01)).to.be.within(22, 28);
  });

  it('settles where a commit takes the target whatever the keyspace, or at a bound (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 500, max: 2_000_000 }), fc.double({ min: 0.001, max: 0.2, noNaN: true }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1_000, max: 50_000_000 }),
      (pages, msPerPage, targetMs, firstBytes) => {
        const s = { ...S, targetMs };
        let b = afterBatchCommit(initialBudget(s), firstBytes, modelledCommitMs(firstBytes, pages, msPerPage), s);
        for (let i = 0; i < 100; i++) b = afterBatchCommit(b, b.limitBytes, modelledCommitMs(b.limitBytes, pages, msPerPage), s);
        expect(b.limitBytes).to.be.within(s.minBytes, s.maxBytes);
        const modelled = modelledCommitMs(b.limitBytes, pages, msPerPage);
        // The modelled COMMIT is bounded (unless even the floor costs more) ...
        if (b.limitBytes > s.minBytes) expect(modelled).to.be.at.most(targetMs * 1.15);
        // ... and the batches are not cut smaller than the target needs.
        if (b.limitBytes < s.maxBytes) expect(modelled).to.be.at.least(targetMs * 0.85);
      },
    ), { numRuns: 300 });
  });

  it('one slow commit (the machine busy) lowers the limit by at most a third of the way', () => {
    let b = initialBudget(S);
    for (let i = 0; i < 10; i++) b = afterBatchCommit(b, 1_000_000, 25, S);
    expect(b.limitBytes).to.equal(1_000_000);
    b = afterBatchCommit(b, 1_000_000, 250, S);
    expect(b.limitBytes).to.be.above(250_000);
  });

  it('targetMs 0: no budget, batches end by time, turns and maxBytes only', () => {
    const off = { ...S, targetMs: 0 };
    expect(afterBatchCommit(initialBudget(off), 5_000_000, 900, off).limitBytes).to.equal(off.maxBytes);
  });

  describe('on a real engine', () => {
    const fx = engineFixture({ fsync: 'always', journal: { commitMs: 60_000 } });
    const value = Buffer.alloc(400, 7);

    async function turns(e: ReturnType<typeof fx.open>, n: number, from: number): Promise<void> {
      for (let i = from; i < from + n; i++) {
        e.keyspace.set(Buffer.from(`k${i}`), value, null);
        await e.commits.barrier();
      }
    }

    it('once a commit was measured, the batch commits when it reaches the limit (here the 2 KiB floor)', async () => {
      const e = fx.open({ journal: { commitMs: 60_000, commitTargetMs: 0.000001, minBatchBytes: 2048 } });
      await turns(e, 20, 0);
      e.commitNow(); // the first measured batch: ~9 KB
      expect(e.stats().journal?.batchCommits).to.equal(1);
      await turns(e, 20, 20);
      // ~450 journal bytes per turn: a commit every 5 turns or so, not one per turn and not none.
      const commits = e.stats().journal!.batchCommits - 1;
      expect(commits).to.be.within(3, 6);
      for (let i = 0; i < 40; i++) expect(e.keyspace.get(Buffer.from(`k${i}`), Date.now())?.value).to.deep.equal(value);
    });

    /** Injected: the batch's COMMIT fails (as SQLITE_FULL or an I/O error would). */
    function failBatchCommits(e: ReturnType<typeof fx.open>): void {
      const tx = e.journal!.parts.tx as unknown as { commitStmt: { run(): unknown } };
      tx.commitStmt = { run: () => { throw new Error('injected: batch COMMIT failed'); } };
    }

    async function afterRestart(e: ReturnType<typeof fx.open>, check: (get: (k: string) => Buffer | null) => void): Promise<void> {
      await fx.afterCrash(e, (copy) => {
        const again = openEngine({ ...fx.options(), dataDir: copy }, {});
        try {
          check((k) => again.keyspace.get(Buffer.from(k), Date.now())?.value ?? null);
        } finally {
          again.close();
        }
      });
    }

    it('a due batch whose COMMIT fails fails the next write (it never happened), not a turn the journal holds', async () => {
      // fsync batch: the reply does not wait for a sync, so the next write comes before the next tick's cut.
      const e = fx.open({ fsync: 'batch', journal: { commitMs: 60_000, maxBytes: 1024 } });
      e.keyspace.set(Buffer.from('first'), Buffer.alloc(2000, 1), null);
      await e.commits.barrier(); // acknowledged; the batch is past maxBytes and due
      failBatchCommits(e);
      expect(() => e.keyspace.set(Buffer.from('second'), Buffer.from('2'), null)).to.throw(/injected/);
      expect(() => e.commitNow(), 'the journal is broken: everything is refused until a restart').to.throw(/injected/);
      await afterRestart(e, (get) => {
        expect(get('first'), 'the acknowledged write').to.deep.equal(Buffer.alloc(2000, 1));
        expect(get('second'), 'the write that failed').to.equal(null);
      });
    });

    it('a turn that makes the batch due is acknowledged even if the batch then fails to commit: recovery replays it', async () => {
      const e = fx.open({ fsync: 'always', journal: { commitMs: 60_000, maxBytes: 1024 } });
      e.keyspace.set(Buffer.from('first'), Buffer.alloc(2000, 1), null);
      failBatchCommits(e); // before the turn commits: the cut after it fails
      await e.commits.barrier(); // resolves: the turn's records are durable in the journal
      expect(() => e.keyspace.set(Buffer.from('second'), Buffer.from('2'), null)).to.throw(/lost|injected/);
      await afterRestart(e, (get) => {
        expect(get('first'), 'the acknowledged write').to.deep.equal(Buffer.alloc(2000, 1));
        expect(get('second')).to.equal(null);
      });
    });

    it('--journal-commit-target-ms 0: the batch stays open until commitMs', async () => {
      const e = fx.open({ journal: { commitMs: 60_000, commitTargetMs: 0, minBatchBytes: 2048 } });
      await turns(e, 20, 0);
      e.commitNow();
      await turns(e, 20, 20);
      expect(e.stats().journal?.batchCommits).to.equal(1);
    });
  });
});
