/** Pure decisions of the read consistency levels (node/cluster/read-consistency.ts) and the round sharing of ReadConfirmer. */
import { expect } from 'chai';
import { confirmQuorum, judgeConfirmation, parseReadConsistency, readsFromReplica, replicaLag, type ConfirmFacts, type PeerView } from '../../node/cluster/read-consistency.js';
import { ReadConfirmer, ReadNotConfirmedError } from '../../node/cluster/read-confirmer.js';

const me: ConfirmFacts = { name: 'p', role: 'primary', epoch: 5, fenced: false, quorum: 1 };
const follower = (name: string, epoch = 5, primary: string | null = 'p'): PeerView => ({ name, epoch, role: 'replica', primary });

describe('read consistency levels', () => {
  it('parses the three levels, case-insensitively, and nothing else', () => {
    expect(parseReadConsistency('strong')).to.equal('strong');
    expect(parseReadConsistency(' Eventual ')).to.equal('eventual');
    expect(parseReadConsistency('DEFAULT')).to.equal('default');
    expect(parseReadConsistency('linearizable')).to.equal(null);
    expect(parseReadConsistency('')).to.equal(null);
    expect(readsFromReplica('eventual')).to.equal(true);
    expect(readsFromReplica('strong')).to.equal(false);
  });

  it('needs as many replicas as a write, at least one, none without replicas', () => {
    expect(confirmQuorum(0, 1)).to.equal(0);
    expect(confirmQuorum(1, 0)).to.equal(1);
    expect(confirmQuorum(1, 1)).to.equal(1);
    expect(confirmQuorum(2, 1)).to.equal(1);
    expect(confirmQuorum(2, 2)).to.equal(2);
    expect(confirmQuorum(2, 5)).to.equal(2);
  });

  it('confirms when enough replicas follow this primary at its epoch', () => {
    const c = judgeConfirmation(me, [follower('r1'), null]);
    expect(c).to.deep.equal({ confirmed: true, confirmedBy: ['r1'] });
    expect(judgeConfirmation({ ...me, quorum: 2 }, [follower('r1'), null]).confirmed).to.equal(false);
  });

  it('refuses a deposed primary: a replica knows a newer epoch (the failover fence)', () => {
    const c = judgeConfirmation(me, [follower('r1', 6), follower('r2')]);
    expect(c.confirmed).to.equal(false);
    if (!c.confirmed) {
      expect(c.newerEpoch).to.equal(6);
      expect(c.reason).to.match(/epoch 6, newer than this primary's 5/);
    }
  });

  it('does not count replicas that follow another node, a primary, or no answer', () => {
    expect(judgeConfirmation(me, [follower('r1', 5, 'q')]).confirmed).to.equal(false);
    expect(judgeConfirmation(me, [{ name: 'r1', epoch: 5, role: 'primary', primary: null }]).confirmed).to.equal(false);
    const none = judgeConfirmation(me, [null, null]);
    expect(none.confirmed).to.equal(false);
    if (!none.confirmed) expect(none.reason).to.equal('0 of 1 needed replicas confirmed this primary at epoch 5 (0 of 2 answered)');
  });

  it('never confirms a replica or a fenced primary', () => {
    expect(judgeConfirmation({ ...me, role: 'replica' }, [follower('r1')]).confirmed).to.equal(false);
    expect(judgeConfirmation({ ...me, fenced: true }, [follower('r1')]).confirmed).to.equal(false);
  });

  it('reports replica lag only while streaming', () => {
    expect(replicaLag({ streaming: false, announcedSeq: 10, appliedSeq: 5, syncedAt: 0, now: 10 })).to.equal(null);
    expect(replicaLag({ streaming: true, announcedSeq: 10, appliedSeq: 5, syncedAt: null, now: 10 })).to.equal(null);
    expect(replicaLag({ streaming: true, announcedSeq: 10, appliedSeq: 12, syncedAt: 100, now: 350.4 })).to.deep.equal({ ops: 0, ms: 250 });
    expect(replicaLag({ streaming: true, announcedSeq: 10, appliedSeq: 7, syncedAt: 100, now: 100 })).to.deep.equal({ ops: 3, ms: 0 });
  });
});

describe('ReadConfirmer', () => {
  function setup(answer: (round: number) => PeerView | Error) {
    const starts: number[] = [];
    const releases: Array<() => void> = [];
    const confirmer = new ReadConfirmer({
      facts: () => me,
      replicas: () => [{ name: 'r1', host: '127.0.0.1', busPort: 1 }],
      probe: () => {
        const round = starts.length;
        starts.push(round);
        return new Promise<PeerView>((resolve, reject) => {
          releases.push(() => {
            const a = answer(round);
            if (a instanceof Error) reject(a);
            else resolve(a);
          });
        });
      },
    });
    return { confirmer, starts, releases };
  }
  const tick = () => new Promise<void>((r) => setImmediate(r));

  it('makes a read that arrives during a round wait for the next one; later arrivals share it', async () => {
    const { confirmer, starts, releases } = setup(() => follower('r1'));
    const a = confirmer.confirm();
    await tick();
    const b = confirmer.confirm();
    const c = confirmer.confirm();
    expect(starts.length).to.equal(1);
    releases[0]!();
    await a;
    await tick();
    expect(starts.length).to.equal(2); // b and c share round 2
    releases[1]!();
    await Promise.all([b, c]);
    expect(confirmer.rounds).to.equal(2);
  });

  it('rejects with ReadNotConfirmedError when the replica is gone or knows a newer epoch', async () => {
    const gone = setup(() => new Error('timeout'));
    const p = gone.confirmer.confirm();
    await tick();
    gone.releases[0]!();
    await p.then(() => expect.fail('confirmed'), (err: unknown) => expect(err).to.be.instanceOf(ReadNotConfirmedError));
    const deposed = setup(() => follower('r1', 7));
    const q = deposed.confirmer.confirm();
    await tick();
    deposed.releases[0]!();
    await q.then(() => expect.fail('confirmed'), (err: unknown) => expect((err as Error).message).to.match(/epoch 7/));
  });
});
