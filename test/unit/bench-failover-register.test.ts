/**
 * The failover-vs-redis benchmark's pure parts (issue #13): the per-key
 * register check that counts lost writes and stale reads
 * (bench/failover-register.ts), CLUSTER NODES parsing and the health rule
 * of the Redis Cluster side (bench/redis-cluster-failover.ts), and the
 * median/max of the report.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { checkRegisters, type ReadOp, type WriteOp } from '../../bench/failover-register.js';
import { medianMax } from '../../bench/failover-vs-redis-report.js';
import { parseClusterNodes, topologyProblems } from '../../bench/redis-cluster-failover.js';

const w = (seq: number, call: number, ack: number | null, key = 'k'): WriteOp => ({ key, seq, call, ack });
const r = (seq: number | null, call: number, ret: number, key = 'k'): ReadOp => ({ key, seq, call, ret });

describe('bench: failover register check', () => {
  it('counts nothing in a clean history', () => {
    const c = checkRegisters([w(1, 0, 1), w(2, 2, 3)], [r(1, 1.5, 1.8), r(2, 4, 5)], new Map([['k', 2]]));
    expect(c).to.include({ ackedWrites: 2, lostWrites: 0, reads: 2, staleReads: 0, late: 0, impossible: 0 });
  });

  it('a read older than a write acknowledged before it was sent is stale', () => {
    const c = checkRegisters([w(1, 0, 1), w(2, 2, 3)], [r(1, 4, 5), r(null, 6, 7)], new Map([['k', 2]]));
    expect(c.staleReads).to.equal(2);
    expect(c.examples[0]).to.match(/seq 2 was acknowledged/);
  });

  it('a read concurrent with the newer write may return the older value', () => {
    // The read was sent before write 2 was acknowledged: either value is fine.
    const c = checkRegisters([w(1, 0, 1), w(2, 2, 5)], [r(1, 3, 4)], new Map([['k', 2]]));
    expect(c.staleReads).to.equal(0);
  });

  it('an acknowledged write missing or older at the end is lost, once per write', () => {
    const c = checkRegisters([w(1, 0, 1), w(2, 2, 3), w(3, 4, 5), w(1, 0, 1, 'g')], [], new Map<string, number | null>([['k', 1], ['g', null]]));
    expect(c.lostWrites).to.equal(3);
    expect(c.ackedWrites).to.equal(4);
  });

  it('a write without OK may or may not land: absent is fine, and it is no loss', () => {
    const c = checkRegisters([w(1, 0, 1), w(2, 2, null)], [r(1, 3, 4)], new Map([['k', 1]]));
    expect(c).to.include({ lostWrites: 0, staleReads: 0, late: 0 });
  });

  it('an older value from a write without OK that landed late is counted apart, not as lost or stale', () => {
    const c = checkRegisters([w(1, 0, 1), w(2, 2, null), w(3, 4, 5)], [r(2, 6, 7)], new Map([['k', 2]]));
    expect(c).to.include({ lostWrites: 0, staleReads: 0, late: 2 });
  });

  it('a value never sent (or sent only after the read returned) is impossible', () => {
    const c = checkRegisters([w(1, 0, 1), w(2, 10, 11)], [r(2, 2, 3), r(7, 12, 13)], new Map([['k', 9]]));
    expect(c.impossible).to.equal(3);
    expect(c.staleReads).to.equal(0);
  });

  it('keys without an end value are not counted as lost', () => {
    expect(checkRegisters([w(1, 0, 1)], [], new Map()).lostWrites).to.equal(0);
  });

  it('a single sequential writer that reads its own acknowledged writes never sees a violation (property)', () => {
    fc.assert(fc.property(fc.array(fc.record({ acked: fc.boolean(), lat: fc.integer({ min: 1, max: 5 }) }), { minLength: 1, maxLength: 30 }), (ops) => {
      // The database applies every write (acknowledged or not) in order; reads see the latest.
      const writes: WriteOp[] = [];
      const reads: ReadOp[] = [];
      let t = 0;
      ops.forEach((o, i) => {
        writes.push(w(i + 1, t, o.acked ? t + o.lat : null));
        t += o.lat + 1;
        reads.push(r(i + 1, t, t + 1));
        t += 2;
      });
      const c = checkRegisters(writes, reads, new Map([['k', ops.length]]));
      return c.staleReads === 0 && c.lostWrites === 0 && c.impossible === 0 && c.late === 0;
    }));
  });

  it('a dropped acknowledged write is always found (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 30 }), fc.nat(), (n, pick) => {
      // Every write acknowledged; the database keeps an older value than the last: the writes after it are lost.
      const writes = Array.from({ length: n }, (_, i) => w(i + 1, i * 3, i * 3 + 1));
      const kept = (pick % (n - 1)) + 1;
      return checkRegisters(writes, [], new Map([['k', kept]])).lostWrites === n - kept;
    }));
  });
});

describe('bench: Redis Cluster topology', () => {
  const healthy = [
    'a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460',
    'a2 127.0.0.1:7002@17002 master - 0 0 2 connected 5461-10922',
    'a3 127.0.0.1:7003@17003 master - 0 0 3 connected 10923-16383',
    'b1 127.0.0.1:7004@17004 slave a1 0 0 1 connected',
    'b2 127.0.0.1:7005@17005 slave a2 0 0 2 connected',
    'b3 127.0.0.1:7006@17006 slave a3 0 0 3 connected',
  ];

  it('parses ports, flags, masters and slot ranges', () => {
    const v = parseClusterNodes(`${healthy.join('\n')}\n`);
    expect(v).to.have.length(6);
    expect(v[0]).to.deep.include({ id: 'a1', port: 7001, masterId: null, connected: true, slots: [[0, 5460]] });
    expect(v[0]!.flags).to.deep.equal(['myself', 'master']);
    expect(v[3]).to.deep.include({ masterId: 'a1', slots: [] });
    expect(parseClusterNodes('x 127.0.0.1:1@2 master - 0 0 1 connected 5 7-9 [10->-b2]')[0]!.slots).to.deep.equal([[5, 5], [7, 9]]);
  });

  it('is healthy with 3 masters each with a replica, and says why not otherwise', () => {
    expect(topologyProblems(parseClusterNodes(healthy.join('\n')), 6, 3)).to.deep.equal([]);
    const failed = [...healthy.slice(0, 3), 'b1 127.0.0.1:7004@17004 master,fail - 0 0 1 disconnected', ...healthy.slice(4)];
    const p = topologyProblems(parseClusterNodes(failed.join('\n')), 6, 3);
    expect(p.join('; ')).to.match(/7004 flagged fail/).and.match(/7004 disconnected/).and.match(/master 7001 has no replica/);
    expect(topologyProblems(parseClusterNodes(healthy.slice(0, 5).join('\n')), 6, 3).join('; ')).to.match(/5 nodes listed/);
  });
});

describe('bench: median and max', () => {
  it('counts a run without a value as infinitely long', () => {
    expect(medianMax([3, 1, 2])).to.deep.equal({ median: 2, max: 3 });
    expect(medianMax([4, 1, 2, 3])).to.deep.equal({ median: 2.5, max: 4 });
    expect(medianMax([1, null])).to.deep.equal({ median: Infinity, max: Infinity });
  });
});
