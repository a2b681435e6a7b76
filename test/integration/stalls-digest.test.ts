/**
 * Issue #16, no stalls: a digest comparison over 100k keys runs in time
 * slices, so the node answers commands while it runs — observed through the
 * job's progress (irisdb_digest_rows_total seen strictly between 0 and the
 * row count, then a PING answered, then the counter still short of the end),
 * not with a timer — and a comparison made while writes keep committing
 * still finds primary and replica equal (both digest the same sequence).
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { Shard, WriteLoad, connectClient, metric } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

const KEYS = 100_000;
const DIGEST_ROWS = 'irisdb_digest_rows_total';

async function loadKeys(redis: Redis, n: number): Promise<void> {
  for (let i = 0; i < n;) {
    const pipe = redis.pipeline();
    for (let d = 0; d < 8 && i < n; d++) {
      const args: string[] = [];
      for (let k = 0; k < 500 && i < n; k++, i++) args.push(`key:${i}`, `value-${i}`);
      pipe.mset(...args);
    }
    for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
  }
}

describe('stalls: digests run in slices', function () {
  this.timeout(240_000);
  let shard: Shard | undefined;
  let load: WriteLoad | undefined;
  const conns: Redis[] = [];

  afterEach(async () => {
    load?.stop();
    await load?.done().catch(() => undefined);
    load = undefined;
    for (const c of conns.splice(0)) c.disconnect();
    await shard?.stop();
    shard = undefined;
  });

  it('answers commands while a digest comparison of 100k keys runs, and primary and replica agree', async () => {
    // 1 ms slices: many slices, a wide window to observe the job mid-way.
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, ackTimeoutMs: 10_000, args: ['--fsync', 'batch', '--digest-slice-ms', '1'], namePrefix: 'stall' });
    const primary = shard.primary;
    const client = await connectClient(primary.node.port);
    conns.push(client);
    await loadKeys(client, KEYS);
    await shard.waitForConvergence();

    let midway: number | null = null;
    for (let attempt = 0; attempt < 5 && midway === null; attempt++) {
      const before = await metric(primary.node, DIGEST_ROWS);
      let finished = false;
      const diff = primary.admin.digestDiff().finally(() => { finished = true; });
      await waitFor('the digest job to report progress (or finish)', async () => {
        const done = (await metric(primary.node, DIGEST_ROWS)) - before;
        if (done > 0 && done < KEYS) midway = done;
        return midway !== null || finished;
      }, { timeoutMs: 60_000, intervalMs: 1 });
      if (midway !== null) {
        // Mid-job: a command gets its reply, and the job has still not finished afterwards.
        expect(await client.ping()).to.equal('PONG');
        const after = (await metric(primary.node, DIGEST_ROWS)) - before;
        expect(after, 'rows digested after the PING was answered').to.be.lessThan(KEYS);
        expect(after).to.be.at.least(midway);
      }
      const result = await diff;
      expect(result.replicas).to.have.length(1);
      expect(result.replicas[0]!.error).to.equal(null);
      expect(result.replicas[0]!.differing).to.deep.equal([]);
      expect((await metric(primary.node, DIGEST_ROWS)) - before).to.equal(KEYS);
    }
    expect(midway, 'a digest job observed between its first and last slice').to.not.equal(null);
  });

  it('compares the same sequence on both sides while writes keep committing', async () => {
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, ackTimeoutMs: 10_000, args: ['--fsync', 'batch', '--digest-slice-ms', '1'], namePrefix: 'stallw' });
    const client = await connectClient(shard.primary.node.port);
    conns.push(client);
    await loadKeys(client, KEYS / 2);
    await shard.waitForConvergence();
    // Bounded by count and time; stopped once the comparisons are done.
    load = new WriteLoad(shard.primary.node.port, { clients: 2, keysPerClient: 500, pipeline: 8, maxPipelines: 20_000, deadlineMs: 120_000, keyPrefix: 'w' });
    await waitFor('writes under way', () => load!.log.ackedWrites > 100, { timeoutMs: 30_000 });
    for (let i = 0; i < 3; i++) {
      const acked = load.log.ackedWrites;
      const diff = await shard.primary.admin.digestDiff();
      expect(load.log.ackedWrites, 'writes acknowledged while the digest ran').to.be.greaterThan(acked);
      expect(diff.replicas[0]!.error).to.equal(null);
      expect(diff.replicas[0]!.differing, `comparison ${i} at seq ${diff.seq}`).to.deep.equal([]);
    }
    load.stop();
    await load.done();
    await shard.waitForConvergence();
    await shard.waitForEqualDigests();
  });
});
