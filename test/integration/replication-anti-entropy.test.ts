/**
 * Issue #3, "It must show" 5: anti-entropy. A row changed behind the node's
 * back (directly in a stopped replica's SQLite file) is found by the
 * primary's digest comparison — exactly that key's slot, on exactly that
 * replica — and the repair re-copies the slot so the digests are equal and
 * the replica serves the primary's value again.
 */
import { expect } from 'chai';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { Shard, connectClient, connectReadonly, metric } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

const KEYS = 300;
const TAMPERED = 'ae:key:42';

describe('replication: anti-entropy (digest check and repair)', function () {
  let shard: Shard | undefined;
  const conns: Redis[] = [];

  after(async () => {
    for (const c of conns) c.disconnect();
    await shard?.stop();
  });

  it('reports the slot of a row changed in a replica\'s SQLite file and repairs it', async () => {
    shard = await Shard.start({ replicas: 2, minSyncReplicas: 1, namePrefix: 'ae-' });
    const s = shard;
    const [victim, healthy] = s.replicas as [typeof s.nodes[0], typeof s.nodes[0]];
    const redis = await connectClient(s.primary.node.port);
    conns.push(redis);
    const pipe = redis.pipeline();
    for (let i = 0; i < KEYS; i++) pipe.set(`ae:key:${i}`, `value-${i}`);
    const res = (await pipe.exec())!;
    expect(res.every(([err, r]) => err === null && r === 'OK')).to.equal(true);
    const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', TAMPERED));
    await s.waitForConvergence();
    await s.waitForEqualDigests();
    const clean = await s.primary.admin.digestDiff();
    expect(clean.replicas.map((r) => [r.name, r.differing, r.error])).to.deep.equal([[victim.name, [], null], [healthy.name, [], null]]);

    // Graceful stop, then change one row's value behind the node's back (flags 0: stored uncompressed).
    expect(await victim.node.stop()).to.equal(0);
    const db = new Database(path.join(victim.node.dataDir, 'irisdb.sqlite'));
    try {
      const changed = db.prepare('UPDATE kv SET value = ?, flags = 0 WHERE key = ?').run(Buffer.from('tampered'), Buffer.from(TAMPERED)).changes;
      expect(changed).to.equal(1);
    } finally {
      db.close();
    }
    victim.node = await victim.node.restart();
    await s.waitForConvergence();

    const diff = await s.primary.admin.digestDiff();
    expect(diff.primary).to.equal(s.primary.name);
    expect(diff.replicas.map((r) => [r.name, r.differing, r.error])).to.deep.equal([[victim.name, [slot], null], [healthy.name, [], null]]);
    const onVictim = await connectReadonly(victim.node.port);
    conns.push(onVictim);
    expect(await onVictim.get(TAMPERED)).to.equal('tampered');

    const repaired = await s.primary.admin.repair();
    expect(repaired.replicas.map((r) => [r.name, r.repaired, r.error])).to.deep.equal([[victim.name, [slot], null], [healthy.name, [], null]]);
    // The repair travels in-band on the replication stream: poll until the replica has applied it.
    await waitFor('the repaired value on the replica', async () => (await onVictim.get(TAMPERED)) === 'value-42', { timeoutMs: 20_000 });
    const after = await s.primary.admin.digestDiff();
    expect(after.replicas.map((r) => [r.name, r.differing, r.error])).to.deep.equal([[victim.name, [], null], [healthy.name, [], null]]);
    await s.waitForEqualDigests();
    // The rest of the slot and the other keys are untouched.
    for (let i = 0; i < KEYS; i += 37) expect(await onVictim.get(`ae:key:${i}`)).to.equal(`value-${i}`);
  });

  it('finds and re-copies a divergent slot by itself with the periodic check (--digest-interval-ms)', async () => {
    await shard?.stop();
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, namePrefix: 'pe-', primaryArgs: ['--digest-interval-ms', '1000'] });
    const s = shard;
    const victim = s.replicas[0]!;
    const redis = await connectClient(s.primary.node.port);
    conns.push(redis);
    for (let i = 0; i < 50; i++) expect(await redis.set(`pe:key:${i}`, `value-${i}`)).to.equal('OK');
    await s.waitForConvergence();
    expect(await victim.node.stop()).to.equal(0);
    const db = new Database(path.join(victim.node.dataDir, 'irisdb.sqlite'));
    try {
      expect(db.prepare('UPDATE kv SET value = ?, flags = 0 WHERE key = ?').run(Buffer.from('tampered'), Buffer.from('pe:key:7')).changes).to.equal(1);
    } finally {
      db.close();
    }
    victim.node = await victim.node.restart();
    const onVictim = await connectReadonly(victim.node.port);
    conns.push(onVictim);
    await waitFor('the periodic check to repair the replica', async () => (await onVictim.get('pe:key:7')) === 'value-7', { timeoutMs: 30_000 });
    expect(await metric(s.primary.node, 'irisdb_replication_repaired_slots_total', { replica: victim.name })).to.equal(1);
    await s.waitForEqualDigests();
  });
});
