/**
 * The controller is kill -9'd in the middle of its work and started again on
 * the same directory (issue #5, item 6): it resumes from the progress it
 * recorded in DIR/controller.json and finishes, and the nodes serve on
 * while it is away.
 * - Migration: a rescale 3 → 4 of 200k preloaded keys, killed while one of
 *   its migrations is copying. The same operation finishes (no second
 *   RebalanceStarted), the slots end balanced over 4 shards, and neither an
 *   acknowledged write nor a preloaded key is lost.
 * - Failover blocked at fence: a shard's primary and its only replica are
 *   SIGSTOPped, so the failover cannot promote anyone. Killed and restarted,
 *   the controller shows the same failover (same id, stage fence); with the
 *   replica back it promotes it, and the old primary rejoins as a replica.
 * - Failover past fence: with the test-only --test-hold-failover-stage flag
 *   the controller stops a failover once targetPrimary is recorded (stage
 *   promote) or once the candidate is promoted on the nodes but not yet in
 *   the map (stage publish); its successor, started without the switch,
 *   finishes that failover with the recorded candidate and epoch.
 */
import { expect } from 'chai';
import { AdminApiError } from '../../common/admin-client.js';
import { MigrationAdminClient } from '../../common/migration-admin-client.js';
import { SLOT_COUNT } from '../../common/slot.js';
import type { ShardView } from '../../operator/core/observation.js';
import type { FailoverProgress, FailoverStage } from '../../operator/core/state.js';
import { readLocalState } from '../../operator/local/local-state.js';
import { isAlive } from '../../common/process-alive.js';
import { LocalCluster } from '../support/local-cluster.js';
import { waitFor } from '../support/wait.js';
import { ClusterLoad, expectAckedReadable, preload, preValue } from './migration-support.js';

/** ioredis follows MOVED/ASK/TRYAGAIN itself; what may surface is a command unanswered in time (a paused node, a busy 2-core machine). */
const ALLOWED_ERROR = /Command timed out/;

async function waitForOps(load: ClusterLoad, n: number, what = 'the load'): Promise<void> {
  await waitFor(`${what} to reach ${n} acknowledged writes`, () => load.ops >= n, { timeoutMs: 60_000, intervalMs: 50 });
}

/** Every node the registry lists has a live process (paused ones included). */
async function expectNodesRunning(cluster: LocalCluster, count: number): Promise<void> {
  const reg = await readLocalState(cluster.dir);
  const nodes = Object.entries(reg!.nodes);
  expect(nodes).to.have.length(count);
  for (const [name, rec] of nodes) expect(rec.pid !== null && isAlive(rec.pid), `${name} runs`).to.equal(true);
}

/** Kills the controller and checks that the nodes keep running and the load keeps being served. */
async function killControllerUnderLoad(cluster: LocalCluster, load: ClusterLoad, nodes: number): Promise<void> {
  const pid = cluster.controllerPid!;
  await cluster.killController();
  expect(isAlive(pid)).to.equal(false);
  await expectNodesRunning(cluster, nodes);
  await waitForOps(load, load.ops + 100, 'the load, with no controller');
}

function countLines(text: string, re: RegExp): number {
  return text.split('\n').filter((l) => re.test(l)).length;
}

describe('local cluster: controller restart in the middle of a migration', function () {
  this.timeout(900_000);
  let cluster: LocalCluster;
  let seed: number;
  let preloaded: string[];
  let load: ClusterLoad | null = null;

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 1 });
    seed = (await cluster.shard('shard-0')).nodes[0]!.port!;
    // Enough that each of the three moves copies ~17k keys: it is caught copying.
    preloaded = await preload(seed, [[0, SLOT_COUNT - 1]], 200_000);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`controller output (last 6000 characters):\n${cluster?.output().slice(-6000)}`);
  });

  after(async () => {
    load?.stop();
    await load?.done();
    await cluster?.destroy();
  });

  it('resumes the rescale 3 → 4 from its recorded progress and finishes it, losing nothing', async () => {
    load = new ClusterLoad(seed, { keyPrefix: 'mig-', clients: 2, workers: 3, keysPerWorker: 200, maxOps: 500_000, deadlineMs: 800_000, commandTimeoutMs: 2000 });
    await waitForOps(load, 300);
    const token = await cluster.token();
    const urls = new Map((await cluster.status()).shards.flatMap((s) => s.nodes).map((n) => [n.name, n.httpUrl!] as const));

    const accepted = await cluster.client.scale({ shards: 4 });
    expect(accepted.id).to.not.equal('');
    // A migration the controller recorded, copying on its source primary right now.
    const caught = await waitFor('a migration of the rescale to be copying', async () => {
      const op = (await cluster.controllerState())?.operation ?? null;
      const ref = op?.migration ?? null;
      if (op === null || ref === null || !urls.has(ref.sourceNode)) return null;
      try {
        const st = await new MigrationAdminClient(urls.get(ref.sourceNode)!, token, 2000).get(ref.id);
        return st.stage === 'copying' ? { op, ref } : null;
      } catch (err) {
        if (err instanceof AdminApiError && err.status === 404) return null; // recorded, not started yet
        throw err;
      }
    }, { timeoutMs: 300_000, intervalMs: 20 });
    expect(caught.op.id).to.equal(accepted.id);

    await killControllerUnderLoad(cluster, load, 8);
    // What the successor starts from: the same operation, with the same migration in flight.
    const recorded = (await cluster.controllerState())!.operation!;
    expect(recorded.id).to.equal(accepted.id);
    expect(recorded.done).to.equal(caught.op.done);
    expect(recorded.migration?.id).to.equal(caught.ref.id);

    const mark = cluster.output().length;
    cluster.spawnController();
    const first = await waitFor('the restarted controller to answer', () => cluster.status(), { timeoutMs: 60_000, intervalMs: 100 });
    if (first.operation !== null) expect(first.operation.id).to.equal(accepted.id);
    const st = await cluster.waitReady(600_000);
    const restarted = cluster.output().slice(mark);
    expect(restarted).to.match(/ControllerStarted: resuming cluster .*; resuming scale shards 3 → 4 at stage migrate/);
    expect(countLines(cluster.output(), /RebalanceStarted:/)).to.equal(1);
    expect(countLines(restarted, /RebalanceFinished: scale shards 3 → 4/)).to.equal(1);
    // The migration caught copying was finished, not started again under a new id.
    expect(restarted).to.not.match(/MigrationRestarted|MigrationRolledBack/);
    expect(countLines(cluster.output(), /MigrationStarted:/)).to.equal(recorded.moves.length);

    expect(st.shards.map((s) => s.id)).to.deep.equal(['shard-0', 'shard-1', 'shard-2', 'shard-3']);
    expect(await cluster.slotBalanceProblems(4)).to.deep.equal([]);
    expect(st.shards.every((s) => s.slotCount === SLOT_COUNT / 4)).to.equal(true);

    await waitForOps(load, load.ops + 300);
    load.stop();
    await load.done();
    expect(load.errors.filter((e) => !ALLOWED_ERROR.test(e))).to.deep.equal([]);
    expect(load.errors.length, load.errors.slice(0, 5).join('; ')).to.be.at.most(20);
    expect(load.staleReads.slice(0, 5)).to.deep.equal([]);
    await expectAckedReadable(seed, load.log);
    const values = await cluster.getAll(preloaded);
    const wrong = preloaded.filter((k, i) => values[i] !== preValue(k));
    expect(wrong.slice(0, 10), `${wrong.length} preloaded keys wrong`).to.deep.equal([]);
  });
});

describe('local cluster: controller restart in the middle of a failover', function () {
  this.timeout(900_000);
  let cluster: LocalCluster;
  let seed: number;
  const paused = new Set<number>();

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 1 });
    seed = (await cluster.shard('shard-0')).nodes[0]!.port!;
  });

  afterEach(function () {
    resumeAll();
    if (this.currentTest?.state === 'failed') console.log(`controller output (last 6000 characters):\n${cluster?.output().slice(-6000)}`);
  });

  after(async () => {
    resumeAll();
    await cluster?.destroy();
  });

  async function stopLoad(load: ClusterLoad): Promise<void> {
    load.stop();
    await load.done();
  }

  function resumeAll(): void {
    for (const pid of paused) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch { /* gone */ }
    }
    paused.clear();
  }

  function pause(pid: number): void {
    paused.add(pid);
    process.kill(pid, 'SIGSTOP');
  }

  function resume(pid: number): void {
    process.kill(pid, 'SIGCONT');
    paused.delete(pid);
  }

  /**
   * 8 workers per client, not 3: with a shard paused, a worker stalls a full command timeout on each of its keys
   * there (about one command in three), so the writes the test waits for arrive at a rate set by the number of
   * workers, not by the machine: 100 writes took 10-13 s with 6 workers, each of the six waits below.
   */
  function newLoad(prefix: string): ClusterLoad {
    return new ClusterLoad(seed, { keyPrefix: prefix, clients: 2, workers: 8, keysPerWorker: 200, maxOps: 200_000, deadlineMs: 400_000, commandTimeoutMs: 1000 });
  }

  /**
   * Run after every paused node is resumed: the checker reads every key through a client without a command timeout.
   * The 500 writes before the fault keep ackedWrites > 500 however fast the rest goes. After the failover the load
   * only has to go on: 100 more writes. (While the old primary, now the shard's only replica, is paused, writes to
   * that shard wait for its ack (dataDurability required) until the client's 1 s timeout, so the load crawls on the
   * other shards: 300 more took ~35 s of each test's ~55.)
   */
  async function checkLoad(load: ClusterLoad): Promise<void> {
    expect(load.errors.filter((e) => !ALLOWED_ERROR.test(e))).to.deep.equal([]);
    expect(load.staleReads.slice(0, 5)).to.deep.equal([]);
    expect(load.log.ackedWrites).to.be.greaterThan(500);
    await expectAckedReadable(seed, load.log);
  }

  /** The recorded failover of `shardId` (DIR/controller.json), once `accept` holds for it. */
  async function recordedFailover(shardId: string, accept: (f: FailoverProgress) => boolean, what: string): Promise<FailoverProgress> {
    return waitFor(what, async () => {
      const f = (await cluster.controllerState())?.shards.find((s) => s.id === shardId)?.failover ?? null;
      return f !== null && accept(f) ? f : null;
    }, { timeoutMs: 60_000, intervalMs: 50 });
  }

  /** `old` is back in `shardId` as a streaming, caught-up replica at the shard's epoch. */
  async function waitRejoined(shardId: string, old: string): Promise<ShardView> {
    return waitFor(`${old} to rejoin ${shardId} as a replica and catch up`, async () => {
      const s = await cluster.shard(shardId);
      const n = s.nodes.find((x) => x.name === old);
      return n !== undefined && n.up && n.role === 'replica' && n.epoch === s.epoch && n.link === 'streaming' && n.lagOps === 0 ? s : null;
    }, { timeoutMs: 60_000, intervalMs: 100 });
  }

  it('keeps a failover blocked at fence across a restart (same id) and completes it once the replica is back', async () => {
    const load = newLoad('fence-');
    try {
      await waitForOps(load, 500);
      const before = await cluster.shard('shard-1');
      const old = before.primary;
      const replica = before.nodes.find((n) => n.name !== old)!.name;
      const oldPid = await cluster.pidOf(old);
      const replicaPid = await cluster.pidOf(replica);
      // The primary first: from then on nothing can change which replicas it counts.
      pause(oldPid);
      pause(replicaPid);
      const blocked = await waitFor('the failover to stop at fence and say why', async () => {
        const f = (await cluster.shard('shard-1')).failover;
        return f !== null && f.stage === 'fence' && f.blocked !== null ? f : null;
      }, { timeoutMs: 60_000, intervalMs: 100 });
      expect(blocked.blocked).to.match(/^no promotion/);
      expect(blocked.oldPrimary).to.equal(old);

      await killControllerUnderLoad(cluster, load, 6);
      const mark = cluster.output().length;
      cluster.spawnController();
      // Adopting the paused nodes takes the platform a few seconds; then the same failover shows, still at fence.
      const again = await waitFor('the restarted controller to show the failover', async () => (await cluster.shard('shard-1')).failover, { timeoutMs: 60_000, intervalMs: 100 });
      expect(again.id).to.equal(blocked.id);
      expect(again.stage).to.equal('fence');
      expect(again.startedAt).to.equal(blocked.startedAt);
      await waitFor('the restarted controller to say why it does not promote', async () => {
        const st = await cluster.status();
        return st.shards[1]!.failover?.blocked != null && st.messages.some((m) => m.includes('no promotion'));
      }, { timeoutMs: 60_000, intervalMs: 100 });
      expect((await cluster.shard('shard-1')).primary).to.equal(old);
      // The control API answers before irisctl prints the events recorded at start: wait for the line, then check it.
      await waitFor('the restarted controller to print that it resumes', () => /ControllerStarted:/.test(cluster.output().slice(mark)), { timeoutMs: 30_000, intervalMs: 50 });
      expect(cluster.output().slice(mark)).to.match(/ControllerStarted: resuming cluster .*; resuming failover of shard-1 at stage fence/);

      resume(replicaPid);
      const after = await waitFor(`${replica} to be promoted`, async () => {
        const s = await cluster.shard('shard-1');
        return s.failover === null && s.primary === replica && s.nodes.find((n) => n.name === replica)?.role === 'primary' ? s : null;
      }, { timeoutMs: 60_000, intervalMs: 100 });
      expect(after.epoch).to.equal(blocked.promoteEpoch);
      expect(after.epoch).to.be.greaterThan(before.epoch);
      expect(countLines(cluster.output(), /FailoverStarted: failover of shard-1/)).to.equal(1);
      await waitForOps(load, load.ops + 100, 'the load, after the failover');

      resume(oldPid);
      await waitRejoined('shard-1', old);
      expect(await cluster.pidOf(old)).to.equal(oldPid); // fenced and re-pointed, never restarted
    } finally {
      await stopLoad(load);
    }
    await checkLoad(load);
  });

  for (const [stage, shardId] of [['promote', 'shard-2'], ['publish', 'shard-1']] as Array<[FailoverStage, string]>) {
    it(`resumes a failover stopped at stage ${stage} (targetPrimary recorded) after a restart, with the recorded candidate and epoch`, async () => {
      const start = cluster.output().length;
      // A controller that stops every change of primary before acting on `stage`.
      await cluster.killController();
      cluster.spawnController({}, ['--test-hold-failover-stage', stage]);
      await cluster.waitReady(120_000);
      const load = newLoad(`hold-${stage}-`);
      try {
        await waitForOps(load, 500);
        const before = await cluster.shard(shardId);
        const old = before.primary;
        const oldPid = await cluster.pidOf(old);
        pause(oldPid);
        const held = await recordedFailover(shardId, (f) => f.stage === stage, `the failover of ${shardId} to reach stage ${stage}`);
        expect(held.candidate).to.be.a('string').and.not.equal(old);
        const candidate = held.candidate!;
        const recordedShard = (await cluster.controllerState())!.shards.find((s) => s.id === shardId)!;
        expect(recordedShard.targetPrimary).to.equal(candidate);
        expect(recordedShard.currentPrimary).to.equal(old);
        // Status shows the held failover (a heartbeat after the stage was recorded, so the candidate's role is current):
        // at promote, no node was told yet and the candidate is still a replica; at publish it leads at the new
        // epoch while the map and currentPrimary do not name it yet.
        const want = stage === 'promote' ? { role: 'replica', below: true } : { role: 'primary', below: false };
        const view = await waitFor('the status to show the held failover', async () => {
          const s = await cluster.shard(shardId);
          const c = s.nodes.find((n) => n.name === candidate);
          const atEpoch = c?.epoch != null && (want.below ? c.epoch < held.promoteEpoch : c.epoch === held.promoteEpoch);
          return s.failover?.stage === stage && c?.up === true && c.role === want.role && atEpoch ? s : null;
        }, { timeoutMs: 30_000, intervalMs: 100 });
        expect(view.targetPrimary).to.equal(candidate);
        expect(view.primary).to.equal(old);
        expect(view.failover!.id).to.equal(held.id);

        await killControllerUnderLoad(cluster, load, 6);
        const mark = cluster.output().length;
        cluster.spawnController();
        const after = await waitFor(`the failover of ${shardId} to finish`, async () => {
          const s = await cluster.shard(shardId);
          return s.failover === null && s.primary === candidate && s.nodes.find((n) => n.name === candidate)?.role === 'primary' ? s : null;
        }, { timeoutMs: 60_000, intervalMs: 100 });
        expect(after.epoch).to.equal(held.promoteEpoch);
        expect(after.targetPrimary).to.equal(candidate);
        const restarted = cluster.output().slice(mark);
        expect(restarted).to.contain(`resuming failover of ${shardId} at stage ${stage}`);
        expect(restarted).to.match(new RegExp(`FailoverFinished: ${shardId}: ${candidate} is the primary at epoch ${held.promoteEpoch}`));
        expect(countLines(cluster.output().slice(start), new RegExp(`FailoverStarted: failover of ${shardId}`))).to.equal(1);
        await waitForOps(load, load.ops + 100, 'the load, after the failover');

        resume(oldPid);
        await waitRejoined(shardId, old);
        await cluster.waitReady(60_000);
      } finally {
        await stopLoad(load);
      }
      await checkLoad(load);
    });
  }
});
