/**
 * The CLUSTER replies rendered from a cluster map, in Redis 7.0's formats:
 * the view (shards, primary first, ids from names, myself, epochs), CLUSTER
 * NODES lines as redis-cli --cluster parses them, CLUSTER INFO, SLOTS and
 * SHARDS through the dispatcher, MYID, and HELLO/INFO's cluster mode.
 */
import { expect } from 'chai';
import { nodeIdOf, parseClusterMap, type ClusterMap } from '../../common/cluster-map.js';
import { clusterInfoText, clusterNodesText } from '../../node/commands/cluster.js';
import { viewFromMap, type SelfInfo } from '../../node/commands/cluster-view.js';
import type { Reply } from '../../node/resp/reply.js';
import { engineFixture } from '../support/engine-fixture.js';
import { clusterServerFixture } from '../support/cluster-harness.js';

/** Three shards; shard-1 has fragmented ranges and two replicas; slot 16383 is unassigned unless `full`. */
function threeShards(full = false): ClusterMap {
  return parseClusterMap({
    epoch: 7,
    nodes: [
      { name: 'a0', host: '10.0.0.1', port: 7000, busPort: 17000 },
      { name: 'b0', host: '10.0.0.2', port: 7001, busPort: 17001 },
      { name: 'b1', host: '10.0.0.3', port: 7002, busPort: 17002 },
      { name: 'b2', host: 'b2.irisdb.svc', port: 7003, busPort: 17003 },
      { name: 'c0', host: '10.0.0.5', port: 7004, busPort: 17004 },
    ],
    shards: [
      { id: 'shard-0', slots: [[0, 5000]], primary: 'a0', replicas: [] },
      { id: 'shard-1', slots: [[5001, 6000], [9000, 9000], [12000, 16382]], primary: 'b0', replicas: ['b1', 'b2'] },
      { id: 'shard-2', slots: full ? [[6001, 8999], [9001, 11999], [16383, 16383]] : [[6001, 8999], [9001, 11999]], primary: 'c0', replicas: [] },
    ],
  });
}

const self = (name: string, over: Partial<SelfInfo> = {}): SelfInfo => ({
  name, host: '127.0.0.1', port: 6379, busPort: 16379, replicationOffset: 42, loading: false, ...over,
});

/** RESP2-ish plain data of a reply, for deep comparisons. */
function plain(r: Reply): unknown {
  switch (r.kind) {
    case 'array': return r.items.map(plain);
    case 'map': return Object.fromEntries(r.entries.map(([k, v]) => [String(plain(k)), plain(v)]));
    case 'bulk': return r.value.toString();
    case 'verbatim': return r.value;
    case 'integer': return Number(r.value);
    case 'simple': case 'error': return r.value;
    default: return r.kind;
  }
}

const NODES_LINE = /^[0-9a-f]{40} [^ ]+:\d+@\d+ (myself,)?(master|slave) (-|[0-9a-f]{40}) 0 0 \d+ connected( \d+(-\d+)?)*$/;

describe('CLUSTER replies rendered from the cluster map', () => {
  describe('viewFromMap', () => {
    it('lists shards in map order, primary first, ids derived from names, myself marked', () => {
      const v = viewFromMap(threeShards(), self('b1'));
      expect(v.shards.map((s) => s.nodes.map((n) => n.id))).to.deep.equal([
        [nodeIdOf('a0')], [nodeIdOf('b0'), nodeIdOf('b1'), nodeIdOf('b2')], [nodeIdOf('c0')],
      ]);
      const b1 = v.shards[1]!.nodes[1]!;
      expect(b1).to.deep.include({ myself: true, role: 'replica', primaryId: nodeIdOf('b0'), host: '10.0.0.3', port: 7002, busPort: 17002, replicationOffset: 42 });
      expect(v.shards[1]!.nodes[0]).to.deep.include({ myself: false, role: 'master', primaryId: null, replicationOffset: 0 });
      expect(v.shards.flatMap((s) => s.nodes).every((n) => n.configEpoch === 7)).to.equal(true);
      expect([v.currentEpoch, v.myEpoch]).to.deep.equal([7, 7]);
    });

    it('cluster_state is ok only when all 16384 slots are assigned', () => {
      expect(viewFromMap(threeShards(), self('a0')).state).to.equal('fail');
      expect(viewFromMap(threeShards(true), self('a0')).state).to.equal('ok');
    });

    it('a node the map does not list still reports itself, as a primary without slots', () => {
      const v = viewFromMap(threeShards(true), self('zz', { loading: true }));
      const last = v.shards[v.shards.length - 1]!;
      expect(last.slots).to.deep.equal([]);
      expect(last.nodes[0]).to.deep.include({ id: nodeIdOf('zz'), myself: true, role: 'master', host: '127.0.0.1', port: 6379, health: 'loading' });
    });
  });

  describe('CLUSTER NODES text', () => {
    it('one line per node in Redis\'s format, slots on primaries only, every line ending in \\n', () => {
      const text = clusterNodesText(viewFromMap(threeShards(), self('b0')));
      expect(text.endsWith('\n')).to.equal(true);
      const lines = text.slice(0, -1).split('\n');
      expect(lines).to.have.length(5);
      for (const l of lines) expect(l).to.match(NODES_LINE);
      expect(lines[1]).to.equal(`${nodeIdOf('b0')} 10.0.0.2:7001@17001 myself,master - 0 0 7 connected 5001-6000 9000 12000-16382`);
      expect(lines[2]).to.equal(`${nodeIdOf('b1')} 10.0.0.3:7002@17002 slave ${nodeIdOf('b0')} 0 0 7 connected`);
      expect(lines[3]).to.equal(`${nodeIdOf('b2')} b2.irisdb.svc:7003@17003 slave ${nodeIdOf('b0')} 0 0 7 connected`);
    });
  });

  describe('CLUSTER INFO text', () => {
    it('counts assigned slots, known nodes and shards with slots; epochs from the map', () => {
      const fields = (t: string) => Object.fromEntries(t.trim().split('\r\n').map((l) => l.split(':') as [string, string]));
      const partial = fields(clusterInfoText(viewFromMap(threeShards(), self('a0'))));
      expect(partial).to.deep.include({
        cluster_state: 'fail', cluster_slots_assigned: '16383', cluster_slots_ok: '16383', cluster_known_nodes: '5',
        cluster_size: '3', cluster_current_epoch: '7', cluster_my_epoch: '7',
      });
      expect(fields(clusterInfoText(viewFromMap(threeShards(true), self('a0'))))).to.deep.include({ cluster_state: 'ok', cluster_slots_assigned: '16384' });
    });

    it('marks nodes with one RESP port TLS-only when the answering node is (CLUSTER SHARDS then says "tls-port"), never a node with both ports', () => {
      const all = (v: ReturnType<typeof viewFromMap>) => v.shards.flatMap((s) => s.nodes);
      expect(all(viewFromMap(threeShards(), self('a0', { tlsOnly: true }))).every((n) => n.tlsOnly === true)).to.equal(true);
      expect(all(viewFromMap(threeShards(), self('zz', { tlsOnly: true }))).every((n) => n.tlsOnly === true), 'itself too when unlisted').to.equal(true);
      expect(all(viewFromMap(threeShards(), self('a0'))).some((n) => n.tlsOnly !== undefined)).to.equal(false);
      const dual = parseClusterMap({ epoch: 1, nodes: [{ name: 'a0', host: '10.0.0.1', port: 7000, tlsPort: 7100, busPort: 17000 }], shards: [{ id: 's', slots: [[0, 16383]], primary: 'a0', replicas: [] }] });
      expect(all(viewFromMap(dual, self('a0', { tlsOnly: true })))[0]).to.not.have.property('tlsOnly');
    });
  });

  describe('through the dispatcher', () => {
    const fx = engineFixture();

    it('CLUSTER SLOTS: one entry per range, primary then replicas as [host, port, id, {}]', () => {
      const f = clusterServerFixture(fx.open(), 'a0');
      f.state.install(threeShards(true));
      const slots = plain(f.run(f.client(), 'CLUSTER', 'SLOTS') as Reply) as unknown[][];
      expect(slots).to.have.length(7);
      const b = (name: string, host: string, port: number) => [host, port, nodeIdOf(name), {}];
      expect(slots[1]).to.deep.equal([5001, 6000, b('b0', '10.0.0.2', 7001), b('b1', '10.0.0.3', 7002), b('b2', 'b2.irisdb.svc', 7003)]);
      expect(slots[0]).to.deep.equal([0, 5000, b('a0', '10.0.0.1', 7000)]);
      expect(slots.reduce((n, s) => n + (s[1] as number) - (s[0] as number) + 1, 0)).to.equal(16384);
    });

    it('CLUSTER SHARDS: slots as a flat start/end list and each node\'s fields (hostname for names)', () => {
      const f = clusterServerFixture(fx.open(), 'b2');
      f.state.install(threeShards());
      const shards = plain(f.run(f.client(), 'CLUSTER', 'SHARDS') as Reply) as Array<Record<string, unknown>>;
      expect(shards).to.have.length(3);
      expect(shards[1]!.slots).to.deep.equal([5001, 6000, 9000, 9000, 12000, 16382]);
      const nodes = shards[1]!.nodes as Array<Record<string, unknown>>;
      expect(nodes[0]).to.deep.equal({
        id: nodeIdOf('b0'), port: 7001, ip: '10.0.0.2', endpoint: '10.0.0.2', role: 'master', 'replication-offset': 0, health: 'online',
      });
      expect(nodes[2]).to.deep.include({ id: nodeIdOf('b2'), hostname: 'b2.irisdb.svc', endpoint: 'b2.irisdb.svc', role: 'replica' });
    });

    it('CLUSTER MYID, HELLO mode and INFO redis_mode switch to the map once one is installed', () => {
      const f = clusterServerFixture(fx.open(), 'c0');
      const c = f.client();
      expect(plain(f.run(c, 'CLUSTER', 'MYID') as Reply)).to.equal('a'.repeat(40));
      expect(plain(f.run(c, 'HELLO', '3') as Reply)).to.deep.include({ mode: 'standalone', role: 'master' });
      expect(plain(f.run(c, 'INFO', 'server') as Reply)).to.match(/redis_mode:standalone/);
      f.state.install(threeShards());
      expect(plain(f.run(c, 'CLUSTER', 'MYID') as Reply)).to.equal(nodeIdOf('c0'));
      expect(plain(f.run(c, 'HELLO') as Reply)).to.deep.include({ mode: 'cluster' });
      expect(plain(f.run(c, 'INFO', 'server') as Reply)).to.match(/redis_mode:cluster/);
      const nodes = plain(f.run(c, 'CLUSTER', 'NODES') as Reply) as string;
      expect(nodes).to.contain(`${nodeIdOf('c0')} 10.0.0.5:7004@17004 myself,master`);
      f.role = { role: 'replica', primary: null, loading: false };
      expect(plain(f.run(c, 'HELLO') as Reply)).to.deep.include({ role: 'replica' });
    });

    it('without a map: one node owning every slot, as before', () => {
      const f = clusterServerFixture(fx.open(), 'solo');
      const slots = plain(f.run(f.client(), 'CLUSTER', 'SLOTS') as Reply) as unknown[][];
      expect(slots).to.deep.equal([[0, 16383, ['127.0.0.1', 6379, 'a'.repeat(40), {}]]]);
      expect(plain(f.run(f.client(), 'CLUSTER', 'INFO') as Reply)).to.match(/cluster_state:ok\r\n/);
    });

    it('a --cluster-enabled member without a map: cluster_state:fail, no slots, CLUSTERDOWN for keys; the map ends it', () => {
      const f = clusterServerFixture(fx.open(), 'a0', { clusterEnabled: true });
      const c = f.client();
      const info = plain(f.run(c, 'CLUSTER', 'INFO') as Reply) as string;
      const fields = (t: string) => Object.fromEntries(t.trim().split('\r\n').map((l) => l.split(':') as [string, string]));
      expect(fields(info)).to.deep.include({ cluster_state: 'fail', cluster_slots_assigned: '0', cluster_known_nodes: '1', cluster_size: '0' });
      expect(plain(f.run(c, 'CLUSTER', 'SLOTS') as Reply)).to.deep.equal([]);
      expect(plain(f.run(c, 'CLUSTER', 'MYID') as Reply)).to.equal(nodeIdOf('a0'));
      expect(plain(f.run(c, 'CLUSTER', 'NODES') as Reply)).to.equal(`${nodeIdOf('a0')} 127.0.0.1:6379@16379 myself,master - 0 0 0 connected\n`);
      expect(plain(f.run(c, 'SET', 'a', 'early') as Reply)).to.equal('CLUSTERDOWN The cluster is down');
      expect(plain(f.run(c, 'GET', 'a') as Reply)).to.equal('CLUSTERDOWN The cluster is down');
      expect(plain(f.run(c, 'PING') as Reply)).to.equal('PONG');
      expect(plain(f.run(c, 'HELLO') as Reply)).to.deep.include({ mode: 'cluster' });
      expect(plain(f.run(c, 'DBSIZE') as Reply)).to.equal(0);
      f.role = { role: 'replica', primary: { host: '10.0.0.9', port: 7009 }, loading: false };
      expect(plain(f.run(c, 'SET', 'a', 'early') as Reply)).to.equal('CLUSTERDOWN The cluster is down');
      f.role = { role: 'primary', primary: null, loading: false };
      f.state.install(threeShards(true));
      expect(plain(f.run(c, 'CLUSTER', 'INFO') as Reply)).to.match(/cluster_state:ok\r\n/);
      expect(plain(f.run(c, 'SET', '{b}1', 'x') as Reply)).to.equal('OK');
      expect(f.engine.keyspace.size()).to.equal(1);
    });

    it('COUNTKEYSINSLOT and GETKEYSINSLOT read this node\'s keys of a slot', () => {
      const f = clusterServerFixture(fx.open(), 'a0');
      f.state.install(threeShards(true));
      const c = f.client();
      // {b} hashes to slot 3300, in a0's range.
      expect(plain(f.run(c, 'SET', '{b}1', 'x') as Reply)).to.equal('OK');
      f.run(c, 'SET', '{b}2', 'y');
      const slot = plain(f.run(c, 'CLUSTER', 'KEYSLOT', '{b}1') as Reply) as number;
      expect(slot).to.equal(3300);
      expect(plain(f.run(c, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)) as Reply)).to.equal(2);
      expect((plain(f.run(c, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '10') as Reply) as string[]).sort()).to.deep.equal(['{b}1', '{b}2']);
      expect(plain(f.run(c, 'ASKING') as Reply)).to.equal('OK');
    });
  });
});
