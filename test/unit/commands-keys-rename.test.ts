/**
 * RENAME, RENAMENX, COPY (and BITOP's keys) in cluster mode through the dispatcher (node/commands/keys-rename.ts):
 * keys in different slots are CROSSSLOT, COPY's DB argument gets Redis Cluster's answers, and
 * the same commands across slots work on a standalone node. Redis parity (standalone) is in
 * test/integration/redis-parity-standalone.test.ts.
 */
import { expect } from 'chai';
import { parseClusterMap } from '../../common/cluster-map.js';
import type { Reply } from '../../node/resp/reply.js';
import { engineFixture } from '../support/engine-fixture.js';
import { clusterServerFixture } from '../support/cluster-harness.js';

const ONE_SHARD = parseClusterMap({
  epoch: 1,
  nodes: [{ name: 'a0', host: '127.0.0.1', port: 7000, busPort: 17000 }],
  shards: [{ id: 'shard-0', slots: [[0, 16383]], primary: 'a0', replicas: [] }],
});

function text(r: unknown): string {
  const x = r as Reply;
  if (x.kind === 'error' || x.kind === 'simple') return String(x.value);
  if (x.kind === 'integer') return `:${String(x.value)}`;
  if (x.kind === 'bulk') return x.value === null ? '(nil)' : Buffer.from(x.value as Buffer).toString();
  return JSON.stringify(x);
}

describe('RENAME, RENAMENX, COPY across slots and COPY DB', () => {
  const fx = engineFixture();
  const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

  it('cluster mode: CROSSSLOT across slots, served within one hash tag; COPY DB n as Redis Cluster answers', () => {
    const f = clusterServerFixture(fx.open(), 'a0', { clusterEnabled: true });
    f.state.install(ONE_SHARD);
    const c = f.client();
    expect(text(f.run(c, 'SET', 'a', '1'))).to.equal('OK');
    expect(text(f.run(c, 'RENAME', 'a', 'b'))).to.equal(CROSSSLOT);
    expect(text(f.run(c, 'RENAMENX', 'a', 'b'))).to.equal(CROSSSLOT);
    expect(text(f.run(c, 'COPY', 'a', 'b'))).to.equal(CROSSSLOT);
    expect(text(f.run(c, 'BITOP', 'AND', '{t}d', '{t}a', 'a'))).to.equal(CROSSSLOT);
    expect(text(f.run(c, 'SET', '{t}a', '1', 'EX', '100'))).to.equal('OK');
    expect(text(f.run(c, 'RENAME', '{t}a', '{t}b'))).to.equal('OK');
    expect(text(f.run(c, 'TTL', '{t}b'))).to.match(/^:(99|100)$/);
    expect(text(f.run(c, 'COPY', '{t}b', '{t}c', 'DB', '1'))).to.equal('ERR Copying to another database is not allowed in cluster mode');
    expect(text(f.run(c, 'COPY', '{t}b', '{t}c', 'DB', '16'))).to.equal('ERR DB index is out of range');
    expect(text(f.run(c, 'COPY', '{t}b', '{t}c', 'DB', '0'))).to.equal(':1');
    expect(text(f.run(c, 'GET', '{t}c'))).to.equal('1');
  });

  it('standalone: the same commands across slots run, as on a single Redis server', () => {
    const f = clusterServerFixture(fx.open(), 'a0');
    const c = f.client();
    expect(text(f.run(c, 'SET', 'a', '1', 'EX', '100'))).to.equal('OK');
    expect(text(f.run(c, 'RENAME', 'a', 'b'))).to.equal('OK');
    expect(text(f.run(c, 'TTL', 'b'))).to.match(/^:(99|100)$/);
    expect(text(f.run(c, 'COPY', 'b', 'a', 'DB', '1'))).to.equal('ERR DB index is out of range');
    expect(text(f.run(c, 'COPY', 'b', 'a'))).to.equal(':1');
    expect(text(f.run(c, 'RENAMENX', 'a', 'b'))).to.equal(':0');
  });
});
