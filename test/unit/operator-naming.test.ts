/**
 * Shard and node names (operator/core/naming.ts): the pod-name scheme, its
 * inverse, and the cluster-name rule that keeps every derived name within
 * Kubernetes' 63-character limits.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { NODE_NAME } from '../../common/cluster-map.js';
import {
  MAX_CLUSTER_NAME, NamingError, nodeName, parseNodeName, parseShardId, shardId, validClusterName,
} from '../../operator/core/naming.js';

const clusterName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/);

describe('operator/core/naming', () => {
  it('names shards and nodes like the StatefulSet pods', () => {
    expect(shardId(0)).to.equal('shard-0');
    expect(shardId(12)).to.equal('shard-12');
    expect(nodeName('iris', 2, 1)).to.equal('iris-shard-2-1');
    expect(parseShardId('shard-7')).to.equal(7);
  });

  it('rejects bad indexes and cluster names with NamingError', () => {
    expect(() => shardId(-1)).to.throw(NamingError, /non-negative integer/);
    expect(() => shardId(1.5)).to.throw(NamingError);
    expect(() => nodeName('iris', 0, -1)).to.throw(NamingError, /ordinal/);
    expect(() => nodeName('Iris', 0, 0)).to.throw(NamingError, /invalid cluster name/);
  });

  it('parses only the names of its own cluster, with canonical numbers', () => {
    expect(parseNodeName('iris', 'iris-shard-3-0')).to.deep.equal({ shardIndex: 3, ordinal: 0 });
    expect(parseNodeName('iris', 'other-shard-3-0')).to.equal(null);
    expect(parseNodeName('iris', 'iris-shard-03-0')).to.equal(null);
    expect(parseNodeName('iris', 'iris-shard-3')).to.equal(null);
    expect(parseNodeName('iris', 'iris-shard-3-0-1')).to.equal(null);
    expect(parseNodeName('iris', 'iris-shard-a-0')).to.equal(null);
    // A cluster whose name itself contains "-shard-".
    expect(parseNodeName('a-shard-1', 'a-shard-1-shard-2-0')).to.deep.equal({ shardIndex: 2, ordinal: 0 });
    expect(parseNodeName('a', 'a-shard-1-shard-2-0')).to.equal(null);
    expect(parseShardId('shard-01')).to.equal(null);
    expect(parseShardId('shard-')).to.equal(null);
  });

  it('accepts DNS-1123 labels of at most 40 characters as cluster names', () => {
    for (const ok of ['a', 'iris', 'my-db-2', 'x'.repeat(MAX_CLUSTER_NAME)]) expect(validClusterName(ok), ok).to.equal(true);
    for (const bad of ['', 'Iris', '-a', 'a-', 'a_b', 'a.b', 'x'.repeat(MAX_CLUSTER_NAME + 1)]) expect(validClusterName(bad), bad).to.equal(false);
  });

  it('round-trips every node name, which fits a 63-character label and NODE_NAME (property)', () => {
    fc.assert(fc.property(clusterName, fc.integer({ min: 0, max: 127 }), fc.integer({ min: 0, max: 5 }), (c, i, o) => {
      expect(validClusterName(c)).to.equal(true);
      const name = nodeName(c, i, o);
      expect(name.length).to.be.at.most(63);
      expect(NODE_NAME.test(name)).to.equal(true);
      expect(parseNodeName(c, name)).to.deep.equal({ shardIndex: i, ordinal: o });
      expect(parseShardId(shardId(i))).to.equal(i);
    }));
  });
});
