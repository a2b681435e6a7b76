/**
 * The migration protocol end to end in one process: two real engines (a
 * source and a target primary, no replicas), their cluster states, and the
 * target's bus listener on loopback. A writer keeps changing keys of the
 * migrating slots on the source the way the dispatcher would (never into
 * a fenced slot, never into a slot the source no longer owns); afterwards
 * the target holds exactly the source's last data of those slots and the
 * source none. Also: abort rolls back, and a source "restarted" while at its
 * fence re-fences and resolves with the target.
 */
import { expect } from 'chai';
import path from 'node:path';
import { Registry } from 'prom-client';
import { rangesToSlots, type ClusterMap, type SlotRange } from '../../common/cluster-map.js';
import { keySlot } from '../../common/slot.js';
import { DurableClusterState } from '../../node/cluster/cluster-state.js';
import { MigrationManager } from '../../node/migration/manager.js';
import { createMigrationMetrics } from '../../node/migration/metrics.js';
import type { MigrationReplication } from '../../node/migration/deps.js';
import type { MigrationStage } from '../../common/migration.js';
import type { MetaStore, SqliteEngine } from '../../node/engine/open.js';
import { silentLogger } from '../../common/logger.js';
import { AckTimeoutError } from '../../node/replication/ack-gate.js';
import { BusServer } from '../../node/replication/bus-server.js';
import { ReplicationLog } from '../../node/replication/log.js';
import { engineFixture } from '../support/engine-fixture.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'tok';
const MOVING: SlotRange[] = [[0, 2047]];

interface TestNode {
  name: string;
  engine: SqliteEngine;
  log: ReplicationLog;
  cluster: DurableClusterState;
  manager: MigrationManager;
}

describe('migration: the protocol between two engines', function () {
  this.timeout(60_000);
  const fx = engineFixture();
  let bus: BusServer | null = null;
  const managers: MigrationManager[] = [];

  afterEach(async () => {
    for (const m of managers.splice(0)) await m.close();
    await bus?.close();
    bus = null;
  });

  interface NodeOpts {
    holdMs?: number;
    fenceTimeoutMs?: number;
    meta?: (engine: SqliteEngine) => MetaStore;
    replication?: MigrationReplication;
  }

  function makeManager(name: string, engine: SqliteEngine, log: ReplicationLog, cluster: DurableClusterState, o: NodeOpts = {}): MigrationManager {
    const m = new MigrationManager({
      name, token: TOKEN, keyspace: engine.keyspace, commits: engine.commits, meta: o.meta?.(engine) ?? engine.meta, dbFile: engine.file,
      subscribeCommitted: (l) => log.subscribe(l), asMigration: (fn) => log.asMigration(fn), cluster,
      replication: o.replication ?? { role: () => 'primary', effectiveMinSyncReplicas: () => 0, waitForReplicas: () => Promise.resolve(0) },
      logger: silentLogger(), metrics: createMigrationMetrics(new Registry()),
      options: { fenceTimeoutMs: o.fenceTimeoutMs ?? 5000, testFenceHoldMs: o.holdMs ?? 0 }, now: () => Date.now(),
    });
    managers.push(m);
    return m;
  }

  function makeNode(name: string, o: NodeOpts = {}): TestNode {
    const engine = fx.open({ dataDir: path.join(fx.dir, name) });
    const log = new ReplicationLog(engine.db, () => undefined);
    engine.setMutationLog(log);
    const cluster = new DurableClusterState({ meta: engine.meta, commits: engine.commits, nodeName: name });
    const manager = makeManager(name, engine, log, cluster, o);
    manager.restore();
    manager.start();
    return { name, engine, log, cluster, manager };
  }

  /** `busSecret`: the cluster secret the target's bus checks (the nodes prove TOKEN). */
  async function pair(srcOpts: NodeOpts = {}, tgtOpts: NodeOpts = {}, busSecret = TOKEN): Promise<{ src: TestNode; tgt: TestNode; map: ClusterMap }> {
    const src = makeNode('src', srcOpts);
    const tgt = makeNode('tgt', tgtOpts);
    bus = new BusServer({
      onHello: (b) => b.close('not here'),
      onProbe: (b) => b.close('not here'),
    }, silentLogger(), { secret: busSecret, name: 'tgt', onRefused: () => undefined });
    bus.addFirstFrameHandler((b, f) => tgt.manager.onBusFrame(b, f));
    const port = await bus.listen(0, '127.0.0.1');
    const map: ClusterMap = {
      epoch: 3,
      nodes: [{ name: 'src', host: '127.0.0.1', port: 1, busPort: 1 }, { name: 'tgt', host: '127.0.0.1', port: 2, busPort: port }],
      shards: [{ id: 'shard-0', slots: [[0, 8191]], primary: 'src', replicas: [] }, { id: 'shard-1', slots: [[8192, 16383]], primary: 'tgt', replicas: [] }],
    };
    src.cluster.install(map);
    tgt.cluster.install(map);
    return { src, tgt, map };
  }

  const moving = new Set(rangesToSlots(MOVING));
  const keysIn = (n: number, pred: (slot: number) => boolean, prefix = 'k'): string[] => {
    const out: string[] = [];
    for (let i = 0; out.length < n; i++) if (pred(keySlot(`${prefix}${i}`))) out.push(`${prefix}${i}`);
    return out;
  };

  function dump(engine: SqliteEngine, slots: Iterable<number>): Map<string, string> {
    const out = new Map<string, string>();
    for (const s of slots) {
      for (const k of engine.keyspace.keysInSlot(s, 1_000_000, Date.now())) {
        const e = engine.keyspace.get(k, Date.now());
        if (e !== null) out.set(k.toString(), e.value.toString());
      }
    }
    return out;
  }

  async function stageOf(m: MigrationManager, id: string, stage: MigrationStage): Promise<void> {
    await waitFor(`migration ${id} at stage ${stage}`, () => {
      const st = m.get(id);
      if (!st.running && st.error !== null && st.stage !== stage) throw new Error(`stopped at ${st.stage}: ${st.error}`);
      return st.stage === stage;
    }, { timeoutMs: 30_000, intervalMs: 5 });
  }

  it('moves the slots while a writer keeps writing: the target ends with exactly the source\'s data', async () => {
    const { src, tgt } = await pair();
    const ks = src.engine.keyspace;
    const movingKeys = keysIn(3000, (s) => moving.has(s));
    const stayKeys = keysIn(200, (s) => s < 8192 && !moving.has(s), 'stay');
    for (const k of movingKeys) ks.set(Buffer.from(k), Buffer.from(`v0-${k}-${'x'.repeat(100)}`), null);
    for (const k of stayKeys) ks.set(Buffer.from(k), Buffer.from('stay'), null);
    ks.set(Buffer.from(movingKeys[0]!), Buffer.from('with-ttl'), Date.now() + 3_600_000);
    src.engine.commits.flushNow();

    // The writer: what the dispatcher allows (not fenced, still owned here), one batch per turn.
    const model = dump(src.engine, moving);
    let writes = 0;
    let stop = false;
    const writer = (async () => {
      for (let round = 0; !stop; round++) {
        for (let i = 0; i < 20; i++) {
          const k = movingKeys[(round * 37 + i * 101) % movingKeys.length]!;
          const slot = keySlot(k);
          if (src.cluster.isFenced(slot) || src.cluster.owners![slot] !== 0) continue;
          if (i % 7 === 0) {
            ks.delete(Buffer.from(k), Date.now());
            model.delete(k);
          } else {
            const v = `w${round}-${i}`;
            ks.set(Buffer.from(k), Buffer.from(v), null);
            model.set(k, v);
          }
          writes++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();

    const st = src.manager.create({ id: 'mig-1', slots: MOVING, targetShard: 'shard-1' });
    expect(st).to.include({ id: 'mig-1', stage: 'prepare', source: 'src', target: 'tgt' });
    await stageOf(src.manager, 'mig-1', 'done');
    stop = true;
    await writer;
    src.engine.commits.flushNow();
    tgt.engine.commits.flushNow();

    expect(writes).to.be.greaterThan(0);
    const got = dump(tgt.engine, moving);
    expect(got.size).to.equal(model.size);
    for (const [k, v] of model) expect(got.get(k), k).to.equal(v);
    expect(tgt.engine.keyspace.get(Buffer.from(movingKeys[0]!), Date.now())?.expiresAt ?? null).to.satisfy((e: number | null) => e === null || e > Date.now());
    // The source kept its other slots and deleted the moved ones.
    expect(dump(src.engine, moving).size).to.equal(0);
    expect(ks.get(Buffer.from(stayKeys[0]!), Date.now())?.value.toString()).to.equal('stay');
    // Both installed the flipped map: epoch 4, the slots on shard-1.
    for (const n of [src, tgt]) {
      expect(n.cluster.map!.epoch).to.equal(4);
      expect(n.cluster.owners![0]).to.equal(1);
      expect(n.cluster.owners![2048]).to.equal(0);
      expect(n.cluster.isFenced(0)).to.equal(false);
    }
    const done = src.manager.get('mig-1');
    expect(done).to.include({ stage: 'done', running: false, error: null });
    expect(done.keysCopied).to.be.greaterThan(2000);
    expect(done.keysDeleted).to.equal(model.size);
    expect(tgt.manager.list().imports[0]).to.include({ id: 'mig-1', state: 'flipped' });
  });

  it('is idempotent by id, refuses what this node does not own, and a second migration while one runs', async () => {
    const { src } = await pair({ holdMs: 2000 });
    const ks = src.engine.keyspace;
    for (const k of keysIn(100, (s) => moving.has(s))) ks.set(Buffer.from(k), Buffer.from('v'), null);
    src.manager.create({ id: 'a', slots: MOVING, targetShard: 'shard-1' });
    expect(src.manager.create({ id: 'a', slots: MOVING, targetShard: 'shard-1' }).id).to.equal('a');
    expect(() => src.manager.create({ id: 'a', slots: [[0, 1]], targetShard: 'shard-1' })).to.throw(/other slots/);
    expect(() => src.manager.create({ id: 'b', slots: [[3000, 3001]], targetShard: 'shard-1' })).to.throw(/one migration at a time/);
    expect(() => src.manager.get('nope')).to.throw(/no migration/);
    await stageOf(src.manager, 'a', 'fence');
    expect(src.cluster.isFenced(0)).to.equal(true);
    await stageOf(src.manager, 'a', 'done');
    expect(() => src.manager.create({ id: 'c', slots: [[9000, 9001]], targetShard: 'shard-0' })).to.throw(/not served by this node/);
  });

  it('a target whose bus does not share the secret is never told anything: the migration stops unauthenticated and nothing moves', async () => {
    const { src, tgt } = await pair({}, {}, 'another cluster\'s secret');
    const ks = src.engine.keyspace;
    for (const k of keysIn(50, (s) => moving.has(s))) ks.set(Buffer.from(k), Buffer.from('v'), null);
    src.engine.commits.flushNow();
    src.manager.create({ id: 'unauth', slots: MOVING, targetShard: 'shard-1' });
    const st = await waitFor('the migration to stop', () => {
      const s = src.manager.get('unauth');
      return !s.running && s.error !== null ? s : null;
    }, { timeoutMs: 30_000, intervalMs: 10 });
    expect(st.error).to.match(/did not prove it knows the cluster secret/);
    expect(tgt.manager.list().imports).to.deep.equal([]);
    expect(dump(tgt.engine, moving).size).to.equal(0);
    expect(dump(src.engine, moving).size).to.equal(50);
    expect(src.cluster.isFenced(0)).to.equal(false);
  });

  it('abort before the flip rolls back: the source keeps the slots, the target drops its copy', async () => {
    const { src, tgt } = await pair({ holdMs: 60_000 });
    const ks = src.engine.keyspace;
    for (const k of keysIn(500, (s) => moving.has(s))) ks.set(Buffer.from(k), Buffer.from('v'), null);
    src.manager.create({ id: 'ab', slots: MOVING, targetShard: 'shard-1' });
    // Held at the fence (the test-only hold): abort asks the target, which has not flipped.
    await stageOf(src.manager, 'ab', 'fence');
    await waitFor('the target to apply the rows', () => dump(tgt.engine, moving).size === 500);
    const st = await src.manager.abort('ab');
    expect(st.stage).to.equal('aborted');
    expect(src.cluster.isFenced(0)).to.equal(false);
    expect(src.cluster.map!.epoch).to.equal(3);
    expect(tgt.cluster.map!.epoch).to.equal(3);
    await waitFor('the target to delete its partial copy', () => dump(tgt.engine, moving).size === 0);
    expect(dump(src.engine, moving).size).to.equal(500);
    expect(tgt.manager.list().imports[0]).to.include({ id: 'ab', state: 'aborted' });
    await src.manager.abort('ab');
  });

  it('a source restarted at its fence re-fences the slots before anything else and resolves with the target', async () => {
    const { src, tgt } = await pair({ holdMs: 60_000 });
    const ks = src.engine.keyspace;
    const keys = keysIn(300, (s) => moving.has(s));
    for (const k of keys) ks.set(Buffer.from(k), Buffer.from('v1'), null);
    src.manager.create({ id: 'r', slots: MOVING, targetShard: 'shard-1' });
    await stageOf(src.manager, 'r', 'fence');
    // "Crash": the runner stops; a new cluster state and manager open the same database.
    await src.manager.close();
    const cluster2 = new DurableClusterState({ meta: src.engine.meta, commits: src.engine.commits, nodeName: 'src' });
    expect(cluster2.isFenced(0)).to.equal(false);
    const m2 = makeManager('src', src.engine, src.log, cluster2);
    m2.restore();
    expect(cluster2.isFenced(0)).to.equal(true);
    expect(cluster2.isFenced(2047)).to.equal(true);
    expect(cluster2.isFenced(2048)).to.equal(false);
    src.cluster = cluster2;
    m2.start();
    // The target never got the flip: it aborts that attempt; the source lifts the fence and waits for resume.
    await waitFor('the interrupted flip to be resolved', () => !m2.get('r').running);
    expect(m2.get('r')).to.include({ stage: 'prepare' });
    expect(m2.get('r').error).to.match(/did not flip.*resume/);
    expect(cluster2.isFenced(0)).to.equal(false);
    expect(tgt.manager.list().imports[0]).to.include({ id: 'r', state: 'aborted' });
    m2.resume('r');
    await stageOf(m2, 'r', 'done');
    expect(m2.get('r').attempt).to.equal(2);
    expect(dump(tgt.engine, moving).size).to.equal(keys.length);
    expect(cluster2.map!.epoch).to.equal(4);
    expect(cluster2.isFenced(0)).to.equal(false);
  });

  it('a source that died after the target flipped but before it recorded the flip learns it from the target and completes', async () => {
    // The crash point: persisting stage "flipped" fails, and nothing of this "process" is persisted after it.
    let dead = false;
    const { src, tgt } = await pair({ meta: (engine) => ({
      get: (name) => engine.meta.get(name),
      set: (name, value) => {
        if (dead || (typeof value === 'string' && value.includes('"stage":"flipped"'))) {
          dead = true;
          throw new Error('simulated crash before the flip was recorded');
        }
        engine.meta.set(name, value);
      },
    }) });
    const keys = keysIn(300, (s) => moving.has(s));
    for (const k of keys) src.engine.keyspace.set(Buffer.from(k), Buffer.from('v1'), null);
    src.manager.create({ id: 'f', slots: MOVING, targetShard: 'shard-1' });
    await waitFor('the run to stop at the simulated crash', () => !src.manager.get('f').running && src.manager.get('f').error !== null);
    // The target flipped; the source still has stage fence on disk, its slots fenced, its map old.
    expect(tgt.cluster.map!.epoch).to.equal(4);
    expect(src.cluster.map!.epoch).to.equal(3);
    await src.manager.close();
    const cluster2 = new DurableClusterState({ meta: src.engine.meta, commits: src.engine.commits, nodeName: 'src' });
    const m2 = makeManager('src', src.engine, src.log, cluster2);
    m2.restore();
    expect(m2.get('f').stage).to.equal('fence');
    expect(cluster2.isFenced(100)).to.equal(true);
    m2.start();
    await stageOf(m2, 'f', 'done');
    expect(m2.get('f').attempt).to.equal(1);
    expect(cluster2.map).to.deep.equal(tgt.cluster.map);
    expect(cluster2.isFenced(100)).to.equal(false);
    expect(dump(src.engine, moving).size).to.equal(0);
    expect(dump(tgt.engine, moving).size).to.equal(keys.length);
  });

  it('a flip the target does not confirm in time is resolved by asking it: the target aborts that attempt, the source retries', async () => {
    let release: (() => void) | null = null;
    // The target's replicas "hang" during the first flip only.
    let first = true;
    const { src, tgt } = await pair({ fenceTimeoutMs: 300 }, {
      replication: {
        role: () => 'primary',
        effectiveMinSyncReplicas: () => 1,
        waitForReplicas: () => {
          if (!first) return Promise.resolve(1);
          first = false;
          return new Promise<number>((r) => { release = () => r(1); });
        },
      },
    });
    // Every turn on the target is released without its replica acknowledgements (ack timeout), so the flip waits for them.
    tgt.engine.setReleaseGate({ hold: (seq, err, release) => release(err ?? new AckTimeoutError(1, 1, 0, seq)) });
    for (const k of keysIn(200, (s) => moving.has(s))) src.engine.keyspace.set(Buffer.from(k), Buffer.from('v'), null);
    src.manager.create({ id: 't', slots: MOVING, targetShard: 'shard-1' });
    await stageOf(src.manager, 't', 'done');
    expect(src.manager.get('t').attempt).to.equal(2);
    (release as (() => void) | null)?.();
    expect(tgt.cluster.map!.epoch).to.equal(4);
    expect(dump(tgt.engine, moving).size).to.equal(200);
  });
});
