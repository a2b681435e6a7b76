/**
 * The rolling update's decision (operator/kube/reconcile/rollout-plan.ts):
 * pods on an old revision restart one at a time, replicas before primaries,
 * only while the cluster is Ready, and the next only once the last one's
 * pod was recreated and is Ready.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { planRollout, type RolloutInput, type RolloutPod } from '../../operator/kube/reconcile/rollout-plan.js';

function pods(revisions: Record<string, string>, over: Partial<RolloutPod> = {}): RolloutPod[] {
  return Object.entries(revisions).map(([name, revision]) => {
    const [, shard, ord] = /-(\d+)-(\d+)$/.exec(name)!;
    return { name, uid: `${name}-uid`, shardIndex: Number(shard), ordinal: Number(ord), revision, ready: true, deleting: false, ...over };
  });
}

const SHARDS = [
  { index: 0, primary: 'c-shard-0-0', members: ['c-shard-0-0', 'c-shard-0-1', 'c-shard-0-2'], changingPrimary: false },
  { index: 1, primary: 'c-shard-1-1', members: ['c-shard-1-0', 'c-shard-1-1'], changingPrimary: false },
];
const SETS = [{ shardIndex: 0, updateRevision: 'new0' }, { shardIndex: 1, updateRevision: 'new1' }];
const ALL_OLD = { 'c-shard-0-0': 'old0', 'c-shard-0-1': 'old0', 'c-shard-0-2': 'old0', 'c-shard-1-0': 'old1', 'c-shard-1-1': 'old1' };

function input(over: Partial<RolloutInput> = {}): RolloutInput {
  return { phase: 'Ready', operation: null, shards: SHARDS, sets: SETS, pods: pods(ALL_OLD), inFlight: null, now: 1000, ...over };
}

describe('operator/kube rollout plan', () => {
  it('does nothing when every pod runs the update revision', () => {
    const current = pods({ 'c-shard-0-0': 'new0', 'c-shard-0-1': 'new0', 'c-shard-0-2': 'new0', 'c-shard-1-0': 'new1', 'c-shard-1-1': 'new1' });
    expect(planRollout(input({ pods: current }))).to.deep.equal({ do: 'none' });
  });

  it('restarts a replica first, the highest ordinal of the first shard', () => {
    expect(planRollout(input())).to.deep.include({ do: 'restart', node: 'c-shard-0-2', primary: false, pending: 5 });
  });

  it('restarts primaries last', () => {
    const left = pods({ 'c-shard-0-0': 'old0', 'c-shard-0-1': 'new0', 'c-shard-0-2': 'new0', 'c-shard-1-0': 'new1', 'c-shard-1-1': 'old1' });
    expect(planRollout(input({ pods: left }))).to.deep.include({ do: 'restart', node: 'c-shard-0-0', primary: true, pending: 2 });
  });

  it('waits while the cluster is not Ready, an operation or a change of primary runs, or a member is not Ready', () => {
    expect(planRollout(input({ phase: 'Degraded' })).do).to.equal('wait');
    expect(planRollout(input({ operation: 'op-1 (scale)' })).do).to.equal('wait');
    expect(planRollout(input({ shards: [{ ...SHARDS[0]!, changingPrimary: true }, SHARDS[1]!] })).do).to.equal('wait');
    const unready = pods(ALL_OLD).map((p) => (p.name === 'c-shard-1-0' ? { ...p, ready: false } : p));
    expect(planRollout(input({ pods: unready }))).to.deep.include({ do: 'wait' });
    expect(planRollout(input({ sets: [{ shardIndex: 0, updateRevision: null }, SETS[1]!] })).do).to.equal('wait');
  });

  it('waits for the last restart: pod recreated (new uid) and Ready', () => {
    const inFlight = { node: 'c-shard-0-2', uid: 'c-shard-0-2-uid', startedAt: 900 };
    expect(planRollout(input({ inFlight }))).to.deep.include({ do: 'wait', why: 'restarting c-shard-0-2' });
    const recreated = pods(ALL_OLD).map((p) => (p.name === 'c-shard-0-2' ? { ...p, uid: 'fresh', revision: 'new0', ready: false } : p));
    expect(planRollout(input({ inFlight, pods: recreated }))).to.deep.include({ do: 'wait' });
    const ready = recreated.map((p) => (p.name === 'c-shard-0-2' ? { ...p, ready: true } : p));
    expect(planRollout(input({ inFlight, pods: ready }))).to.deep.include({ do: 'restart', node: 'c-shard-0-1', pending: 4 });
    expect(planRollout(input({ inFlight, now: 900 + 301_000 }))).to.deep.include({ do: 'wait', dropInFlight: true });
  });

  it('restarts at most one pod per decision and never a primary while a replica of any shard is outdated (property)', () => {
    const names = Object.keys(ALL_OLD);
    fc.assert(fc.property(fc.array(fc.boolean(), { minLength: names.length, maxLength: names.length }), (outdated) => {
      const revs = Object.fromEntries(names.map((n, i) => [n, outdated[i] ? `old${n.at(-3)}` : `new${n.at(-3)}`]));
      const plan = planRollout(input({ pods: pods(revs) }));
      const pending = outdated.filter(Boolean).length;
      if (pending === 0) {
        expect(plan.do).to.equal('none');
        return;
      }
      expect(plan.do).to.equal('restart');
      if (plan.do !== 'restart') return;
      expect(revs[plan.node]!.startsWith('old')).to.equal(true);
      const outdatedReplica = names.some((n, i) => outdated[i] && !SHARDS.some((s) => s.primary === n));
      if (outdatedReplica) expect(plan.primary).to.equal(false);
    }));
  });
});
