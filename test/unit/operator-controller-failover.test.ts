/**
 * The failover runner (operator/controller/failover-runner.ts) over fake
 * nodes and a fake platform (test/support/controller-fakes.ts): every stage
 * of a failover and a switchover, the ways they stop or change course, and
 * a controller that dies between any two stages (or in the middle of one)
 * and is started again on what it recorded.
 */
import { expect } from 'chai';
import { CATCHUP_TIMEOUT_MS } from '../../operator/core/failover-step.js';
import type { ControllerState, FailoverStage, ShardState } from '../../operator/core/state.js';
import { bootstrappedCluster, ControllerRig, FakeClock, type FakeCluster, MemoryStateStore } from '../support/controller-fakes.js';

const S = 'shard-0';
const P = 'c-shard-0-0';
const R1 = 'c-shard-0-1';
const R2 = 'c-shard-0-2';

async function setup(spec: Parameters<typeof bootstrappedCluster>[0] = {}, hold: FailoverStage | null = null): Promise<{ rig: ControllerRig; cluster: FakeCluster; store: MemoryStateStore; clock: FakeClock }> {
  const { state, cluster } = bootstrappedCluster(spec);
  const store = new MemoryStateStore(state);
  const clock = new FakeClock();
  const rig = await ControllerRig.open(store, cluster, clock, { holdStage: hold });
  await rig.tick(); // first heartbeat: everyone answers
  cluster.write(P, 10);
  return { rig, cluster, store, clock };
}

/** Every promotion (a setRole that started a new term as primary), as "node@epoch". */
function promotions(cluster: FakeCluster): string[] {
  return [...cluster.node.values()].flatMap((n) => n.promotedAt.map((e) => `${n.name}@${e}`));
}

function shardOf(state: ControllerState): ShardState {
  return state.shards.find((s) => s.id === S)!;
}

/** Checks over everything the controller ever recorded: epochs only rise; the map never names a primary before currentPrimary does. */
function expectSaneHistory(store: MemoryStateStore): void {
  let epoch = 0;
  for (const st of store.saved) {
    const s = shardOf(st);
    expect(s.epoch).to.be.at.least(epoch);
    epoch = s.epoch;
    const inMap = st.map?.shards.find((m) => m.id === S)?.primary;
    if (inMap !== undefined) expect(inMap, 'the map names the recorded currentPrimary').to.equal(s.currentPrimary);
    if (s.failover !== null) expect(s.failover.promoteEpoch).to.be.greaterThan(s.epoch);
  }
}

describe('operator/controller failover runner (fake nodes)', () => {
  it('fails over a killed primary: fence → promote → publish, targetPrimary on disk before any node hears of it', async () => {
    const { rig, cluster, store } = await setup();
    const told: Array<{ stage: string | null; promoted: number }> = [];
    store.onSave = (st) => told.push({ stage: shardOf(st).failover?.stage ?? null, promoted: cluster.get(R1).promotedAt.length });
    cluster.kill(P);
    await rig.tickUntil(() => rig.shard(S).failover === null && rig.shard(S).currentPrimary !== P);

    const s = rig.shard(S);
    expect(s.currentPrimary).to.equal(R1); // tie on position: first name
    expect(s.targetPrimary).to.equal(R1);
    expect(s.epoch).to.equal(3); // fence at 2, promote at 3
    expect(rig.reasons()).to.include.members(['FailoverStarted', 'CandidateChosen', 'FailoverFinished']);
    expect(cluster.get(R1).role).to.equal('primary');
    expect(cluster.get(R1).epoch).to.equal(3);
    expect(cluster.get(R1).lastSeq).to.equal(10);
    expect(cluster.get(R2).role).to.equal('replica');
    expect(cluster.get(R2).primary?.name).to.equal(R1);
    expect(cluster.get(R2).epoch).to.equal(3);
    expect(rig.state.map!.shards.find((m) => m.id === S)!.primary).to.equal(R1);
    expect(rig.state.map!.epoch).to.equal(2);
    // The save that recorded stage promote came before the candidate was told anything.
    const promoteSave = told.find((t) => t.stage === 'promote')!;
    expect(promoteSave.promoted).to.equal(0);
    expect(promotions(cluster)).to.deep.equal([`${R1}@3`]);
    expect(rig.errors).to.deep.equal([]);
    expectSaneHistory(store);
  });

  it('refuses to promote when too few replicas answer the fence, says why once, and promotes once they do', async () => {
    const { rig, cluster, store } = await setup();
    cluster.kill(P);
    cluster.pause(R2);
    await rig.tickUntil(() => rig.shard(S).failover?.blocked != null);
    const f = rig.shard(S).failover!;
    expect(f.stage).to.equal('fence');
    expect(f.blocked).to.match(/^no promotion: 1 of 2 replicas answered/);
    expect(rig.shard(S).targetPrimary).to.equal(P);
    await rig.tick();
    await rig.tick();
    expect(rig.reasons().filter((r) => r === 'PromotionRefused')).to.have.length(1);
    expect(promotions(cluster)).to.deep.equal([]);

    cluster.resume(R2);
    await rig.tickUntil(() => rig.shard(S).failover === null);
    expect(rig.shard(S).epoch).to.equal(f.promoteEpoch);
    expect(rig.shard(S).currentPrimary).to.equal(R1);
    expect(promotions(cluster)).to.deep.equal([`${R1}@${f.promoteEpoch}`]);
    expectSaneHistory(store);
  });

  it('promotes the old primary back when it returns intact while too few replicas answer', async () => {
    const { rig, cluster } = await setup();
    cluster.kill(P);
    cluster.pause(R1);
    cluster.pause(R2);
    await rig.tickUntil(() => rig.shard(S).failover?.blocked != null);
    await cluster.restartNode(P); // back with its data, still primary at epoch 1
    await rig.tickUntil(() => rig.shard(S).failover === null);
    expect(rig.events.some((e) => e.reason === 'CandidateChosen' && /answers again and holds every acknowledged write/.test(e.message))).to.equal(true);
    expect(rig.shard(S).currentPrimary).to.equal(P);
    expect(rig.shard(S).epoch).to.equal(3);
    expect(cluster.get(P).role).to.equal('primary');
    expect(cluster.get(P).epoch).to.equal(3);
  });

  it('chooses again above every epoch used when the candidate dies before its promotion', async () => {
    const { rig, cluster, store, clock } = await setup({ replicasPerShard: 3, minSyncReplicas: 2 }, 'promote');
    cluster.kill(P);
    await rig.tickUntil(() => rig.shard(S).failover?.stage === 'promote');
    const first = rig.shard(S).failover!;
    expect(first.candidate).to.equal(R1);
    cluster.kill(R1);
    const next = await ControllerRig.open(store, cluster, clock);
    await next.tickUntil(() => next.shard(S).failover === null);
    expect(next.reasons()).to.include('CandidateLost');
    const s = next.shard(S);
    expect(s.currentPrimary).to.equal(R2);
    expect(s.epoch).to.equal(first.promoteEpoch + 2); // fenced again at promoteEpoch + 1
    expect(promotions(cluster)).to.deep.equal([`${R2}@${first.promoteEpoch + 2}`]);
    expectSaneHistory(store);
  });

  it('hands the primary role over in a switchover: restrict → catchup → promote → publish, nothing lost', async () => {
    const { rig, cluster, store } = await setup();
    const id = await rig.failovers.requestSwitchover(S, R2);
    const seen: string[] = [];
    store.onSave = (st) => { const f = shardOf(st).failover; if (f !== null && !seen.includes(f.stage)) seen.push(f.stage); };
    await rig.tickUntil(() => rig.shard(S).failover === null);
    expect(seen).to.deep.equal(['restrict', 'catchup', 'promote', 'publish']);
    expect(rig.events.find((e) => e.reason === 'SwitchoverFinished')?.message).to.match(new RegExp(`${R2} is the primary at epoch 2 \\(was ${P}`));
    expect(rig.events.find((e) => e.reason === 'SwitchoverStarted')?.message).to.contain(id);
    expect(rig.shard(S).currentPrimary).to.equal(R2);
    expect(cluster.get(P).role).to.equal('replica');
    expect(cluster.get(P).primary?.name).to.equal(R2);
    expect(cluster.get(R2).lastSeq).to.equal(10);
    // restrict told the old primary to count only the candidate, at its own epoch.
    expect(cluster.get(P).roleRequests[0]).to.deep.equal({ role: 'primary', epoch: 1, replicas: [R2] });
    expect(promotions(cluster).filter((p) => p.startsWith(R2))).to.deep.equal([`${R2}@2`]);
    expectSaneHistory(store);
  });

  it('turns a switchover into a failover when the old primary dies during catchup', async () => {
    const { rig, cluster, store, clock } = await setup({}, 'catchup');
    await rig.failovers.requestSwitchover(S, R2);
    await rig.tickUntil(() => rig.shard(S).failover?.stage === 'catchup');
    const sw = rig.shard(S).failover!;
    cluster.kill(P);
    const next = await ControllerRig.open(store, cluster, clock);
    await next.tickUntil(() => next.shard(S).failover === null);
    const turned = next.events.find((e) => e.reason === 'FailoverStarted')!;
    expect(turned.message).to.match(/switchover .* turned into a failover: the primary stopped answering/);
    expect(next.shard(S).epoch).to.equal(sw.promoteEpoch + 2);
    expect(next.shard(S).currentPrimary).to.not.equal(P);
    expectSaneHistory(store);
  });

  it('keeps a switchover at catchup while the candidate is behind, and gives it up after the catchup timeout', async () => {
    const { rig, cluster } = await setup({}, 'catchup');
    await rig.failovers.requestSwitchover(S, R2);
    await rig.tickUntil(() => rig.shard(S).failover?.stage === 'catchup');
    cluster.get(R2).streaming = false; // the candidate falls behind
    cluster.write(P, 5);
    const next = await ControllerRig.open(rig.store, cluster, rig.clock);
    await next.tick();
    expect(next.shard(S).failover?.stage).to.equal('catchup');
    expect(next.shard(S).failover?.kind).to.equal('switchover');
    rig.clock.advance(CATCHUP_TIMEOUT_MS + 1);
    await next.tick();
    expect(next.shard(S).failover).to.equal(null);
    expect(next.shard(S).currentPrimary).to.equal(P);
    expect(next.shard(S).targetPrimary).to.equal(P);
    expect(next.reasons()).to.include('SwitchoverAbandoned');
    expect(promotions(cluster)).to.deep.equal([]);
  });

  describe('a controller that dies and is started again on what it recorded', () => {
    /** The outcome of an uninterrupted failover of a killed primary. */
    async function reference(kind: 'failover' | 'switchover'): Promise<{ primary: string; epoch: number }> {
      const { rig, cluster } = await setup();
      if (kind === 'failover') cluster.kill(P);
      else await rig.failovers.requestSwitchover(S);
      await rig.tickUntil(() => rig.shard(S).failover === null && rig.shard(S).epoch > 1);
      return { primary: rig.shard(S).currentPrimary, epoch: rig.shard(S).epoch };
    }

    const cases: Array<['failover' | 'switchover', FailoverStage[]]> = [
      ['failover', ['fence', 'promote', 'publish']],
      ['switchover', ['restrict', 'catchup', 'promote', 'publish']],
    ];
    for (const [kind, stages] of cases) {
      for (const stage of stages) {
        it(`finishes a ${kind} stopped before stage ${stage} the same way, promoting once`, async () => {
          const want = await reference(kind);
          const { rig, cluster, store, clock } = await setup({}, stage);
          if (kind === 'failover') cluster.kill(P);
          else await rig.failovers.requestSwitchover(S);
          await rig.tickUntil(() => rig.shard(S).failover?.stage === stage);
          const held = rig.shard(S).failover!;
          const next = await ControllerRig.open(store, cluster, clock);
          await next.tickUntil(() => next.shard(S).failover === null);
          expect(next.shard(S).currentPrimary).to.equal(want.primary);
          expect(next.shard(S).epoch).to.equal(want.epoch);
          expect(next.shard(S).epoch).to.equal(held.promoteEpoch);
          expect(promotions(cluster).filter((p) => p.endsWith(`@${held.promoteEpoch}`))).to.deep.equal([`${want.primary}@${held.promoteEpoch}`]);
          expect(next.events.find((e) => e.reason === 'FailoverStarted' || e.reason === 'SwitchoverStarted')).to.equal(undefined);
          expectSaneHistory(store);
        });
      }
    }

    for (const kind of ['failover', 'switchover'] as const) {
      it(`finishes a ${kind} the same way whichever of its saves the controller died after`, async () => {
        const act = async (rig: ControllerRig, cluster: FakeCluster): Promise<void> => {
          if (kind === 'failover') cluster.kill(P);
          else await rig.failovers.requestSwitchover(S);
        };
        const finished = (rig: ControllerRig): boolean => rig.shard(S).failover === null && rig.shard(S).epoch > 1;
        const ref = await setup();
        const first = ref.store.saved.length;
        await act(ref.rig, ref.cluster);
        await ref.rig.tickUntil(() => finished(ref.rig));
        const want = { primary: ref.rig.shard(S).currentPrimary, epoch: ref.rig.shard(S).epoch, promotions: promotions(ref.cluster) };
        const total = ref.store.saved.length;
        expect(total - first).to.be.at.least(3);
        for (let k = first; k < total; k++) {
          const { rig, cluster, store, clock } = await setup();
          store.crashAfterSaves(k);
          // A request the controller died recording was refused: asked again of its successor below.
          const accepted = await act(rig, cluster).then(() => true, () => false);
          if (accepted) {
            await rig.tickUntil(() => rig.dead || finished(rig));
            expect(rig.dead, `died after save ${k}`).to.equal(true);
          }
          store.revive();
          const next = await ControllerRig.open(store, cluster, clock);
          if (!accepted) {
            await next.tick(); // its first heartbeat: a switchover needs the primary's status
            await act(next, cluster);
          }
          await next.tickUntil(() => finished(next));
          expect({ primary: next.shard(S).currentPrimary, epoch: next.shard(S).epoch, promotions: promotions(cluster) }, `died after save ${k}`).to.deep.equal(want);
          expect(next.errors).to.deep.equal([]);
          expectSaneHistory(store);
        }
      });
    }

    it('does not promote twice when it died after promoting but before recording stage publish', async () => {
      const { rig, cluster, store, clock } = await setup();
      store.crashBefore = (st) => shardOf(st).failover?.stage === 'publish';
      cluster.kill(P);
      await rig.tickUntil(() => rig.dead);
      expect(rig.shard(S).failover?.stage).to.equal('promote');
      expect(cluster.get(R1).role).to.equal('primary');
      store.revive();
      const next = await ControllerRig.open(store, cluster, clock);
      await next.tickUntil(() => next.shard(S).failover === null);
      expect(next.shard(S).currentPrimary).to.equal(R1);
      expect(promotions(cluster)).to.deep.equal([`${R1}@3`]);
      expectSaneHistory(store);
    });
  });
});
