/**
 * ROLE (node/commands/role.ts): Redis 7's reply shapes, from the INFO
 * replication fields of a primary (online replicas only) and of a replica
 * (connected, loading, link down), and on a node without replication.
 */
import { expect } from 'chai';
import { roleFromInfo } from '../../node/commands/role.js';
import type { Reply } from '../../node/resp/reply.js';
import { engineFixture } from '../support/engine-fixture.js';
import { clusterServerFixture } from '../support/cluster-harness.js';

/** Replies as plain data, bulk strings and integers kept apart (ROLE mixes both). */
function plain(r: Reply): unknown {
  switch (r.kind) {
    case 'array': return r.items.map(plain);
    case 'bulk': return `$${r.value.toString()}`;
    case 'integer': return Number(r.value);
    default: return r.kind;
  }
}

describe('ROLE', () => {
  it('a primary: ["master", offset, [[ip, port, offset]...]] with online replicas only, as bulk strings', () => {
    const r = roleFromInfo([
      ['role', 'master'], ['connected_slaves', 2],
      ['slave0', 'ip=127.0.0.1,port=7001,state=online,offset=41,lag=0'],
      ['slave1', 'ip=127.0.0.1,port=7002,state=send_bulk,offset=0,lag=0'],
      ['master_repl_offset', 42],
    ], 0);
    expect(plain(r)).to.deep.equal(['$master', 42, [['$127.0.0.1', '$7001', '$41']]]);
  });

  it('a replica: ["slave", ip, port, state, offset]; offset -1 while the link is down', () => {
    const base: Array<[string, string | number]> = [['role', 'slave'], ['master_host', '10.0.0.1'], ['master_port', 7000], ['slave_repl_offset', 17]];
    expect(plain(roleFromInfo([...base, ['master_link_status', 'up'], ['master_sync_in_progress', 0]], 0)))
      .to.deep.equal(['$slave', '$10.0.0.1', 7000, '$connected', 17]);
    expect(plain(roleFromInfo([...base, ['master_link_status', 'down'], ['master_sync_in_progress', 1]], 0)))
      .to.deep.equal(['$slave', '$10.0.0.1', 7000, '$sync', 17]);
    expect(plain(roleFromInfo([...base, ['master_link_status', 'down'], ['master_sync_in_progress', 0]], 0)))
      .to.deep.equal(['$slave', '$10.0.0.1', 7000, '$connect', -1]);
  });

  describe('through the dispatcher', () => {
    const fx = engineFixture();
    it('answers on any node, also one without replicas', () => {
      const f = clusterServerFixture(fx.open(), 'a0');
      expect(plain(f.run(f.client(), 'ROLE') as Reply)).to.deep.equal(['$master', 0, []]);
      expect(plain(f.run(f.client(), 'role') as Reply)).to.deep.equal(['$master', 0, []]);
    });
  });
});
