/**
 * DurableClusterState on a real engine (the map survives a reopen; older
 * epochs are refused; fences and their waiters) and routing through the
 * dispatcher: MOVED, CLUSTERDOWN, READONLY replica reads, a fenced write
 * that waits and then runs (or is MOVED after an ownership flip), MULTI/EXEC
 * under a fence, TRYAGAIN when a fence outlasts its bound.
 */
import { expect } from 'chai';
import { parseClusterMap, type ClusterMap } from '../../common/cluster-map.js';
import { keySlot } from '../../common/slot.js';
import { CLUSTER_MAP_META_KEY, ClusterStateLoadError, DurableClusterState } from '../../node/cluster/cluster-state.js';
import { TRYAGAIN_MSG } from '../../node/cluster/routing.js';
import { ClusterMapConflictError } from '../../node/cluster/types.js';
import type { Reply } from '../../node/resp/reply.js';
import { engineFixture } from '../support/engine-fixture.js';
import { clusterServerFixture } from '../support/cluster-harness.js';

/** shard-0 (a0 primary, a1 replica) owns 0..8191, shard-1 (b0) owns 8192..16382; 16383 is unassigned. */
function twoShards(epoch = 1): ClusterMap {
  return parseClusterMap({
    epoch,
    nodes: [
      { name: 'a0', host: '10.0.0.1', port: 7000, busPort: 17000 },
      { name: 'a1', host: '10.0.0.2', port: 7001, busPort: 17001 },
      { name: 'b0', host: '10.0.0.3', port: 7002, busPort: 17002 },
    ],
    shards: [
      { id: 'shard-0', slots: [[0, 8191]], primary: 'a0', replicas: ['a1'] },
      { id: 'shard-1', slots: [[8192, 16382]], primary: 'b0', replicas: [] },
    ],
  });
}

/** A key whose slot satisfies `pred` (found by counting up; bounded). */
function keyWhere(prefix: string, pred: (slot: number) => boolean): string {
  for (let i = 0; i < 100_000; i++) if (pred(keySlot(`${prefix}${i}`))) return `${prefix}${i}`;
  throw new Error('no such key');
}

const MINE = keyWhere('mine', (s) => s <= 8191);
const THEIRS = keyWhere('theirs', (s) => s >= 8192 && s <= 16382);
const NOBODY = keyWhere('nobody', (s) => s === 16383);

const value = (r: Reply): unknown => ('value' in r ? (Buffer.isBuffer(r.value) ? r.value.toString() : r.value) : r.kind);

describe('cluster/cluster-state: the durable map and fences', () => {
  const fx = engineFixture();

  it('has no map at first; install() makes it durable across a reopen', () => {
    const e1 = fx.open();
    const s1 = new DurableClusterState({ meta: e1.meta, commits: e1.commits, nodeName: 'a0' });
    expect(s1.map).to.equal(null);
    expect(s1.owners).to.equal(null);
    expect(s1.myShard).to.equal(-1);
    expect(s1.install(twoShards(4))).to.equal(true);
    e1.close();
    const e2 = fx.open();
    const s2 = new DurableClusterState({ meta: e2.meta, commits: e2.commits, nodeName: 'a0' });
    expect(s2.map?.epoch).to.equal(4);
    expect(s2.myShard).to.equal(0);
    expect(s2.myMapRole).to.equal('primary');
    expect(s2.slotsOwned).to.equal(8192);
    expect(s2.primaries).to.deep.equal([{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.3', port: 7002 }]);
    expect(s2.owners![8191]).to.equal(0);
    expect(s2.owners![16383]).to.equal(-1);
  });

  it('knows a replica and a node the map does not list', () => {
    const e = fx.open();
    const a1 = new DurableClusterState({ meta: e.meta, commits: e.commits, nodeName: 'a1' });
    a1.install(twoShards());
    expect([a1.myShard, a1.myMapRole, a1.slotsOwned]).to.deep.equal([0, 'replica', 8192]);
    const zz = new DurableClusterState({ meta: e.meta, commits: e.commits, nodeName: 'zz' });
    expect([zz.map?.epoch, zz.myShard, zz.myMapRole, zz.slotsOwned]).to.deep.equal([1, -1, null, 0]);
  });

  it('refuses an older epoch, and another map at the same epoch; the same map again is a no-op', () => {
    const e = fx.open();
    const s = new DurableClusterState({ meta: e.meta, commits: e.commits, nodeName: 'a0' });
    let changes = 0;
    s.onChange(() => { changes++; });
    s.install(twoShards(5));
    expect(changes).to.equal(1);
    expect(() => s.install(twoShards(4))).to.throw(ClusterMapConflictError, /older/);
    const other = parseClusterMap({ ...twoShards(5), nodes: twoShards().nodes.map((n) => ({ ...n, port: n.port + 1 })) });
    expect(() => s.install(other)).to.throw(ClusterMapConflictError, /epoch 5/);
    expect(s.install(twoShards(5))).to.equal(false);
    expect(changes).to.equal(1);
    expect(s.map?.nodes[0]!.port).to.equal(7000);
    expect(s.install({ ...other, epoch: 6 })).to.equal(true);
    expect(s.primaries[0]!.port).to.equal(7001);
  });

  it('refuses to start on an unreadable stored map', () => {
    const e = fx.open();
    e.meta.set(CLUSTER_MAP_META_KEY, '{"epoch": "x"}');
    e.commits.flushNow();
    expect(() => new DurableClusterState({ meta: e.meta, commits: e.commits, nodeName: 'a0' })).to.throw(ClusterStateLoadError, /epoch/);
  });

  it('fences slots: whenLifted resolves on lift, listeners hear every change', async () => {
    const e = fx.open();
    const s = new DurableClusterState({ meta: e.meta, commits: e.commits, nodeName: 'a0' });
    let changes = 0;
    s.onChange(() => { changes++; });
    s.fence([[10, 20]]);
    expect([s.isFenced(9), s.isFenced(10), s.isFenced(20), s.isFenced(21)]).to.deep.equal([false, true, true, false]);
    let lifted = false;
    const waiting = s.whenLifted(15).then(() => { lifted = true; });
    await s.whenLifted(9); // not fenced: resolves at once
    expect(lifted).to.equal(false);
    s.lift([[15, 15]]);
    await waiting;
    expect([s.isFenced(14), s.isFenced(15)]).to.deep.equal([true, false]);
    s.lift([[0, 100]]);
    expect(s.isFenced(14)).to.equal(false);
    expect(changes).to.equal(3);
  });
});

describe('cluster routing through the dispatcher', () => {
  const fx = engineFixture();

  function primaryA0(fenceWaitMs?: number) {
    const f = clusterServerFixture(fx.open(), 'a0', { fenceWaitMs });
    f.state.install(twoShards());
    return f;
  }

  it('serves its own slots, MOVEs the others, CLUSTERDOWN for an unassigned slot', () => {
    const f = primaryA0();
    const c = f.client();
    expect(value(f.run(c, 'SET', MINE, 'v') as Reply)).to.equal('OK');
    expect(value(f.run(c, 'GET', MINE) as Reply)).to.equal('v');
    expect(value(f.run(c, 'GET', THEIRS) as Reply)).to.equal(`MOVED ${keySlot(THEIRS)} 10.0.0.3:7002`);
    expect(value(f.run(c, 'SET', THEIRS, 'v') as Reply)).to.equal(`MOVED ${keySlot(THEIRS)} 10.0.0.3:7002`);
    expect(value(f.run(c, 'GET', NOBODY) as Reply)).to.equal('CLUSTERDOWN Hash slot not served');
    expect(value(f.run(c, 'MGET', MINE, THEIRS) as Reply)).to.match(/^CROSSSLOT/);
    expect(value(f.run(c, 'PING') as Reply)).to.equal('PONG');
  });

  it('a refused command inside MULTI aborts the transaction', () => {
    const f = primaryA0();
    const c = f.client();
    f.run(c, 'MULTI');
    expect(value(f.run(c, 'SET', MINE, '1') as Reply)).to.equal('QUEUED');
    expect(value(f.run(c, 'SET', THEIRS, '1') as Reply)).to.match(/^MOVED/);
    expect(value(f.run(c, 'EXEC') as Reply)).to.match(/^EXECABORT/);
    expect(value(f.run(c, 'GET', MINE) as Reply)).to.equal('null');
  });

  it('a replica serves READONLY reads of its shard and MOVEs the rest to the map\'s primary', () => {
    const f = clusterServerFixture(fx.open(), 'a1');
    f.state.install(twoShards());
    f.role = { role: 'replica', primary: null, loading: false };
    const c = f.client();
    expect(value(f.run(c, 'GET', MINE) as Reply)).to.equal(`MOVED ${keySlot(MINE)} 10.0.0.1:7000`);
    f.run(c, 'READONLY');
    expect(value(f.run(c, 'GET', MINE) as Reply)).to.equal('null');
    expect(value(f.run(c, 'SET', MINE, 'x') as Reply)).to.equal(`MOVED ${keySlot(MINE)} 10.0.0.1:7000`);
    expect(value(f.run(c, 'GET', THEIRS) as Reply)).to.equal(`MOVED ${keySlot(THEIRS)} 10.0.0.3:7002`);
    expect(value(f.run(c, 'FLUSHALL') as Reply)).to.match(/^READONLY/);
  });

  it('holds a write to a fenced slot until the fence lifts, then runs it; reads are not held', async () => {
    const f = primaryA0();
    const c = f.client();
    const slot = keySlot(MINE);
    f.state.fence([[slot, slot]]);
    const held = f.run(c, 'SET', MINE, 'after');
    expect(held).to.be.instanceOf(Promise);
    expect(value(f.run(f.client(), 'GET', MINE) as Reply)).to.equal('null');
    f.state.lift([[slot, slot]]);
    expect(value(await held)).to.equal('OK');
    expect(value(f.run(c, 'GET', MINE) as Reply)).to.equal('after');
  });

  it('a held write whose slot changed owner meanwhile is MOVED, not run', async () => {
    const f = primaryA0();
    const slot = keySlot(MINE);
    f.state.fence([[slot, slot]]);
    const held = f.run(f.client(), 'SET', MINE, 'lost?');
    const flipped = parseClusterMap({
      ...twoShards(2),
      shards: [
        { id: 'shard-0', slots: [], primary: 'a0', replicas: ['a1'] },
        { id: 'shard-1', slots: [[0, 16382]], primary: 'b0', replicas: [] },
      ],
    });
    f.state.install(flipped);
    f.state.lift([[slot, slot]]);
    expect(value(await held)).to.equal(`MOVED ${slot} 10.0.0.3:7002`);
    expect(f.engine.keyspace.countInSlot(slot, Date.now())).to.equal(0);
  });

  it('EXEC of a transaction writing a fenced slot waits for the fence, then runs it', async () => {
    const f = primaryA0();
    const c = f.client();
    const slot = keySlot(MINE);
    f.state.fence([[slot, slot]]);
    f.run(c, 'MULTI');
    expect(value(f.run(c, 'SET', MINE, 'tx') as Reply)).to.equal('QUEUED');
    const exec = f.run(c, 'EXEC');
    expect(exec).to.be.instanceOf(Promise);
    f.state.lift([[slot, slot]]);
    const r = await exec;
    expect(r.kind).to.equal('array');
    expect(value(f.run(c, 'GET', MINE) as Reply)).to.equal('tx');
  });

  it('EXEC after the transaction\'s slot moved to another shard is MOVED and the transaction discarded', () => {
    const f = primaryA0();
    const c = f.client();
    f.run(c, 'MULTI');
    f.run(c, 'SET', MINE, 'tx');
    f.state.install(parseClusterMap({
      ...twoShards(2),
      shards: [
        { id: 'shard-0', slots: [], primary: 'a0', replicas: ['a1'] },
        { id: 'shard-1', slots: [[0, 16382]], primary: 'b0', replicas: [] },
      ],
    }));
    expect(value(f.run(c, 'EXEC') as Reply)).to.equal(`MOVED ${keySlot(MINE)} 10.0.0.3:7002`);
    expect(c.multi).to.equal(null);
    expect(f.engine.keyspace.countInSlot(keySlot(MINE), Date.now())).to.equal(0);
  });

  it('an EXEC held past the bound answers TRYAGAIN and discards its transaction', async () => {
    const f = primaryA0(1);
    const c = f.client();
    const slot = keySlot(MINE);
    f.state.fence([[slot, slot]]);
    f.run(c, 'MULTI');
    f.run(c, 'SET', MINE, 'tx');
    expect(value(await f.run(c, 'EXEC'))).to.equal(TRYAGAIN_MSG);
    expect(c.multi).to.equal(null);
    f.state.lift([[slot, slot]]);
    expect(value(f.run(c, 'GET', MINE) as Reply)).to.equal('null');
  });

  it('a fence outlasting its bound answers TRYAGAIN and the write does not run', async () => {
    const f = primaryA0(1);
    const c = f.client();
    const slot = keySlot(MINE);
    f.state.fence([[slot, slot]]);
    expect(value(await f.run(c, 'SET', MINE, 'never'))).to.equal(TRYAGAIN_MSG);
    f.state.lift([[slot, slot]]);
    expect(value(f.run(c, 'GET', MINE) as Reply)).to.equal('null');
  });

  it('a held write of a client that disconnected does not run', async () => {
    const f = primaryA0();
    const c = f.client();
    const slot = keySlot(MINE);
    f.state.fence([[slot, slot]]);
    const held = f.run(c, 'SET', MINE, 'ghost');
    f.dispatcher.clientClosed(c);
    f.state.lift([[slot, slot]]);
    expect(value(await held)).to.match(/^ERR/);
    expect(value(f.run(f.client(), 'GET', MINE) as Reply)).to.equal('null');
  });
});
