/**
 * Term histories and the resync decision: the rules on plain data, and a
 * simulation of primaries, failovers, restarts, power losses and deposed
 * primaries that checks planResync never streams onto a log that differs
 * from the primary's.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { Term } from '../../common/replication.js';
import { MAX_TERMS, planResync, positionTermId, startTerm, termAt, type ResyncPlan } from '../../node/replication/history.js';

const t = (epoch: number, id: string, firstSeq: number): Term => ({ epoch, id, firstSeq });

describe('replication: term history', () => {
  const h = [t(1, 'a', 1), t(1, 'b', 10), t(2, 'c', 20)];

  it('termAt finds the term holding a seq', () => {
    expect(termAt(h, 0)).to.equal(null);
    expect(termAt(h, -1)).to.equal(null);
    expect(termAt(h, 1)!.id).to.equal('a');
    expect(termAt(h, 9)!.id).to.equal('a');
    expect(termAt(h, 10)!.id).to.equal('b');
    expect(termAt(h, 19)!.id).to.equal('b');
    expect(termAt(h, 1_000_000)!.id).to.equal('c');
    expect(termAt([t(3, 'x', 50)], 49)).to.equal(null); // before the first retained term
    expect(termAt([], 5)).to.equal(null);
  });

  it('positionTermId is the id at a position, or empty', () => {
    expect(positionTermId(h, 0)).to.equal('');
    expect(positionTermId(h, 15)).to.equal('b');
    expect(positionTermId([t(3, 'x', 50)], 10)).to.equal('');
  });

  it('startTerm appends a term and returns a new array', () => {
    const out = startTerm(h, 2, 'd', 25);
    expect(out).to.deep.equal([...h, t(2, 'd', 25)]);
    expect(h).to.have.length(3);
    expect(startTerm([], 0, 'first', 1)).to.deep.equal([t(0, 'first', 1)]);
  });

  it('startTerm replaces terms that wrote nothing that survives', () => {
    // The last term began at 20 and the log ends at 19: it wrote nothing.
    expect(startTerm(h, 2, 'd', 20)).to.deep.equal([t(1, 'a', 1), t(1, 'b', 10), t(2, 'd', 20)]);
    // A replica that adopted a history reaching past its own log.
    expect(startTerm(h, 3, 'd', 6)).to.deep.equal([t(1, 'a', 1), t(3, 'd', 6)]);
  });

  it('startTerm refuses an older epoch and keeps at most MAX_TERMS', () => {
    expect(() => startTerm(h, 1, 'd', 30)).to.throw(RangeError, /epoch 1.*epoch 2/);
    expect(() => startTerm(h, 2, '', 30)).to.throw(RangeError);
    expect(() => startTerm(h, 2, 'x', 0)).to.throw(RangeError);
    let long: Term[] = [];
    for (let i = 0; i < MAX_TERMS + 5; i++) long = startTerm(long, 1, `t${i}`, i * 2 + 1);
    expect(long).to.have.length(MAX_TERMS);
    expect(long[0]!.id).to.equal('t5');
    expect(long[MAX_TERMS - 1]!.id).to.equal(`t${MAX_TERMS + 4}`);
  });

  describe('planResync', () => {
    const primary = { history: h, lastSeq: 30, backlogFirstSeq: 12 };

    it('streams from the next seq when the replica holds a prefix still in the log', () => {
      expect(planResync(primary, { seq: 15, termId: 'b' })).to.deep.equal({ kind: 'partial', fromSeq: 16 });
      expect(planResync(primary, { seq: 11, termId: 'b' })).to.deep.equal({ kind: 'partial', fromSeq: 12 });
      expect(planResync(primary, { seq: 30, termId: 'c' })).to.deep.equal({ kind: 'partial', fromSeq: 31 });
    });

    it('a caught-up replica needs nothing, even with an empty backlog', () => {
      expect(planResync({ history: h, lastSeq: 30, backlogFirstSeq: 31 }, { seq: 30, termId: 'c' })).to.deep.equal({ kind: 'partial', fromSeq: 31 });
    });

    it('a replica ahead of the primary takes a full resync', () => {
      const plan = planResync(primary, { seq: 31, termId: 'c' });
      expect(plan.kind).to.equal('full');
      expect((plan as { reason: string }).reason).to.match(/replica is ahead.*holds writes this primary never had; discarding them/);
    });

    it('a diverged replica takes a full resync', () => {
      const plan = planResync(primary, { seq: 22, termId: 'zz' });
      expect(plan).to.deep.equal({ kind: 'full', reason: "replica's log diverged at seq 22 (term zz, primary has c)" });
      expect(planResync(primary, { seq: 22, termId: '' }).kind).to.equal('full');
      // Before the primary's retained history: cannot be checked, so not trusted.
      const short = { history: [t(5, 'q', 100)], lastSeq: 120, backlogFirstSeq: 1 };
      expect(planResync(short, { seq: 50, termId: 'a' })).to.deep.equal({ kind: 'full', reason: "replica's log diverged at seq 50 (term a, primary has no term that far back)" });
    });

    it('a replica behind the backlog takes a full resync', () => {
      expect(planResync(primary, { seq: 10, termId: 'b' })).to.deep.equal({ kind: 'full', reason: 'log no longer reaches back to seq 11 (oldest is 12)' });
    });

    it('an empty replica streams from 1 only if the log reaches back to 1', () => {
      expect(planResync({ history: h, lastSeq: 30, backlogFirstSeq: 1 }, { seq: 0, termId: '' })).to.deep.equal({ kind: 'partial', fromSeq: 1 });
      expect(planResync({ history: [], lastSeq: 0, backlogFirstSeq: 1 }, { seq: 0, termId: '' })).to.deep.equal({ kind: 'partial', fromSeq: 1 });
      expect(planResync(primary, { seq: 0, termId: '' })).to.deep.equal({ kind: 'full', reason: 'log no longer reaches back to seq 1 (oldest is 12)' });
    });
  });

  describe('simulated failovers (property)', () => {
    /** A node's log as the term id of each seq (log[s - 1]), its history, and where its stored backlog begins. */
    interface SimNode {
      log: string[];
      history: Term[];
      backlogFirst: number;
      /** The term this node wrote as primary, while its log still ends in it (a deposed primary's tail). */
      ownTerm: string | null;
    }

    type Action =
      | { kind: 'write'; n: number }
      | { kind: 'sync'; r: number; k: number }
      | { kind: 'trim'; n: number }
      | { kind: 'promote'; r: number }
      | { kind: 'restart'; lose: number }
      | { kind: 'crash'; r: number; lose: number }
      | { kind: 'wipe'; r: number }
      | { kind: 'staleWrite'; r: number; n: number };

    const N = 3;
    const idx = fc.nat({ max: N - 1 });
    const action: fc.Arbitrary<Action> = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('write' as const), n: fc.integer({ min: 1, max: 4 }) }), weight: 5 },
      { arbitrary: fc.record({ kind: fc.constant('sync' as const), r: idx, k: fc.nat({ max: 6 }) }), weight: 5 },
      { arbitrary: fc.record({ kind: fc.constant('trim' as const), n: fc.integer({ min: 1, max: 5 }) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('promote' as const), r: idx }), weight: 2 },
      { arbitrary: fc.record({ kind: fc.constant('restart' as const), lose: fc.nat({ max: 3 }) }), weight: 2 },
      { arbitrary: fc.record({ kind: fc.constant('crash' as const), r: idx, lose: fc.nat({ max: 3 }) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('wipe' as const), r: idx }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('staleWrite' as const), r: idx, n: fc.integer({ min: 1, max: 3 }) }), weight: 2 },
    );

    interface Stats {
      partial: number;
      /** Full resyncs by reason. */
      full: Map<string, number>;
    }

    function run(actions: readonly Action[], stats: Stats = { partial: 0, full: new Map() }): Stats {
      let nextId = 0;
      const newId = (): string => `T${nextId++}`;
      let epoch = 1;
      const first = newId();
      const nodes: SimNode[] = Array.from({ length: N }, () => ({ log: [], history: [], backlogFirst: 1, ownTerm: null }));
      let p = 0;
      nodes[p]!.history = startTerm([], epoch, first, 1);
      nodes[p]!.ownTerm = first;

      /** Power loss: the unsynced tail is gone, and with it any term that had no surviving write. */
      const lose = (n: SimNode, count: number): void => {
        n.log = n.log.slice(0, Math.max(0, n.log.length - count));
        n.history = n.history.filter((term) => term.firstSeq <= n.log.length);
        n.backlogFirst = Math.min(n.backlogFirst, n.log.length + 1);
        if (n.ownTerm !== null && n.log.at(-1) !== n.ownTerm) n.ownTerm = null;
      };
      const checkHistory = (n: SimNode): void => {
        // A history describes its own log: wherever it knows the term of a seq, it is the right one.
        for (let s = 1; s <= n.log.length; s++) {
          const term = termAt(n.history, s);
          if (term !== null && term.id !== n.log[s - 1]) expect.fail(`history says seq ${s} is in term ${term.id}, the log has ${n.log[s - 1]}`);
        }
      };

      for (const a of actions) {
        const P = nodes[p]!;
        switch (a.kind) {
          case 'write':
            for (let i = 0; i < a.n; i++) P.log.push(P.ownTerm!);
            break;
          case 'staleWrite': {
            const R = nodes[a.r]!;
            if (a.r !== p && R.ownTerm !== null) for (let i = 0; i < a.n; i++) R.log.push(R.ownTerm);
            break;
          }
          case 'sync': {
            if (a.r === p) break;
            const R = nodes[a.r]!;
            const seq = R.log.length;
            const plan: ResyncPlan = planResync(
              { history: P.history, lastSeq: P.log.length, backlogFirstSeq: P.backlogFirst },
              { seq, termId: positionTermId(R.history, seq) },
            );
            const prefix = R.log.every((id, i) => P.log[i] === id) && seq <= P.log.length;
            if (plan.kind === 'partial') {
              // Safety: never stream onto a log that differs from the primary's.
              if (!prefix) expect.fail(`partial resync onto a diverged log at seq ${seq}`);
              if (plan.fromSeq !== seq + 1 || plan.fromSeq < P.backlogFirst) expect.fail(`bad partial plan from ${plan.fromSeq} (seq ${seq}, backlog from ${P.backlogFirst})`);
              stats.partial++;
              R.log.push(...P.log.slice(seq, seq + a.k));
            } else {
              // Not needlessly full: a prefix both sides can name the term of, still in the primary's log.
              const checkable = seq === 0 || (termAt(P.history, seq) !== null && positionTermId(R.history, seq) !== '');
              if (prefix && checkable && seq + 1 >= P.backlogFirst) expect.fail(`needless full resync: ${plan.reason}`);
              const why = /^(replica is ahead|replica's log diverged|log no longer reaches)/.exec(plan.reason)?.[1] ?? plan.reason;
              stats.full.set(why, (stats.full.get(why) ?? 0) + 1);
              R.log = P.log.slice();
              R.backlogFirst = R.log.length + 1;
            }
            R.history = P.history.slice();
            R.ownTerm = null;
            break;
          }
          case 'trim':
            P.backlogFirst = Math.min(P.backlogFirst + a.n, P.log.length + 1);
            break;
          case 'promote': {
            if (a.r === p) break;
            const R = nodes[a.r]!;
            epoch++;
            const id = newId();
            R.history = startTerm(R.history, epoch, id, R.log.length + 1);
            R.ownTerm = id;
            p = a.r;
            break;
          }
          case 'restart': {
            lose(P, a.lose);
            const id = newId();
            P.history = startTerm(P.history, epoch, id, P.log.length + 1);
            P.ownTerm = id;
            break;
          }
          case 'crash':
            if (a.r !== p) lose(nodes[a.r]!, a.lose);
            break;
          case 'wipe':
            if (a.r !== p) nodes[a.r] = { log: [], history: [], backlogFirst: 1, ownTerm: null };
            break;
        }
        for (const n of nodes) checkHistory(n);
        if (nodes[p]!.history.length > MAX_TERMS) expect.fail('history longer than MAX_TERMS');
      }
      return stats;
    }

    it('never plans a partial resync onto a diverged log, and never a needless full one', () => {
      const stats: Stats = { partial: 0, full: new Map() };
      fc.assert(
        fc.property(fc.array(action, { minLength: 20, maxLength: 150, size: 'max' }), (actions) => {
          run(actions, stats);
        }),
        { numRuns: 200 },
      );
      // The simulation reached every outcome.
      expect(stats.partial).to.be.greaterThan(100);
      expect([...stats.full.keys()].sort()).to.deep.equal(["log no longer reaches", "replica is ahead", "replica's log diverged"]);
      for (const n of stats.full.values()) expect(n).to.be.greaterThan(10);
    });

    it('survives more restarts than the history keeps', () => {
      const actions: Action[] = [];
      for (let i = 0; i < MAX_TERMS * 2; i++) actions.push({ kind: 'write', n: 1 }, { kind: 'restart', lose: 0 }, { kind: 'sync', r: 1 + (i % 2), k: 3 });
      run(actions);
    });
  });
});
