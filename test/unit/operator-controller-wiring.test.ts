/**
 * The Controller as operator/local and operator/kube build it, wired to
 * fakes through its options (nodeApi, holdFailoverStage): its own loop
 * carries a request through, a held controller stops before the stage it
 * was given, and irisctl passes that test-only stage on.
 */
import { expect } from 'chai';
import { silentLogger } from '../../common/logger.js';
import { parseCommandLine } from '../../operator/cli/args.js';
import { Controller } from '../../operator/controller/controller.js';
import type { ControllerEvent } from '../../operator/controller/context.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import { bootstrappedCluster, type FakeCluster, MemoryStateStore } from '../support/controller-fakes.js';

function nextEvent(c: Controller, reason: string): Promise<ControllerEvent> {
  return new Promise((resolve) => c.onEvent((e) => { if (e.reason === reason) resolve(e); }));
}

async function start(cluster: FakeCluster, store: MemoryStateStore, holdFailoverStage: 'promote' | null = null): Promise<Controller> {
  const state = (await store.load())!;
  return Controller.start({
    cluster: state.cluster, spec: state.spec, platform: cluster, store, token: 't', logger: silentLogger(),
    nodeApi: cluster.nodeApi, holdFailoverStage,
  });
}

describe('operator/controller Controller wiring (fake nodes)', () => {
  it('carries a requested switchover through its own loop, reaching the nodes through the injected clients', async () => {
    const { state, cluster } = bootstrappedCluster({ heartbeatMs: 50 });
    const store = new MemoryStateStore(state);
    const c = await start(cluster, store);
    try {
      const finished = nextEvent(c, 'SwitchoverFinished');
      // The first heartbeat must have answered before a switchover can be asked (it reads the primary's status).
      await new Promise<void>((resolve) => {
        const check = (): void => { if (c.status().shards[0]!.nodes.every((n) => n.up)) resolve(); else setTimeout(check, 5); };
        check();
      });
      const accepted = await c.switchover('shard-0', 'c-shard-0-2');
      const e = await finished;
      expect(e.message).to.contain('c-shard-0-2 is the primary at epoch 2');
      expect(accepted.id).to.match(/^switchover-/);
      expect(cluster.get('c-shard-0-2').role).to.equal('primary');
    } finally {
      await c.stop();
    }
    expect(store.last.shards[0]!.currentPrimary).to.equal('c-shard-0-2');
  });

  it('stops every change of primary before the held stage (tests only)', async () => {
    const { state, cluster } = bootstrappedCluster({ heartbeatMs: 50 });
    const store = new MemoryStateStore(state);
    const c = await start(cluster, store, 'promote');
    try {
      const chosen = nextEvent(c, 'CandidateChosen');
      cluster.kill('c-shard-0-0');
      await chosen;
    } finally {
      await c.stop(); // the tick that chose the candidate has ended: unheld, it would have promoted it in the same step
    }
    const f = store.last.shards[0]!.failover!;
    expect(f.stage).to.equal('promote');
    expect([...cluster.node.values()].flatMap((n) => n.promotedAt)).to.deep.equal([]);
  });

  it('irisctl local up passes --test-hold-failover-stage on and refuses an unknown stage', () => {
    expect(parseCommandLine(['local', 'up', '--test-hold-failover-stage', 'publish'])).to.deep.equal({
      kind: 'local-up', dir: '.irisdb', spec: DEFAULT_SPEC, basePort: 7000, holdFailoverStage: 'publish',
    });
    expect(() => parseCommandLine(['local', 'up', '--test-hold-failover-stage', 'later'])).to.throw(/--test-hold-failover-stage must be one of fence, restrict, catchup, promote, publish/);
  });
});
