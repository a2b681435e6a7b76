/**
 * Issue #3, "It must show" 3: with minSyncReplicas=1 and two replicas,
 * SIGSTOP one replica and writes keep succeeding (each one already on the
 * other replica when acknowledged); SIGSTOP both and writes fail with
 * NOREPLICAS after ackTimeoutMs (HTTP: 503 replication_timeout); SIGCONT
 * them and writes succeed again. No write that got an OK is missing
 * afterwards, on the primary or (after convergence) on the replicas.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import type { AckLog } from '../support/ack-log.js';
import { Shard, WriteLoad, connectClient, connectReadonly, metric, readAll, readSeqs } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

describe('replication: acknowledgement timeout (minSyncReplicas=1, 2 replicas, SIGSTOP)', function () {
  let shard: Shard | undefined;
  const conns: Redis[] = [];
  const logs: AckLog[] = [];

  before(async () => {
    shard = await Shard.start({ replicas: 2, minSyncReplicas: 1, ackTimeoutMs: 1000, namePrefix: 'acktimeout-' });
  });
  after(async () => {
    for (const r of shard?.replicas ?? []) r.node.resume();
    for (const c of conns) c.disconnect();
    await shard?.stop();
  });

  it('keeps acknowledging writes with one replica stopped, each already on the other replica', async () => {
    const s = shard!;
    const [stopped, running] = s.replicas as [typeof s.nodes[0], typeof s.nodes[0]];
    stopped.node.pause();
    const readers = await Promise.all([0, 1].map(() => connectReadonly(running.node.port)));
    conns.push(...readers);
    const missing: string[] = [];
    const load = new WriteLoad(s.primary.node.port, {
      clients: 2, keysPerClient: 100, pipeline: 16, maxPipelines: 40, deadlineMs: 30_000, keyPrefix: 'one',
      afterAck: async (client, acked) => {
        const seqs = await readSeqs(readers[client]!, acked.map(([k]) => k));
        acked.forEach(([k, seq], i) => {
          if ((seqs[i] ?? -1) < seq) missing.push(`${k}: acknowledged seq ${seq}, the running replica holds ${seqs[i]}`);
        });
      },
    });
    const result = await load.done();
    logs.push(load.log);
    expect(result.errors, [...result.errorTexts].join('\n')).to.equal(0);
    expect(load.log.ackedWrites).to.equal(2 * 40 * 16);
    expect(missing, missing.slice(0, 10).join('\n')).to.deep.equal([]);

    // WAIT counts the replicas that have everything: the stopped one never answers, so WAIT 2 gives 1 at its timeout.
    const waiter = await connectClient(s.primary.node.port);
    conns.push(waiter);
    await waiter.set('one:wait', 'x');
    expect(await waiter.call('WAIT', '2', '300')).to.equal(1);
    expect(await waiter.call('WAIT', '1', '0')).to.equal(1);

    // The primary's metrics show the stopped replica falling behind and the running one keeping up.
    const p = s.primary.node;
    expect(await metric(p, 'irisdb_replication_replica_lag_operations', { replica: stopped.name })).to.be.at.least(2 * 40 * 16);
    expect(await metric(p, 'redis_connected_slave_lag_seconds', { replica: stopped.name })).to.be.greaterThan(0);
    await waitFor('the running replica to have acknowledged everything', async () =>
      (await metric(p, 'irisdb_replication_replica_lag_operations', { replica: running.name })) === 0, { timeoutMs: 10_000 });
    expect(await metric(p, 'irisdb_replication_ack_duration_seconds_count')).to.be.at.least(40);
    expect(await metric(p, 'irisdb_replication_sent_bytes_total')).to.be.greaterThan(2 * 40 * 16 * 10);
    expect(await metric(running.node, 'irisdb_replication_received_bytes_total')).to.be.greaterThan(2 * 40 * 16 * 10);
  });

  it('fails writes with NOREPLICAS once both replicas are stopped (HTTP: 503 replication_timeout)', async () => {
    const s = shard!;
    s.replicas[1]!.node.pause();
    const load = new WriteLoad(s.primary.node.port, {
      clients: 2, keysPerClient: 50, pipeline: 8, maxPipelines: 2, deadlineMs: 30_000, keyPrefix: 'none',
    });
    const result = await load.done();
    logs.push(load.log);
    expect(load.log.ackedWrites).to.equal(0);
    expect(result.errors).to.equal(2 * 2 * 8);
    for (const text of result.errorTexts) expect(text).to.match(/^NOREPLICAS /);
    expect(await metric(s.primary.node, 'irisdb_replication_ack_timeouts_total')).to.be.greaterThan(0);

    const res = await fetch(`${s.primary.node.url}/v1/kv/http-none`, { method: 'PUT', body: 'v' });
    expect(res.status).to.equal(503);
    const body = await res.json() as { error: { code: string; message: string } };
    expect(body.error.code).to.equal('replication_timeout');
    expect(body.error.message).to.match(/may or may not/);

    const redis = await connectClient(s.primary.node.port);
    conns.push(redis);
    let err: Error | null = null;
    await redis.set('none:single', 'x').catch((e: Error) => { err = e; });
    expect(err, 'a single SET with both replicas stopped').to.not.equal(null);
    expect(err!.message).to.match(/^NOREPLICAS /);
    // No dirty read: the value of that unacknowledged write is not served either.
    err = null;
    const got = await redis.get('none:single').catch((e: Error) => { err = e; return 'error'; });
    expect(got).to.equal('error');
    expect(err!.message).to.match(/^NOREPLICAS /);
  });

  it('acknowledges writes again once the replicas resume, and loses none that got an OK', async () => {
    const s = shard!;
    for (const r of s.replicas) r.node.resume();
    const redis = await connectClient(s.primary.node.port);
    conns.push(redis);
    await waitFor('a write to be acknowledged again', async () => (await redis.set('resumed', '1').catch(() => null)) === 'OK', { timeoutMs: 30_000 });
    const res = await fetch(`${s.primary.node.url}/v1/kv/http-resumed`, { method: 'PUT', body: 'v' });
    expect(res.status).to.equal(200);

    const load = new WriteLoad(s.primary.node.port, { clients: 2, keysPerClient: 100, pipeline: 16, maxPipelines: 20, deadlineMs: 30_000, keyPrefix: 'back' });
    const result = await load.done();
    logs.push(load.log);
    expect(result.errors, [...result.errorTexts].join('\n')).to.equal(0);

    await s.waitForConvergence();
    await s.waitForEqualDigests();
    for (const n of s.nodes) {
      const reader = n === s.primary ? await connectClient(n.node.port) : await connectReadonly(n.node.port);
      conns.push(reader);
      for (const log of logs) {
        const stored = await readAll(reader, log);
        const problems = log.check((k) => stored.get(k) ?? null);
        expect(problems, `${n.name}: ${problems.slice(0, 10).join('\n')}`).to.deep.equal([]);
      }
      expect(await reader.get('resumed')).to.equal('1');
      expect(await reader.get('http-resumed')).to.equal('v');
    }
  });
});
