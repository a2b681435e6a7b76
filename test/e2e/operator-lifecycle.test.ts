/**
 * The operator changing a running cluster (issue 7, items 4, 5 and 6), on a
 * 3-shard × 1-replica IrisCluster holding 100k preloaded keys, each step
 * under a ClusterLoad whose every acknowledged write is checked afterwards:
 * `shards` 3 → 4 → 3 (progress in status.migration; the new shard's
 * StatefulSet exists before any slot moves to it, the leaving one's goes
 * only once no surviving node's map gives it a slot); `replicasPerShard`
 * 1 → 2 → 1 (pods and claims come and go); an `image` change rolled pod by
 * pod, replicas before their primary, primaries after a switchover; and
 * the leading operator pod deleted in the middle of a 3 → 4 migration (the
 * standby takes the Lease and finishes it). Deleting the cluster (item 7)
 * is covered by operator.test.ts.
 */
import { expect } from 'chai';
import { AdminClient } from '../../common/admin-client.js';
import { countSlots, type ClusterMap } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { ClusterLoad, clusterClient, expectAckedReadable, preload, preValue } from '../integration/migration-support.js';
import type { KubeObject } from '../support/kube/objects.js';
import { slotBatches } from '../support/slot-keys.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, describePods, ENV_TIMEOUT_MS, isReady, kubeEnv, listPods, type KubeEnv, type Pod } from './helpers.js';
import {
  anyReadyNode, clusterEvents, clusterToken, deployOperator, diagnostics, getCluster, installCrds, irisClusterManifest, leaseHolder, NODE_IMAGE,
  OPERATOR_SELECTOR, patchClusterSpec, seedProxy, waitForStatus, type CoreEvent, type IrisClusterObject, type SeedProxy,
} from './operator-support.js';

const CLUSTER = 'iris';
const NODES = `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`;
/** Enough data that a 3 → 4 migration (a quarter of it moves) takes a few seconds. */
const PRELOAD_KEYS = 100_000;
const STEP_TIMEOUT_MS = 240_000;

/** What a test reached when, printed with the diagnostics if it fails. */
const progress: string[] = [];
let progressT0 = Date.now();
function mark(what: string): void {
  progress.push(`${((Date.now() - progressT0) / 1000).toFixed(1)} s: ${what}`);
}

interface MigrationView {
  operation: string;
  stage: string;
  movesDone: number;
  movesTotal: number;
  slotsDone: number;
  slotsTotal: number;
  keysMoved: number;
}

function migrationOf(c: IrisClusterObject): MigrationView | null {
  return (c.status?.migration ?? null) as MigrationView | null;
}

/** Every shard owns floor or ceil(16384 / shards) slots. */
function balanced(c: IrisClusterObject): boolean {
  const counts = (c.status?.shards ?? []).map((s) => s.slotCount);
  return counts.length > 0 && counts.reduce((a, b) => a + b, 0) === SLOT_COUNT && Math.max(...counts) - Math.min(...counts) <= 1;
}

/**
 * The status of the current generation says: Ready with `shards` shards of
 * 1 + `replicas` nodes, every replica streaming, the slots balanced, no
 * migration, no change of primary and nothing else under way.
 */
function settled(shards: number, replicas: number) {
  const nodes = shards * (1 + replicas);
  return (c: IrisClusterObject): boolean => {
    const st = c.status;
    return st !== undefined && st.phase === 'Ready' && st.ready === `${nodes}/${nodes}` && st.observedGeneration === c.metadata?.generation
      && migrationOf(c) === null && (st.shards ?? []).length === shards && balanced(c)
      && (st.shards ?? []).every((s) => s.primary === s.targetPrimary && s.replicas.length === replicas && s.replicas.every((r) => r.link === 'streaming'))
      && (st.conditions ?? []).some((x) => x.type === 'Progressing' && x.status === 'False');
  };
}

/**
 * Calls `probe` over and over (a pause of intervalMs between calls) until
 * stopped, at most maxSamples times and until the deadline; keeps the
 * answers in order, and the first errors.
 */
class Sampler<T> {
  readonly samples: T[] = [];
  readonly errors: string[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(probe: () => Promise<T>, o: { intervalMs: number; deadlineMs: number; maxSamples?: number }) {
    this.done = (async () => {
      const deadline = Date.now() + o.deadlineMs;
      for (let i = 0; i < (o.maxSamples ?? 10_000) && !this.stopped && Date.now() < deadline; i++) {
        try {
          this.samples.push(await probe());
        } catch (err) {
          if (this.errors.length < 20) this.errors.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, o.intervalMs));
      }
    })();
  }

  async stop(): Promise<T[]> {
    this.stopped = true;
    await this.done;
    return this.samples;
  }
}

/** A surviving node's admin API, for reading the map it has installed. */
interface MapReader {
  readonly name: string;
  readonly admin: AdminClient;
  close(): void;
}

async function mapReaders(env: KubeEnv, ns: string, token: string, shardIndexes: readonly number[]): Promise<MapReader[]> {
  const pods = (await listPods(env, ns, NODES)).filter((p) => shardIndexes.includes(Number(p.metadata?.labels?.['irisdb.io/shard'])));
  const readers: MapReader[] = [];
  for (const p of pods) {
    const ep = await env.podEndpoint(ns, p.metadata!.name!, 8080);
    readers.push({ name: p.metadata!.name!, admin: new AdminClient(`http://${ep.host}:${ep.port}`, token, 5000), close: () => ep.close() });
  }
  return readers;
}

/** The most slots any surviving node's map gives `shardId` (null if no map could be read), and whether any map lists it. */
async function slotsGiven(readers: readonly MapReader[], shardId: string): Promise<{ slots: number | null; listed: boolean }> {
  const maps = await Promise.all(readers.map((r) => r.admin.clusterMap().catch(() => null)));
  const read = maps.filter((m): m is ClusterMap => m !== null);
  if (read.length === 0) return { slots: null, listed: false };
  const of = (m: ClusterMap) => m.shards.find((s) => s.id === shardId);
  return { slots: Math.max(...read.map((m) => countSlots(of(m)?.slots ?? []))), listed: read.some((m) => of(m) !== undefined) };
}

/** Every preloaded key reads back its value through a cluster client (one MGET per hash slot: 100k GETs were most of it). */
async function expectPreloadReadable(seedPort: number, keys: readonly string[]): Promise<void> {
  const client = clusterClient(seedPort, { autoPipeline: true });
  try {
    const wrong: string[] = [];
    let wrongCount = 0;
    for (const batch of slotBatches(keys)) {
      const replies = await Promise.all(batch.map((g) => client.mget(...g)));
      batch.forEach((g, j) => g.forEach((k, n) => {
        const got = replies[j]![n] ?? null;
        if (got === preValue(k)) return;
        wrongCount++;
        if (wrong.length < 5) wrong.push(`${k}: ${JSON.stringify(got)}`);
      }));
    }
    expect(wrong, `${wrongCount} of ${keys.length} preloaded keys read back wrong`).to.deep.equal([]);
  } finally {
    client.disconnect();
  }
}

/**
 * Runs `body` under a ClusterLoad (going before `body` starts), then stops
 * the load and checks it: no stale read, every acknowledged write readable.
 * When `body` fails, its error is what the test reports (the load is only stopped).
 */
async function underLoad(port: number, keyPrefix: string, body: () => Promise<void>): Promise<void> {
  const load = new ClusterLoad(port, { clients: 2, workers: 4, keysPerWorker: 40, maxOps: 1_000_000, deadlineMs: 2 * STEP_TIMEOUT_MS, commandTimeoutMs: 1000, keyPrefix });
  try {
    await waitFor('the load to get going', () => load.ops >= 300, { timeoutMs: 60000, intervalMs: 50 });
    await body();
  } finally {
    load.stop();
    await load.done();
    mark(`load stopped: ${load.ops} writes acknowledged, ${load.errors.length} errors (${load.errors.slice(0, 3).join('; ')})`);
  }
  // Both checks, so a failure says whether a stale read was also a lost write.
  const lost = await expectAckedReadable(port, load.log).then(() => null, (err: Error) => err.message);
  expect({ staleReads: load.staleReads.slice(0, 5), lost }, `${load.staleReads.length} reads older than their writer's last acknowledged write`)
    .to.deep.equal({ staleReads: [], lost: null });
}

/** The Events of the cluster not in `seen` (names of earlier ones). */
async function newEvents(env: KubeEnv, ns: string, seen: ReadonlySet<string>): Promise<CoreEvent[]> {
  return (await clusterEvents(env, ns, CLUSTER)).filter((e) => !seen.has(e.metadata?.name ?? ''));
}

async function eventNames(env: KubeEnv, ns: string): Promise<Set<string>> {
  return new Set((await clusterEvents(env, ns, CLUSTER)).map((e) => e.metadata?.name ?? ''));
}

/** The image for the rolling update: another reference to the same node image (any tag of irisdb/node runs it locally). */
function nextImage(env: KubeEnv): string | null {
  if (process.env.IRIS_E2E_NODE_IMAGE_NEXT !== undefined) return process.env.IRIS_E2E_NODE_IMAGE_NEXT;
  if (env.mode === 'local') return 'irisdb/node:dev2';
  // On kind, the loaded image under its fully qualified name: a new spec, the same image.
  const first = NODE_IMAGE.split('/')[0]!;
  return NODE_IMAGE.includes('/') && !/[.:]/.test(first) && first !== 'localhost' ? `docker.io/${NODE_IMAGE}` : null;
}

describe('e2e: the operator rescales, rolls and hands over a running cluster', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  let proxy: SeedProxy | undefined;
  /** The proxy's port (set once the cluster is up). */
  let port = 0;
  let preloaded: string[] = [];

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    progress.length = 0;
    progressT0 = Date.now();
    env = await kubeEnv();
    ns = await createNamespace(env, 'oplife');
    try {
      await installCrds(env, ns);
      // Two replicas, as the chart runs it: one leads, the other stands by (item 6).
      await deployOperator(env, ns, { replicas: 2 });
      await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 3, replicasPerShard: 1 }));
      await waitForStatus(env, ns, CLUSTER, 'phase Ready with 6/6 nodes', settled(3, 1), STEP_TIMEOUT_MS);
      // The seed proxy forwards only to pods Kubernetes counts Ready (their probe runs every 2 s).
      await waitFor('the 6 node pods to be Ready', async () => {
        const pods = await listPods(env, ns, NODES);
        return pods.length === 6 && pods.every(isReady);
      }, { timeoutMs: 60000, intervalMs: 250 });
      mark('Ready');
      proxy = await seedProxy(anyReadyNode(env, ns, CLUSTER));
      port = proxy.port;
      preloaded = await preload(port, [[0, SLOT_COUNT - 1]], PRELOAD_KEYS);
      mark(`${preloaded.length} keys preloaded`);
    } catch (err) {
      process.stderr.write(`\n--- diagnostics for the setup ---\n${progress.join('\n')}\n${await diagnostics(env, ns, CLUSTER)}\n`);
      throw err;
    }
  });

  beforeEach(() => {
    progress.length = 0;
    progressT0 = Date.now();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && env !== undefined && ns !== undefined) {
      process.stderr.write(`\n--- diagnostics for "${this.currentTest.title}" ---\n${progress.join('\n')}\n${await diagnostics(env, ns, CLUSTER)}\n`
        + `--- node pods ---\n${await describePods(env, ns, NODES)}\n`);
    }
  });

  after(async function () {
    await proxy?.close();
    if (env !== undefined && ns !== undefined) await deleteNamespace(env, ns);
  });

  it('scales shards 3 → 4 → 3 under load: progress in status, StatefulSets only when safe, nothing lost', async () => {
    const token = await clusterToken(env, ns, CLUSTER);
    const sts3 = `/apis/apps/v1/namespaces/${ns}/statefulsets/${CLUSTER}-shard-3`;
    // Shards 0-2 stay throughout: their maps are what clients are sent by.
    const readers = await mapReaders(env, ns, token, [0, 1, 2]);
    await underLoad(port, 'sc:', async () => {
      // ---- 3 → 4: the maps first, then the StatefulSet: absent after a map gave it slots means absent when it did.
      const up = new Sampler(async () => {
        const given = await slotsGiven(readers, 'shard-3');
        const sts = await env.rest.find<KubeObject>(sts3);
        const migration = migrationOf(await getCluster(env, ns, CLUSTER));
        return { ...given, sts: sts !== null && sts.metadata?.deletionTimestamp === undefined, migration };
      }, { intervalMs: 100, deadlineMs: STEP_TIMEOUT_MS });
      mark('patching shards 3 → 4');
      await patchClusterSpec(env, ns, CLUSTER, { shards: 4 });
      try {
        await waitForStatus(env, ns, CLUSTER, '4 balanced shards, Ready 8/8', settled(4, 1), STEP_TIMEOUT_MS);
      } finally {
        await up.stop();
      }
      mark(`4 shards (${up.samples.length} samples, ${up.errors.length} failed: ${up.errors.slice(0, 2).join('; ')})`);
      const early = up.samples.filter((s) => s.slots !== null && s.slots > 0 && !s.sts);
      expect(early.length, 'samples where a map gave shard-3 slots before its StatefulSet existed').to.equal(0);
      expect(up.samples.some((s) => s.sts && s.listed && s.slots === 0), 'shard-3 seen in the maps, with its StatefulSet, owning nothing yet').to.equal(true);
      expectProgress(up.samples.map((s) => s.migration), 'scale shards 3 → 4', 4096);
      const four = await getCluster(env, ns, CLUSTER);
      expect(four.status!.shards!.map((s) => `${s.id}:${s.slotCount}`)).to.deep.equal(['shard-0:4096', 'shard-1:4096', 'shard-2:4096', 'shard-3:4096']);

      // ---- 4 → 3: the StatefulSet and pods first, then the maps: gone before a map still giving slots means gone while it did.
      const down = new Sampler(async () => {
        const sts = await env.rest.find<KubeObject>(sts3);
        const pods = await listPods(env, ns, `${NODES},irisdb.io/shard=3`);
        const podsIntact = [0, 1].every((o) => pods.some((p) => p.metadata?.name === `${CLUSTER}-shard-3-${o}` && p.metadata?.deletionTimestamp === undefined));
        const given = await slotsGiven(readers, 'shard-3');
        const migration = migrationOf(await getCluster(env, ns, CLUSTER));
        return { ...given, sts: sts !== null && sts.metadata?.deletionTimestamp === undefined, podsIntact, migration };
      }, { intervalMs: 100, deadlineMs: STEP_TIMEOUT_MS });
      mark('patching shards 4 → 3');
      await patchClusterSpec(env, ns, CLUSTER, { shards: 3 });
      try {
        await waitForStatus(env, ns, CLUSTER, '3 balanced shards, Ready 6/6', settled(3, 1), STEP_TIMEOUT_MS);
        await waitFor('shard-3\'s StatefulSet and pods to be gone', async () => (await env.rest.find(sts3)) === null
          && (await listPods(env, ns, `${NODES},irisdb.io/shard=3`)).length === 0, { timeoutMs: 120000, intervalMs: 250 });
      } finally {
        await down.stop();
      }
      mark(`3 shards (${down.samples.length} samples, ${down.errors.length} failed: ${down.errors.slice(0, 2).join('; ')})`);
      const premature = down.samples.filter((s) => (!s.sts || !s.podsIntact) && s.slots !== null && s.slots > 0);
      expect(premature.map((s) => `${s.slots} slots, StatefulSet ${s.sts ? 'present' : 'gone'}, pods ${s.podsIntact ? 'intact' : 'going'}`).slice(0, 3),
        'samples where shard-3 was being removed while a surviving map still gave it slots').to.deep.equal([]);
      expect(down.samples.some((s) => s.sts && s.slots !== null && s.slots > 0), 'shard-3 seen draining before its StatefulSet went').to.equal(true);
      expect(down.samples.some((s) => !s.sts), 'shard-3\'s StatefulSet seen gone').to.equal(true);
      expectProgress(down.samples.map((s) => s.migration), 'scale shards 4 → 3', 4096);
      const three = await getCluster(env, ns, CLUSTER);
      expect(three.status!.shards!.map((s) => s.id)).to.deep.equal(['shard-0', 'shard-1', 'shard-2']);
      // Its claims and its PDB follow it.
      await waitFor('shard-3\'s claims and PDB to be gone', async () => {
        const pvcs = await env.rest.get<{ items: KubeObject[] }>(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, { labelSelector: `${NODES},irisdb.io/shard=3` });
        return pvcs.items.length === 0 && (await env.rest.find(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${CLUSTER}-shard-3`)) === null;
      }, { timeoutMs: 120000, intervalMs: 250 });
    }).finally(() => {
      for (const r of readers) r.close();
    });
    await expectPreloadReadable(port, preloaded);
  });

  it('scales replicasPerShard 1 → 2 → 1 under load: pods and claims come and go, the replicas stream', async () => {
    const pvcNames = async (): Promise<string[]> => (await env.rest.get<{ items: KubeObject[] }>(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, { labelSelector: NODES }))
      .items.map((p) => p.metadata?.name ?? '').sort();
    const podNames = async (): Promise<string[]> => (await listPods(env, ns, NODES)).map((p) => p.metadata?.name ?? '').sort();
    const expected = (ordinals: number) => [0, 1, 2].flatMap((s) => Array.from({ length: ordinals }, (_, o) => `${CLUSTER}-shard-${s}-${o}`)).sort();
    await underLoad(port, 'rp:', async () => {
      mark('patching replicasPerShard 1 → 2');
      await patchClusterSpec(env, ns, CLUSTER, { replicasPerShard: 2 });
      const two = await waitForStatus(env, ns, CLUSTER, 'Ready 9/9, two streaming replicas per shard', settled(3, 2), STEP_TIMEOUT_MS);
      mark('9 nodes');
      expect(await podNames()).to.deep.equal(expected(3));
      // Kubernetes' Ready follows the operator's view within a probe period.
      await waitFor('every node pod Ready', async () => (await listPods(env, ns, NODES)).every(isReady), { timeoutMs: 30000, intervalMs: 250 });
      expect(await pvcNames()).to.deep.equal(expected(3).map((n) => `data-${n}`).sort());
      for (const s of two.status!.shards!) expect(s.replicas.map((r) => r.link), s.id).to.deep.equal(['streaming', 'streaming']);

      mark('patching replicasPerShard 2 → 1');
      await patchClusterSpec(env, ns, CLUSTER, { replicasPerShard: 1 });
      const one = await waitForStatus(env, ns, CLUSTER, 'Ready 6/6, one streaming replica per shard', settled(3, 1), STEP_TIMEOUT_MS);
      mark('6 nodes');
      // A StatefulSet removes its highest ordinal; its claim goes with it (whenScaled: Delete).
      let left: string[] = [];
      await waitFor('the ordinal-2 pods and their claims to be gone', async () => {
        left = [...await podNames(), ...await pvcNames()];
        return JSON.stringify(left) === JSON.stringify([...expected(2), ...expected(2).map((n) => `data-${n}`).sort()]);
      }, { timeoutMs: 120000, intervalMs: 250 }).catch((err: Error) => { throw new Error(`${err.message}; pods and claims: ${left.join(', ')}`); });
      for (const s of one.status!.shards!) expect(s.primary, s.id).to.match(new RegExp(`^${CLUSTER}-${s.id}-[01]$`));
    });
    const reasons = (await clusterEvents(env, ns, CLUSTER)).filter((e) => e.reason === 'ReplicasScaled').map((e) => e.message ?? '');
    expect(reasons.some((m) => m.includes('1 → 2')) && reasons.some((m) => m.includes('2 → 1')), `ReplicasScaled Events: ${reasons.join(' | ')}`).to.equal(true);
  });

  it('rolls an image change pod by pod under load: replicas first, primaries after a switchover, nothing lost', async function () {
    const image = nextImage(env);
    if (image === null) this.skip();
    const start = await waitForStatus(env, ns, CLUSTER, 'Ready', settled(3, 1), 60000);
    const primaries = new Map(start.status!.shards!.map((s) => [s.id, s.primary] as const));
    const pods = await listPods(env, ns, NODES);
    const original = new Map(pods.map((p) => [p.metadata!.name!, p.metadata!.uid!] as const));
    expect(original.size).to.equal(6);
    const seenEvents = await eventNames(env, ns);
    // Per pod: the sample in which its original was first seen going, and every uid it had.
    const restartedIn = new Map<string, number>();
    const uids = new Map<string, Set<string>>();
    let sample = 0;
    const watch = new Sampler(async () => {
      const now = await listPods(env, ns, NODES);
      sample++;
      for (const [name, uid] of original) {
        const p = now.find((x) => x.metadata?.name === name);
        if (!restartedIn.has(name) && (p === undefined || p.metadata?.uid !== uid || p.metadata?.deletionTimestamp !== undefined)) restartedIn.set(name, sample);
      }
      for (const p of now) uids.set(p.metadata!.name!, (uids.get(p.metadata!.name!) ?? new Set()).add(p.metadata!.uid!));
      return null;
    }, { intervalMs: 100, deadlineMs: STEP_TIMEOUT_MS });
    await underLoad(port, 'ro:', async () => {
      mark(`patching image to ${image}`);
      await patchClusterSpec(env, ns, CLUSTER, { image });
      const imageOf = (p: Pod) => (p as Pod & { spec?: { containers?: Array<{ image?: string }> } }).spec?.containers?.[0]?.image;
      let last: string[] = [];
      await waitFor('every pod replaced, on the new image, Ready', async () => {
        const now = await listPods(env, ns, NODES);
        last = now.map((p) => `${p.metadata?.name}:${p.metadata?.uid === original.get(p.metadata?.name ?? '') ? 'old' : 'new'}:${imageOf(p)}:${isReady(p) ? 'ready' : 'not ready'}`);
        return now.length === 6 && now.every((p) => original.has(p.metadata!.name!) && p.metadata?.uid !== original.get(p.metadata!.name!) && imageOf(p) === image && isReady(p));
      }, { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 250 }).catch((err: Error) => { throw new Error(`${err.message}; pods: ${last.join(', ')}`); });
      mark('every pod replaced');
      await waitForStatus(env, ns, CLUSTER, 'Ready 6/6 after the rollout', settled(3, 1), STEP_TIMEOUT_MS);
      mark('Ready');
    }).finally(() => watch.stop());
    // Every pod exactly once: one new uid each, one NodeRestarting Event each.
    for (const [name, set] of uids) expect(set.size, `uids of ${name}`).to.equal(2);
    const events = await newEvents(env, ns, seenEvents);
    const restarting = events.filter((e) => e.reason === 'NodeRestarting').map((e) => (e.message ?? '').split(' ')[0]!).sort();
    expect(restarting, 'NodeRestarting Events').to.deep.equal([...original.keys()].sort());
    expect(events.filter((e) => ['RestartSkipped', 'NodeRestartFailed', 'SwitchoverAbandoned', 'FailoverStarted'].includes(e.reason ?? '')).map((e) => `${e.reason}: ${e.message}`)).to.deep.equal([]);
    // Per shard: its replica went before its primary, which handed over by a switchover first.
    const after = await getCluster(env, ns, CLUSTER);
    for (const [shard, primary] of primaries) {
      const replica = [...original.keys()].find((n) => n.startsWith(`${CLUSTER}-${shard}-`) && n !== primary)!;
      expect(restartedIn.get(replica), `${replica} restarted`).to.be.a('number');
      expect(restartedIn.get(primary), `${primary} restarted`).to.be.a('number');
      expect(restartedIn.get(replica)!, `${shard}: replica ${replica} before primary ${primary}`).to.be.lessThan(restartedIn.get(primary)!);
      expect(events.some((e) => e.reason === 'SwitchoverFinished' && (e.message ?? '').startsWith(`${shard}:`)), `a SwitchoverFinished Event for ${shard}`).to.equal(true);
      expect(after.status!.shards!.find((s) => s.id === shard)!.primary, `${shard}'s primary after the rollout`).to.equal(replica);
    }
    const sts = await env.rest.get<{ items: Array<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }> }>(`/apis/apps/v1/namespaces/${ns}/statefulsets`, { labelSelector: NODES });
    expect(sts.items.map((s) => s.spec.template.spec.containers[0]!.image)).to.deep.equal([image, image, image]);
  });

  it('finishes a 3 → 4 migration after the leading operator pod is deleted in the middle of it', async () => {
    const operators = await listPods(env, ns, OPERATOR_SELECTOR);
    expect(operators.filter(isReady).length, 'Ready operator pods').to.equal(2);
    const leader = await waitFor('an operator pod to hold the Lease', async () => {
      const holder = await leaseHolder(env, ns);
      return operators.some((p) => p.metadata?.name === holder) && holder;
    }, { timeoutMs: 30000, intervalMs: 250 });
    const standby = operators.map((p) => p.metadata!.name!).find((n) => n !== leader)!;
    const seenEvents = await eventNames(env, ns);
    await underLoad(port, 'ho:', async () => {
      mark(`patching shards 3 → 4 (leader ${leader})`);
      await patchClusterSpec(env, ns, CLUSTER, { shards: 4 });
      const mid = await waitForStatus(env, ns, CLUSTER, 'the first slot move under way', (c) => {
        const m = migrationOf(c);
        return m !== null && m.operation.includes('3 → 4') && m.stage.startsWith('migrate:') && m.movesDone < m.movesTotal;
      }, STEP_TIMEOUT_MS);
      const before = migrationOf(mid)!;
      mark(`deleting the leader ${leader} at ${JSON.stringify(before)}`);
      await env.kubectl(['delete', 'pod', '-n', ns, leader, '--wait=false']);

      // The deleted leader releases the Lease as it stops; the standby takes it at its next try.
      await waitFor('the standby to take the Lease', async () => (await leaseHolder(env, ns)) === standby, { timeoutMs: 60000, intervalMs: 100 });
      mark(`${standby} leads`);
      const resumed = await waitFor(`a ControllerStarted Event from ${standby}`, async () => (await newEvents(env, ns, seenEvents))
        .find((e) => e.reason === 'ControllerStarted' && e.reportingInstance === standby), { timeoutMs: 60000, intervalMs: 250 });
      expect(resumed.message, 'what the new leader resumed').to.match(/resuming .*scale shards 3 → 4 at stage migrate/);

      await waitForStatus(env, ns, CLUSTER, '4 balanced shards, Ready 8/8', settled(4, 1), STEP_TIMEOUT_MS);
      mark('4 shards');
    });
    const events = await newEvents(env, ns, seenEvents);
    const finished = events.filter((e) => e.reason === 'RebalanceFinished' && (e.message ?? '').includes('3 → 4'));
    expect(finished.map((e) => e.reportingInstance), 'who finished the rescale').to.deep.equal([standby]);
    const c = await getCluster(env, ns, CLUSTER);
    expect(c.status!.shards!.map((s) => `${s.id}:${s.slotCount}`)).to.deep.equal(['shard-0:4096', 'shard-1:4096', 'shard-2:4096', 'shard-3:4096']);
    await expectPreloadReadable(port, preloaded);
    // The Deployment replaces the deleted pod; it stands by.
    await waitFor('a replacement operator pod, Ready', async () => {
      const now = await listPods(env, ns, OPERATOR_SELECTOR);
      return now.length === 2 && now.every(isReady) && !now.some((p) => p.metadata?.name === leader);
    }, { timeoutMs: 120000, intervalMs: 250 });
  });
});

/**
 * What was seen of status.migration while `operation` ran: it was there,
 * with `slots` slots to move in total, its counters never went back, and it
 * changed while it ran (a stage, a move or keys further).
 */
function expectProgress(seen: ReadonlyArray<MigrationView | null>, operation: string, slots: number): void {
  const mine = seen.filter((m): m is MigrationView => m !== null && m.operation.includes(operation));
  const distinct = [...new Set(mine.map((m) => `${m.stage} | moves ${m.movesDone}/${m.movesTotal} | slots ${m.slotsDone}/${m.slotsTotal} | keys ${m.keysMoved}`))];
  mark(`${operation}: ${distinct.length} distinct migration statuses: ${distinct.join(' ;; ')}`);
  expect(mine.length, `status.migration of ${operation} seen`).to.be.greaterThan(0);
  expect(distinct.length, `status.migration of ${operation} changed while it ran: ${distinct.join(' ;; ')}`).to.be.at.least(2);
  expect(Math.max(...mine.map((m) => m.slotsTotal)), 'slots to move').to.equal(slots);
  for (let i = 1; i < mine.length; i++) {
    expect(mine[i]!.movesDone, 'movesDone never goes back').to.be.at.least(mine[i - 1]!.movesDone);
    expect(mine[i]!.slotsDone, 'slotsDone never goes back').to.be.at.least(mine[i - 1]!.slotsDone);
  }
}
