/**
 * The failover rule (operator/core/failover-choice.ts): which answers count,
 * the n − k + 1 quorum, the (epoch, sequence) order and the refusal texts;
 * a model check that a promoted replica always holds every acknowledged
 * write; and the switchover choice from the primary's own view.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { PrimaryLinkStatus, ReplicaStatus, ReplicationStatus, Term } from '../../common/replication.js';
import {
  chooseFailoverCandidate, chooseSwitchoverCandidate, comparePositions, failoverQuorum, ineligibility, logPosition, type FailoverInput,
} from '../../operator/core/failover-choice.js';

const FENCE = 10;

function link(over: Partial<PrimaryLinkStatus> = {}): PrimaryLinkStatus {
  return {
    name: 'c-shard-1-0', host: '127.0.0.1', busPort: 17000, respHost: null, respPort: null, state: 'connecting',
    lastError: null, fullSyncs: 0, partialSyncs: 0, loading: null, ...over,
  };
}

function status(name: string, over: Partial<ReplicationStatus> = {}): ReplicationStatus {
  return {
    name, role: 'replica', epoch: FENCE, lastSeq: 0, history: [], minSyncReplicas: 1, effectiveMinSyncReplicas: 1,
    ackTimeoutMs: 5000, declaredReplicas: [], replicas: [], primary: link(), backlog: { firstSeq: 1, lastSeq: 0 }, pendingAcks: 0, loading: false, declaredSeq: 0, ...over,
  };
}

function replica(name: string, over: Partial<ReplicaStatus> = {}): ReplicaStatus {
  return {
    name, host: '127.0.0.1', port: 7000, busPort: 17000, connected: true, state: 'online', ackedSeq: 0, lagOps: 0, lagMs: 0,
    fullSync: null, ...over,
  };
}

const history: Term[] = [{ epoch: 1, id: 'a', firstSeq: 1 }, { epoch: 3, id: 'b', firstSeq: 50 }];

function input(answers: Array<[string, ReplicationStatus | null]>, over: Partial<FailoverInput> = {}): FailoverInput {
  return {
    shard: 'shard-1', oldPrimary: 'c-shard-1-0', replicas: ['c-shard-1-1', 'c-shard-1-2'], minSyncReplicas: 1, fenceEpoch: FENCE,
    answers: new Map(answers), ...over,
  };
}

describe('operator/core/failover-choice', () => {
  describe('positions', () => {
    it('takes the epoch of the last term starting at or before lastSeq', () => {
      expect(logPosition(status('x', { lastSeq: 0, history }))).to.deep.equal({ epoch: 0, seq: 0 });
      expect(logPosition(status('x', { lastSeq: 49, history }))).to.deep.equal({ epoch: 1, seq: 49 });
      expect(logPosition(status('x', { lastSeq: 50, history }))).to.deep.equal({ epoch: 3, seq: 50 });
      expect(comparePositions({ epoch: 3, seq: 1 }, { epoch: 1, seq: 99 })).to.be.greaterThan(0);
      expect(comparePositions({ epoch: 3, seq: 1 }, { epoch: 3, seq: 2 })).to.be.lessThan(0);
    });

    it('counts n − k + 1 answers, all of them for k = 0, k capped at n', () => {
      expect([failoverQuorum(2, 1), failoverQuorum(2, 2), failoverQuorum(2, 0), failoverQuorum(3, 1), failoverQuorum(1, 5)]).to.deep.equal([2, 1, 2, 3, 1]);
    });

    it('counts only replicas at the fence epoch that are not loading', () => {
      expect(ineligibility(null, FENCE)).to.equal('no answer');
      expect(ineligibility(undefined, FENCE)).to.equal('no answer');
      expect(ineligibility(status('x', { epoch: FENCE - 1 }), FENCE)).to.equal(`still at epoch ${FENCE - 1}, below the fence epoch ${FENCE}`);
      expect(ineligibility(status('x', { role: 'primary', primary: null }), FENCE)).to.equal(`answers as primary at epoch ${FENCE}`);
      expect(ineligibility(status('x', { primary: link({ state: 'full_sync' }) }), FENCE)).to.equal('loading a snapshot');
      expect(ineligibility(status('x', { primary: link({ loading: { keys: 1, bytes: 2, totalKeys: 3 } }) }), FENCE)).to.equal('loading a snapshot');
      expect(ineligibility(status('x', { epoch: FENCE + 1, primary: null }), FENCE)).to.equal(null);
    });
  });

  describe('chooseFailoverCandidate', () => {
    it('refuses with the user-facing reason when too few answered', () => {
      const r = chooseFailoverCandidate(input([['c-shard-1-1', status('c-shard-1-1')], ['c-shard-1-2', null]]));
      expect(r).to.deep.equal({
        ok: false,
        reason: 'no promotion: 1 of 2 replicas answered (shard-1 needs 2 with minSyncReplicas=1 so that one of them holds every acknowledged write); '
          + 'not answering: c-shard-1-2 (no answer)',
      });
    });

    it('lists every replica that does not count, with why', () => {
      const r = chooseFailoverCandidate(input([
        ['c-shard-1-1', status('c-shard-1-1', { epoch: 9 })],
        ['c-shard-1-2', status('c-shard-1-2', { primary: link({ state: 'full_sync' }) })],
      ], { replicas: ['c-shard-1-1', 'c-shard-1-2', 'c-shard-1-3'], minSyncReplicas: 2 }));
      expect(r.ok).to.equal(false);
      expect(r.ok ? '' : r.reason).to.equal('no promotion: 0 of 3 replicas answered (shard-1 needs 2 with minSyncReplicas=2 so that one of them holds every acknowledged write); '
        + 'not answering: c-shard-1-1 (still at epoch 9, below the fence epoch 10), c-shard-1-2 (loading a snapshot), c-shard-1-3 (no answer)');
    });

    it('explains k = 0 and the shard without replicas', () => {
      const r0 = chooseFailoverCandidate(input([['c-shard-1-1', status('c-shard-1-1')]], { minSyncReplicas: 0 }));
      expect(r0.ok ? '' : r0.reason).to.match(/^no promotion: 1 of 2 replicas answered \(shard-1 needs all 2 with minSyncReplicas=0: .*\); not answering: c-shard-1-2 \(no answer\)$/);
      const none = chooseFailoverCandidate(input([], { replicas: ['c-shard-1-0'] }));
      expect(none).to.deep.equal({ ok: false, reason: 'no promotion: shard-1 has no replica to promote (its primary c-shard-1-0 was the only member)' });
    });

    it('promotes the highest (epoch, sequence), the newer term beating a longer old tail', () => {
      const r = chooseFailoverCandidate(input([
        ['c-shard-1-1', status('c-shard-1-1', { lastSeq: 49, history })],
        ['c-shard-1-2', status('c-shard-1-2', { lastSeq: 50, history })],
      ]));
      expect(r).to.deep.equal({ ok: true, candidate: 'c-shard-1-2', position: { epoch: 3, seq: 50 }, answered: ['c-shard-1-1', 'c-shard-1-2'] });
      const old = chooseFailoverCandidate(input([
        ['c-shard-1-1', status('c-shard-1-1', { lastSeq: 90, history: [history[0]!] })],
        ['c-shard-1-2', status('c-shard-1-2', { lastSeq: 60, history })],
      ]));
      expect(old.ok && old.candidate).to.equal('c-shard-1-2');
    });

    it('breaks ties by name, ignores the old primary in the replica list, and caps k at n', () => {
      const same = status('any', { lastSeq: 7, history });
      const r = chooseFailoverCandidate(input([['c-shard-1-2', same], ['c-shard-1-1', same]], { replicas: ['c-shard-1-2', 'c-shard-1-0', 'c-shard-1-1'] }));
      expect(r.ok && r.candidate).to.equal('c-shard-1-1');
      const capped = chooseFailoverCandidate(input([['c-shard-1-2', same]], { minSyncReplicas: 5 }));
      expect(capped).to.deep.include({ ok: true, candidate: 'c-shard-1-2', answered: ['c-shard-1-2'] });
    });

    /**
     * Model: the primary wrote 1..W over a few terms; every write up to A was
     * acknowledged, so at least k replicas hold it; the others are anywhere in
     * 0..W. Some replicas answer, some are loading, at an old epoch, or silent.
     */
    const model = fc.record({
      n: fc.integer({ min: 1, max: 5 }),
      kRaw: fc.integer({ min: 0, max: 6 }),
      w: fc.integer({ min: 0, max: 60 }),
      termStarts: fc.uniqueArray(fc.integer({ min: 2, max: 60 }), { maxLength: 3 }),
      aFrac: fc.double({ min: 0, max: 1, noNaN: true }),
      seqFracs: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
      holders: fc.shuffledSubarray([0, 1, 2, 3, 4]),
      kinds: fc.array(fc.constantFrom('ok', 'ok', 'none', 'loading', 'old', 'primary'), { minLength: 5, maxLength: 5 }),
    });

    it('a promoted replica holds every acknowledged write, and enough answers always promote (property)', () => {
      fc.assert(fc.property(model, (m) => {
        const k = Math.min(m.kRaw, m.n);
        const hist: Term[] = [1, ...[...m.termStarts].sort((a, b) => a - b)].map((firstSeq, i) => ({ epoch: i + 1, id: `t${i}`, firstSeq }));
        const acked = k === 0 ? 0 : Math.floor(m.aFrac * m.w); // k = 0: no write is guaranteed to be on any replica
        const holders = new Set(m.holders.filter((i) => i < m.n).slice(0, k));
        // Fill up to k holders if the random subset had too few below n.
        for (let i = 0; holders.size < k; i++) holders.add(i);
        const names = Array.from({ length: m.n }, (_, i) => `c-shard-1-${i + 1}`);
        const seqOf = (i: number): number => holders.has(i)
          ? acked + Math.floor(m.seqFracs[i]! * (m.w - acked))
          : Math.floor(m.seqFracs[i]! * m.w);
        const answers = new Map<string, ReplicationStatus | null>(names.map((name, i) => {
          const base = status(name, { lastSeq: seqOf(i), history: hist });
          switch (m.kinds[i]) {
            case 'none': return [name, null];
            case 'loading': return [name, { ...base, primary: link({ state: 'full_sync', loading: { keys: 0, bytes: 0, totalKeys: 9 } }) }];
            case 'old': return [name, { ...base, epoch: FENCE - 1 }];
            case 'primary': return [name, { ...base, role: 'primary', primary: null }];
            default: return [name, base];
          }
        }));
        const eligible = names.filter((_, i) => m.kinds[i] === 'ok');
        const r = chooseFailoverCandidate({ shard: 'shard-1', oldPrimary: 'c-shard-1-0', replicas: names, minSyncReplicas: m.kRaw, fenceEpoch: FENCE, answers });
        expect(r.ok).to.equal(eligible.length >= Math.min(m.n - k + 1, m.n));
        if (!r.ok) return;
        const i = names.indexOf(r.candidate);
        expect(eligible).to.include(r.candidate);
        expect(r.answered).to.deep.equal(eligible);
        expect(seqOf(i)).to.be.at.least(acked);
        const best = Math.max(...eligible.map((n) => seqOf(names.indexOf(n))));
        expect(r.position.seq).to.equal(best);
      }), { numRuns: 500 });
    });
  });

  describe('chooseSwitchoverCandidate', () => {
    const primary = status('c-shard-1-0', {
      role: 'primary', primary: null, declaredReplicas: ['c-shard-1-1', 'c-shard-1-2', 'c-shard-1-3'],
      replicas: [
        replica('c-shard-1-1', { ackedSeq: 40 }),
        replica('c-shard-1-2', { ackedSeq: 42 }),
        replica('c-shard-1-3', { ackedSeq: 99, state: 'catchup' }),
        replica('stranger', { ackedSeq: 500 }),
      ],
    });

    it('picks the connected online declared replica with the highest acknowledged sequence', () => {
      expect(chooseSwitchoverCandidate(primary)).to.deep.equal({ ok: true, candidate: 'c-shard-1-2' });
    });

    it('takes a requested replica only if it is connected, online and declared', () => {
      expect(chooseSwitchoverCandidate(primary, 'c-shard-1-1')).to.deep.equal({ ok: true, candidate: 'c-shard-1-1' });
      expect(chooseSwitchoverCandidate(primary, 'c-shard-1-3')).to.deep.equal({ ok: false, reason: 'cannot switch over to c-shard-1-3: its link is catchup, not online' });
      expect(chooseSwitchoverCandidate(primary, 'stranger')).to.deep.equal({ ok: false, reason: 'cannot switch over to stranger: it is not a declared replica of this primary' });
      expect(chooseSwitchoverCandidate(primary, 'c-shard-1-9')).to.deep.equal({ ok: false, reason: 'cannot switch over to c-shard-1-9: it is not connected to the primary' });
      expect(chooseSwitchoverCandidate(primary, 'c-shard-1-0')).to.deep.equal({ ok: false, reason: 'c-shard-1-0 is already the primary' });
      const off = { ...primary, replicas: [replica('c-shard-1-1', { connected: false })] };
      expect(chooseSwitchoverCandidate(off, 'c-shard-1-1')).to.deep.equal({ ok: false, reason: 'cannot switch over to c-shard-1-1: it is not connected to the primary' });
    });

    it('refuses when no replica is ready, or the node is not a primary', () => {
      const none = { ...primary, replicas: [replica('c-shard-1-1', { connected: false }), replica('c-shard-1-2', { state: 'full_sync' })] };
      expect(chooseSwitchoverCandidate(none)).to.deep.equal({
        ok: false, reason: 'no replica of c-shard-1-0 is connected and online (c-shard-1-1 disconnected, c-shard-1-2 full_sync)',
      });
      expect(chooseSwitchoverCandidate(status('c-shard-1-1'))).to.deep.equal({ ok: false, reason: 'c-shard-1-1 is not a primary (it answers as replica)' });
    });

    it('always returns a ready replica with the highest acknowledged sequence, ties by name (property)', () => {
      const entry = fc.record({
        name: fc.constantFrom('a', 'b', 'c', 'd'), connected: fc.boolean(),
        state: fc.constantFrom('handshake', 'full_sync', 'catchup', 'online') as fc.Arbitrary<ReplicaStatus['state']>, ackedSeq: fc.integer({ min: 0, max: 5 }),
      });
      fc.assert(fc.property(fc.uniqueArray(entry, { selector: (e) => e.name }), (entries) => {
        const p = { ...primary, declaredReplicas: [], replicas: entries.map((e) => replica(e.name, e)) };
        const ready = entries.filter((e) => e.connected && e.state === 'online');
        const r = chooseSwitchoverCandidate(p);
        expect(r.ok).to.equal(ready.length > 0);
        if (!r.ok) return;
        const top = Math.max(...ready.map((e) => e.ackedSeq));
        expect(r.candidate).to.equal(ready.filter((e) => e.ackedSeq === top).map((e) => e.name).sort()[0]);
      }));
    });
  });
});
