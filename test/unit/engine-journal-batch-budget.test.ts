/**
 * The write journal's batch budget (node/engine/journal-batch-budget.ts):
 * when a SQLite batch commits before its natural end so that its COMMIT,
 * which runs on the event loop, takes about --journal-commit-target-ms. As
 * plain data (the page model, what it learns, which batches it cuts), then
 * on a real engine (dense batches are left alone unless told otherwise; 0
 * turns it off).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  CUT_OVERHEAD_SHARE, PAGES_PER_WRITE, afterBatchCommit, cutCostMs, budgetCuts, dirtiedPages, estimatedCommitMs, initialBudget, isSparse,
  type BatchBudget, type BatchBudgetSettings, type OpenBatch,
} from '../../node/engine/journal-batch-budget.js';
import { openEngine } from '../../node/engine/open.js';
import { engineFixture } from '../support/engine-fixture.js';

const S: BatchBudgetSettings = { targetMs: 25, minBytes: 64 * 1024 };

/**
 * A truer COMMIT than the budget's model (plain arithmetic, no clock: these tests time nothing): a
 * database of `pages` pages as a table (72 %) and three indexes (kv_key 18 %, kv_slot 7 %, kv_expiry 3 %),
 * each write dirtying one random page of the table, kv_key and kv_slot, and each dirty page costing `msPerPage`.
 */
function trueCommitMs(writes: number, pages: number, msPerPage: number): number {
  const part = (share: number): number => { const p = Math.max(1, pages * share); return p * -Math.expm1(-writes / p); };
  return (part(0.72) + part(0.18) + part(0.07)) * msPerPage;
}

/** A batch of `writes` writes of `bytesPerWrite` journal bytes, open for `ageMs` of a 1 s natural length. */
function open(writes: number, pages: number, ageMs: number, bytesPerWrite = 140): OpenBatch {
  return { bytes: writes * bytesPerWrite, writes, databasePages: pages, ageMs, naturalMs: 1000 };
}

/** The budget after `n` batches of `writes` writes measured against the truer model. */
function learnt(writes: number, pages: number, msPerPage: number, n = 10, b: BatchBudget = initialBudget()): BatchBudget {
  for (let i = 0; i < n; i++) b = afterBatchCommit(b, open(writes, pages, 1000), trueCommitMs(writes, pages, msPerPage), S);
  return b;
}

describe('engine: write journal batch budget', () => {
  it('the page model: few writes dirty ~3 pages each, many writes at most every page', () => {
    expect(dirtiedPages(10, 1_000_000)).to.be.closeTo(10 * PAGES_PER_WRITE, 0.01);
    expect(dirtiedPages(10_000_000, 45_000)).to.be.closeTo(45_000, 1);
    expect(dirtiedPages(0, 45_000)).to.equal(0);
    fc.assert(fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), (n, pages) => {
      expect(dirtiedPages(n + 1, pages)).to.be.at.least(dirtiedPages(n, pages));
      expect(dirtiedPages(n, pages)).to.be.at.most(Math.min(pages, n * PAGES_PER_WRITE) + 1e-6);
    }));
  });

  it('learns a page\'s cost from measured COMMITs (smoothed), and ignores batches too small to say anything', () => {
    const b = initialBudget();
    expect(b.samples).to.equal(0);
    const one = afterBatchCommit(b, open(20_000, 45_000, 1000), 100, S);
    expect(one.samples).to.equal(1);
    expect(one.msPerPage).to.be.closeTo(100 / dirtiedPages(20_000, 45_000), 1e-9);
    // A sample ten times the first (plain numbers, no clock: as a busy machine would report) moves the
    // smoothed estimate 30 % of the way, not all of it.
    const tenfold = afterBatchCommit(one, open(20_000, 45_000, 1000), 1000, S);
    expect(tenfold.msPerPage).to.be.closeTo(one.msPerPage * 0.7 + (1000 / dirtiedPages(20_000, 45_000)) * 0.3, 1e-9);
    expect(tenfold.msPerPage).to.be.below(one.msPerPage * 4);
    expect(afterBatchCommit(b, open(5, 45_000, 1000), 5, S), 'a handful of pages').to.equal(b);
    expect(afterBatchCommit(b, open(100, 45_000, 1000, 100), 5, S), 'under a quarter of minBytes').to.equal(b);
    expect(afterBatchCommit(b, open(20_000, 45_000, 1000), 100, { ...S, targetMs: 0 }), 'budget off').to.equal(b);
  });

  it('an estimate learnt under a flood of SETs holds for an expiry\'s sparse deletes (1M keys)', () => {
    // 60k SETs a second share pages; 1,000 deletes of 40 bytes each do not. Truth: 5 µs a page.
    const b = learnt(60_000, 45_000, 0.005);
    const deletes = open(1_000, 45_000, 300, 40);
    const truth = trueCommitMs(1_000, 45_000, 0.005);
    expect(estimatedCommitMs(b, deletes)).to.be.within(truth * 0.6, truth * 1.6);
  });

  it('cuts a sparse batch once its COMMIT would take the target, never below minBytes or the target, never with targetMs 0', () => {
    const b = learnt(3_000, 45_000, 0.005);
    // ~3,000 writes a second against 45k pages: sparse.
    const at = (writes: number, ageMs: number, bytesPerWrite = 140): boolean => budgetCuts(b, open(writes, 45_000, ageMs, bytesPerWrite), S);
    expect(isSparse(b, open(900, 45_000, 300))).to.equal(true);
    expect(at(300, 100), '~5 ms of COMMIT').to.equal(false);
    expect(at(3_000, 1_000), '~45 ms').to.equal(true);
    expect(at(3_000, 1_000, 10), 'under minBytes').to.equal(false);
    expect(budgetCuts(b, open(3_000, 45_000, 1_000), { ...S, targetMs: 0 })).to.equal(false);
  });

  it('leaves a dense batch (a flood, an import) to end by time, unless told to cut dense batches too', () => {
    const b = learnt(60_000, 45_000, 0.005);
    // 20,000 writes in 300 ms: ~67k by the natural end, more than the database's pages can keep apart.
    const flood = open(20_000, 45_000, 300);
    expect(isSparse(b, flood)).to.equal(false);
    expect(cutCostMs(b, flood), 'pages a cut would rewrite, ms a second').to.be.above(CUT_OVERHEAD_SHARE * 1000);
    expect(estimatedCommitMs(b, flood)).to.be.above(S.targetMs);
    expect(budgetCuts(b, flood, S)).to.equal(false);
    expect(budgetCuts(b, flood, { ...S, dense: true })).to.equal(true);
    // The same writes a second against 100x the pages: sparse, so cut.
    expect(budgetCuts(b, open(20_000, 4_500_000, 300), S)).to.equal(true);
  });

  /**
   * A load of `perMs` writes a millisecond run for 12 batches: each grows 2 % at a time until the budget
   * cuts it or its natural end (1 s) ends it, and its COMMIT costs what the truer model says.
   */
  function simulate(pages: number, msPerPage: number, perMs: number, onBatch: (writes: number, natural: number, commitMs: number) => void): void {
    const natural = Math.floor(perMs * 1000);
    let b = initialBudget();
    for (let batch = 0; batch < 12; batch++) {
      let writes = 1;
      while (writes < natural && !budgetCuts(b, open(writes, pages, writes / perMs), S)) writes = Math.min(natural, writes + Math.max(1, Math.floor(writes / 50)));
      const commitMs = trueCommitMs(writes, pages, msPerPage);
      b = afterBatchCommit(b, open(writes, pages, writes / perMs), commitMs, S);
      if (batch >= 4) onBatch(writes, natural, commitMs); // once learnt
    }
  }
  const keyspaces = fc.integer({ min: 20_000, max: 5_000_000 });
  const pageCosts = fc.double({ min: 0.002, max: 0.02, noNaN: true });

  it('sparse loads (up to 0.5 % of the pages written a second): once learnt, the batches it cuts commit near the target (property)', () => {
    let cuts = 0;
    fc.assert(fc.property(keyspaces, pageCosts, fc.double({ min: 0.0005, max: 0.005, noNaN: true }), (pages, msPerPage, share) => {
      const floorMs = trueCommitMs(S.minBytes / 140, pages, msPerPage);
      simulate(pages, msPerPage, (share * pages) / 1000, (writes, natural, commitMs) => {
        if (writes === natural) return; // too slow a load to reach the target within a batch: nothing to bound
        cuts++;
        expect(commitMs).to.be.at.most(Math.max(S.targetMs, floorMs) * 1.6);
      });
    }), { numRuns: 200 });
    expect(cuts, 'batches the budget had to cut').to.be.above(300);
  });

  it('any load: a batch is cut only where the pages the cut rewrites cost little: a few % of the event loop against the truer model, which shares more pages than the budget\'s (property)', () => {
    fc.assert(fc.property(keyspaces, pageCosts, fc.double({ min: 0.0005, max: 0.5, noNaN: true }), (pages, msPerPage, share) => {
      simulate(pages, msPerPage, (share * pages) / 1000, (writes, natural, commitMs) => {
        if (writes === natural) return;
        const batches = natural / writes;
        const extraMs = batches * commitMs - trueCommitMs(natural, pages, msPerPage);
        expect(extraMs, `${batches.toFixed(1)} cut batches of ${writes} writes`).to.be.at.most(2.5 * CUT_OVERHEAD_SHARE * 1000);
      });
    }), { numRuns: 200 });
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

    it('cutting dense batches too: the batch commits once its COMMIT would take the target (here at the 2 KiB floor)', async () => {
      const e = fx.open({ journal: { commitMs: 60_000, commitTargetMs: 0.000001, commitTargetDense: true, minBatchBytes: 2048 } });
      await turns(e, 40, 0);
      // ~450 journal bytes per turn: a commit every 5 turns or so, not one per turn and not none.
      expect(e.stats().journal!.batchCommits).to.be.within(6, 10);
      for (let i = 0; i < 40; i++) expect(e.keyspace.get(Buffer.from(`k${i}`), Date.now())?.value).to.deep.equal(value);
    });

    it('with a 25 ms target a batch whose COMMIT is estimated under it is not cut', async () => {
      const e = fx.open({ journal: { commitMs: 60_000, commitTargetMs: 25, minBatchBytes: 2048 } });
      await turns(e, 20, 0);
      e.commitNow();
      await turns(e, 20, 20);
      expect(e.stats().journal?.batchCommits).to.equal(1);
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
