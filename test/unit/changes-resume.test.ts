import { expect } from 'chai';
import type { Term } from '../../common/replication.js';
import { resumeDecision, type ShardLogState } from '../../node/changes/resume.js';
import fc from 'fast-check';
import {
  OwnershipView, adoptPrimaryJournal, parseOwnershipJournal, provableFrom, recordOwnership, settleOwnership, type OwnershipJournal,
} from '../../node/changes/ownership.js';

// Epoch 1 wrote 1..100 (term a), epoch 2 (a failover) from 101 (term b).
const history: Term[] = [{ epoch: 1, id: 'a', firstSeq: 1 }, { epoch: 2, id: 'b', firstSeq: 101 }];
const state: ShardLogState = { shard: 's0', history, lastSeq: 150, logFirstSeq: 40, provableFrom: 0 };
const after = (epoch: number, seq: number, shard = 's0') => ({ kind: 'after' as const, position: { shard, epoch, seq } });

describe('change feed resume decision', () => {
  it('starts after the position when the log holds that very change (same epoch) and all later ones', () => {
    expect(resumeDecision(state, after(1, 100))).to.deep.equal({ kind: 'start', fromSeq: 101 });
    expect(resumeDecision(state, after(2, 150))).to.deep.equal({ kind: 'start', fromSeq: 151 });
    expect(resumeDecision(state, after(1, 39))).to.deep.equal({ kind: 'start', fromSeq: 40 });
  });

  it('continues over a failover: a position of the old epoch resumes on the new primary', () => {
    expect(resumeDecision(state, after(1, 80))).to.deep.equal({ kind: 'start', fromSeq: 81 });
  });

  it('answers gone for a change the new primary does not have (lost in a failover)', () => {
    // The old primary wrote 101 at epoch 1; the new primary's 101 is epoch 2's.
    expect(resumeDecision(state, after(1, 101)).kind).to.equal('gone');
    expect(resumeDecision(state, after(2, 151)).kind).to.equal('gone');
  });

  it('answers gone for a position older than the retained log, never skipping', () => {
    const d = resumeDecision(state, after(1, 38));
    expect(d.kind).to.equal('gone');
    expect((d as { reason: string }).reason).to.match(/older than the retained log/);
  });

  it('answers gone before a slot ownership change it cannot prove', () => {
    expect(resumeDecision({ ...state, provableFrom: 120 }, after(2, 119)).kind).to.equal('gone');
    expect(resumeDecision({ ...state, provableFrom: 120 }, after(2, 120))).to.deep.equal({ kind: 'start', fromSeq: 121 });
  });

  it('sends positions of another shard elsewhere, and knows now and earliest', () => {
    expect(resumeDecision(state, after(1, 50, 's1'))).to.deep.equal({ kind: 'other_shard', shard: 's1' });
    expect(resumeDecision(state, { kind: 'now' })).to.deep.equal({ kind: 'start', fromSeq: 151 });
    expect(resumeDecision(state, { kind: 'earliest' })).to.deep.equal({ kind: 'start', fromSeq: 40 });
    expect(resumeDecision({ ...state, logFirstSeq: null, lastSeq: 0, history: [] }, after(0, 0))).to.deep.equal({ kind: 'start', fromSeq: 1 });
  });
});

describe('change feed slot ownership journal', () => {
  it('classifies each sequence by the slots owned when it was written', () => {
    let j: OwnershipJournal = recordOwnership([], 0, [[0, 99]], true)!;
    j = recordOwnership(j, 50, [[0, 49]], true)!; // slots 50..99 moved away after seq 50
    j = recordOwnership(j, 80, [[0, 49], [200, 210]], true)!; // gained 200..210 after seq 80
    expect(recordOwnership(j, 90, [[0, 49], [200, 210]], true)).to.equal(null);
    const v = new OwnershipView(j);
    expect(v.owned(50, 60)).to.equal(true); // a client write before the flip
    expect(v.owned(51, 60)).to.equal(false); // the source's cleanup after it
    expect(v.owned(80, 205)).to.equal(false); // a migration copy before the target's flip
    expect(v.owned(81, 205)).to.equal(true);
    expect(v.owned(1, 10)).to.equal(true);
    expect(new OwnershipView([]).owned(5, 5)).to.equal(true);
  });

  it('makes positions before a boundary recorded as a replica unprovable until the node writes as primary', () => {
    let j: OwnershipJournal = recordOwnership([], 0, [[0, 99]], true)!;
    j = recordOwnership(j, 30, [[0, 49]], false)!;
    expect(provableFrom(j, 60)).to.equal(59); // promoted at 60: everything before is unproven
    j = settleOwnership(j, 60)!;
    expect(settleOwnership(j, 90)).to.equal(null); // settled once, at the promotion
    expect(provableFrom(j, 90)).to.equal(59);
    expect(provableFrom(recordOwnership([], 0, [[0, 9]], true)!, 5)).to.equal(0);
  });
});

describe('change feed ownership journal: a replica adopting its primary\'s', () => {
  const primary: OwnershipJournal = [{ seq: 0, slots: [[0, 99]], exact: true }, { seq: 40, slots: [[0, 49]], exact: true }];
  const replica: OwnershipJournal = [{ seq: 0, slots: [[0, 99]], exact: true }, { seq: 45, slots: [[0, 49]], exact: false }];

  it('takes the exact boundaries once its log has reached the primary\'s last change', () => {
    expect(adoptPrimaryJournal(replica, primary, 45)).to.deep.equal({ kind: 'adopt', journal: primary });
    expect(provableFrom(primary, 100)).to.equal(0);
    // A former primary's exact entries of a discarded log are replaced too.
    const stale: OwnershipJournal = [{ seq: 0, slots: [[0, 99]], exact: true }, { seq: 30, slots: [[0, 49]], exact: true }];
    expect(adoptPrimaryJournal(stale, primary, 45)).to.deep.equal({ kind: 'adopt', journal: primary });
  });

  it('waits while its log is behind that change or the primary is on other slots, and is done when they are the same', () => {
    expect(adoptPrimaryJournal(replica, primary, 39)).to.deep.equal({ kind: 'wait' });
    expect(adoptPrimaryJournal(replica, [{ seq: 0, slots: [[0, 99]], exact: true }], 45)).to.deep.equal({ kind: 'wait' });
    expect(adoptPrimaryJournal(primary, primary, 45)).to.deep.equal({ kind: 'same' });
  });

  it('parses what it stores and sends, and refuses anything else', () => {
    const entry = fc.record({ seq: fc.nat(), slots: fc.array(fc.tuple(fc.nat({ max: 16383 }), fc.nat({ max: 16383 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]), { maxLength: 4 }), exact: fc.boolean() });
    fc.assert(fc.property(fc.array(entry, { maxLength: 6 }), (j) => {
      expect(parseOwnershipJournal(JSON.parse(JSON.stringify(j)))).to.deep.equal(j);
    }));
    for (const bad of [null, {}, [{ seq: -1, slots: [], exact: true }], [{ seq: 1, slots: [[5, 2]], exact: true }], [{ seq: 1, slots: [[0, 16384]], exact: true }], [{ seq: 1, slots: [], exact: 'yes' }]]) {
      expect(() => parseOwnershipJournal(bad), JSON.stringify(bad)).to.throw(Error);
    }
  });
});
