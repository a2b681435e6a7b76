/**
 * Plain and TLS ports side by side (issue #14), on plain data: the cluster
 * map's optional tlsPort (old maps without it still parse), MOVED naming the
 * port of the client's kind, and CLUSTER NODES / the view carrying both.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ClusterMapError, parseClusterMap, sameMapContent } from '../../common/cluster-map.js';
import { deriveRouting } from '../../node/cluster/cluster-state.js';
import { clientPort, moved, route, type RouteState } from '../../node/cluster/routing.js';
import { viewFromMap } from '../../node/commands/cluster-view.js';
import { clusterNodesText } from '../../node/commands/cluster.js';
import { parseCommandLine } from '../../operator/cli/args.js';
import { UsageError } from '../../operator/cli/errors.js';
import { connectLines } from '../../operator/local/up.js';
import { plainPortBesideTls } from '../../operator/local/layout.js';
import type { ClusterStatus } from '../../operator/core/observation.js';

const raw = (tlsPort?: unknown) => ({
  epoch: 3,
  nodes: [
    { name: 'a0', host: '127.0.0.1', port: 10000, busPort: 20000, ...(tlsPort !== undefined ? { tlsPort } : {}) },
    { name: 'b0', host: '127.0.0.1', port: 10001, busPort: 20001, ...(tlsPort !== undefined ? { tlsPort: 7001 } : {}) },
  ],
  shards: [
    { id: 'shard-0', slots: [[0, 8191]], primary: 'a0', replicas: [] },
    { id: 'shard-1', slots: [[8192, 16383]], primary: 'b0', replicas: [] },
  ],
});

describe('plain and TLS ports side by side', () => {
  describe('cluster map tlsPort', () => {
    it('is optional: a map without it parses as before, one with it keeps it', () => {
      expect(parseClusterMap(raw()).nodes[0]).to.not.have.property('tlsPort');
      expect(parseClusterMap(raw(7000)).nodes.map((n) => n.tlsPort)).to.deep.equal([7000, 7001]);
    });

    it('refuses anything but a port number', () => {
      fc.assert(fc.property(fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 65536 }), fc.double({ noInteger: true }), fc.string(), fc.constant(null)), (bad) => {
        expect(() => parseClusterMap(raw(bad))).to.throw(ClusterMapError, 'nodes[0].tlsPort must be a port number');
      }));
    });

    it('is part of the content: a map that adds a TLS port is a change to push', () => {
      expect(sameMapContent(parseClusterMap(raw()), parseClusterMap(raw(7000)))).to.equal(false);
      expect(sameMapContent(parseClusterMap(raw(7000)), parseClusterMap(raw(7000)))).to.equal(true);
    });
  });

  describe('MOVED', () => {
    const to = { host: '127.0.0.1', port: 10001, tlsPort: 7001 };
    it('names the TLS port to a TLS client and the plain port to a plain one', () => {
      expect(moved(9000, to, true)).to.equal('MOVED 9000 127.0.0.1:7001');
      expect(moved(9000, to, false)).to.equal('MOVED 9000 127.0.0.1:10001');
      // A node with one RESP port (plain only, or TLS only on `port`) is named by it to everyone.
      expect(clientPort({ host: 'h', port: 6379 }, true)).to.equal(6379);
    });

    it('route() redirects by the connection\'s kind, with primaries from the map', () => {
      const d = deriveRouting(parseClusterMap(raw(7000)), 'a0');
      const st: RouteState = {
        owners: d.owners, member: true, primaries: d.primaries, myShard: d.myShard, mapNamesMePrimary: true,
        role: 'primary', myPrimary: null, loading: false, fenced: false,
      };
      const base = { slot: 9000, write: true, readonly: false, asking: false };
      expect(route({ ...base, tls: true }, st)).to.deep.include({ message: 'MOVED 9000 127.0.0.1:7001' });
      expect(route(base, st)).to.deep.include({ message: 'MOVED 9000 127.0.0.1:10001' });
    });
  });

  it('the view keeps both ports; CLUSTER NODES shows the one of the client\'s kind', () => {
    const view = viewFromMap(parseClusterMap(raw(7000)), { name: 'a0', host: '127.0.0.1', port: 10000, busPort: 20000, replicationOffset: 0, loading: false });
    expect(view.shards.map((s) => [s.nodes[0]!.port, s.nodes[0]!.tlsPort])).to.deep.equal([[10000, 7000], [10001, 7001]]);
    expect(clusterNodesText(view, true)).to.include(' 127.0.0.1:7001@20001 ').and.not.include(':10001@');
    expect(clusterNodesText(view, false)).to.include(' 127.0.0.1:10001@20001 ').and.not.include(':7001@');
  });

  describe('irisctl local up --tls --tls-keep-plain', () => {
    it('parses with --tls and is refused without it', () => {
      expect(parseCommandLine(['local', 'up', '--tls', '--tls-keep-plain'])).to.deep.include({ tls: true, tlsKeepPlain: true });
      expect(parseCommandLine(['local', 'up', '--tls'])).to.not.have.property('tlsKeepPlain');
      expect(() => parseCommandLine(['local', 'up', '--tls-keep-plain'])).to.throw(UsageError, '--tls-keep-plain goes with --tls');
    });

    it('puts node k\'s plain port at base+3000+k, clear of the HTTP, control and bus ranges', () => {
      expect(plainPortBesideTls(7000, 0)).to.equal(10000);
      expect(plainPortBesideTls(7000, 999)).to.equal(10999);
    });

    it('prints a TLS and a plain connect line when the nodes have both ports', () => {
      const node = (name: string, port: number, tlsPort?: number) => ({ name, host: '127.0.0.1', port, ...(tlsPort !== undefined ? { tlsPort } : {}), httpUrl: 'https://127.0.0.1:8000' });
      const status = (nodes: ReturnType<typeof node>[]) => ({ shards: [{ primary: 'n0', nodes }], slotsAssigned: 16384, mapEpoch: 2 }) as unknown as ClusterStatus;
      const both = connectLines(status([node('n0', 10000, 7000), node('n1', 10001, 7001)]), 'http://c', '/d', '/d/tls/ca.crt').join('\n');
      expect(both).to.include('redis-cli --tls --cacert /d/tls/ca.crt -c -p 7000').and.include('or plain:  redis-cli -c -p 10000');
      expect(both).to.include('127.0.0.1:10000 (TLS 7000) 127.0.0.1:10001 (TLS 7001)');
      const tlsOnly = connectLines(status([node('n0', 7000)]), 'http://c', '/d', '/d/tls/ca.crt').join('\n');
      expect(tlsOnly).to.include('redis-cli --tls --cacert /d/tls/ca.crt -c -p 7000').and.not.include('or plain');
    });
  });
});
