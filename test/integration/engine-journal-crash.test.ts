/**
 * The write journal under kill -9 (--write-journal yes, --fsync always):
 * a primary with one synchronous replica takes pipelined SETs, unpipelined
 * SET/DEL pairs and INCRs (single and pipelined) from several clients and
 * is killed at a random point, three times. After each restart (recovery
 * replays the journal) every acknowledged SET is there with its value,
 * every acknowledged DEL is gone, and the counter holds at least the
 * acknowledged INCRs and no more than were sent (nothing applied twice);
 * at the end the replica holds the same and the digests are equal. Once
 * with the default batches, once with SQLite batches cut every ~100 SETs.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { Shard, WriteLoad, connectClient, connectReadonly, metric, readAll, type ShardNode } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

const ROUNDS = 3;

interface DelState {
  /** 'set': the SET was acknowledged and no DEL sent; 'deleted': the DEL was acknowledged; 'unknown': a reply never came. */
  state: 'set' | 'deleted' | 'unknown';
}

/** Unpipelined SET then DEL of fresh keys, each awaited; stops when told or when the connection dies. */
async function setDelWriter(port: number, round: number, keys: Map<string, DelState>, stop: { now: boolean }): Promise<void> {
  const redis = await connectClient(port);
  try {
    for (let i = 0; i < 100_000 && !stop.now; i++) {
      const key = `sd${round}:${i}`;
      keys.set(key, { state: 'unknown' });
      if ((await redis.set(key, 'v').catch(() => null)) !== 'OK') return;
      keys.set(key, { state: 'set' });
      if (i % 3 === 0) continue; // some keys stay
      keys.set(key, { state: 'unknown' });
      if ((await redis.del(key).catch(() => null)) !== 1) return;
      keys.set(key, { state: 'deleted' });
    }
  } finally {
    redis.disconnect();
  }
}

/** INCRs of one counter, alone and in pipelines of 8; counts what was sent and what was acknowledged. */
async function incrWriter(port: number, counts: { sent: number; acked: number }, stop: { now: boolean }): Promise<void> {
  const redis = await connectClient(port);
  try {
    for (let i = 0; i < 100_000 && !stop.now; i++) {
      if (i % 2 === 0) {
        counts.sent++;
        if ((await redis.incr('ctr').catch(() => null)) === null) return;
        counts.acked++;
      } else {
        const pipe = redis.pipeline();
        for (let j = 0; j < 8; j++) pipe.incr('ctr');
        counts.sent += 8;
        const res = await pipe.exec().catch(() => null);
        if (res === null) return;
        for (const [err] of res) if (err === null) counts.acked++;
        if (res.some(([err]) => err !== null)) return;
      }
    }
  } finally {
    redis.disconnect();
  }
}

async function checkNode(n: ShardNode, primary: boolean, load: WriteLoad[], delKeys: Map<string, DelState>, counts: { sent: number; acked: number }): Promise<void> {
  const redis: Redis = primary ? await connectClient(n.node.port) : await connectReadonly(n.node.port);
  try {
    for (const l of load) {
      const stored = await readAll(redis, l.log);
      const problems = l.log.check((k) => stored.get(k) ?? null);
      expect(problems, `${n.name}: ${problems.slice(0, 10).join('\n')}`).to.deep.equal([]);
    }
    const keys = [...delKeys].filter(([, s]) => s.state !== 'unknown');
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const pipe = redis.pipeline();
      for (const [k] of chunk) pipe.get(k);
      const res = (await pipe.exec())!;
      chunk.forEach(([k, s], j) => {
        const v = res[j]![1];
        if (s.state === 'set') expect(v, `${n.name}: acknowledged SET ${k}`).to.equal('v');
        else expect(v, `${n.name}: acknowledged DEL ${k}`).to.equal(null);
      });
    }
    const ctr = Number((await redis.get('ctr')) ?? 0);
    expect(ctr, `${n.name}: counter vs acknowledged INCRs`).to.be.at.least(counts.acked);
    expect(ctr, `${n.name}: counter vs INCRs sent`).to.be.at.most(counts.sent);
  } finally {
    redis.disconnect();
  }
}

describe('write journal: kill -9 under load (primary + synchronous replica)', function () {
  let shard: Shard | undefined;
  afterEach(async () => {
    await shard?.stop();
    shard = undefined;
  });

  // The second case cuts SQLite batches every ~100 SETs (--journal-commit-bytes 16384: the same cut the
  // commit-time budget makes, before the next turn's first write or on the next tick), so the kills land
  // between and inside many batch commits. The budget's arithmetic is unit-tested (engine-journal-batch-budget).
  const cases = [
    { what: '', extra: [] as string[] },
    { what: ' (SQLite batches cut every ~100 SETs)', extra: ['--journal-commit-bytes', '16384'] },
  ];
  for (const { what, extra } of cases) it(`keeps every acknowledged SET, DEL and INCR, and the replica converges${what}`, async () => {
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, namePrefix: 'journal-', args: ['--write-journal', 'yes', '--fsync', 'always', ...extra] });
    const loads: WriteLoad[] = [];
    const delKeys = new Map<string, DelState>();
    const counts = { sent: 0, acked: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const p = shard.primary;
      const load = new WriteLoad(p.node.port, { clients: 2, keysPerClient: 400, pipeline: 16, maxPipelines: 5000, deadlineMs: 60_000, keyPrefix: `r${round}c` });
      loads.push(load);
      const stop = { now: false };
      const others = [setDelWriter(p.node.port, round, delKeys, stop), incrWriter(p.node.port, counts, stop)];
      // A random point of the load: between 300 and 3000 more acknowledged SETs.
      const target = 300 + Math.floor(Math.random() * 2700);
      await waitFor('writes before the kill', () => load.log.ackedWrites >= target && counts.acked > 0, { timeoutMs: 60_000 });
      // With cut batches, the kill also waits for three batch commits since this (re)start: a target near 300
      // SETs can come before the third ~100-SET cut (the counter restarts with the process).
      if (extra.length > 0) await waitFor('batch commits before the kill', async () => (await metric(p.node, 'irisdb_journal_batch_commits_total')) > 2, { timeoutMs: 60_000 });
      expect(fs.readdirSync(path.join(p.node.dataDir, 'journal')).length).to.be.greaterThan(0);
      await p.node.kill9();
      stop.now = true;
      load.stop();
      await Promise.all([load.done(), ...others]);
      p.node = await p.node.restart();
      await checkNode(p, true, loads, delKeys, counts);
      await waitFor('the replica to stream again', async () => (await shard!.replicas[0]!.admin.replication()).primary?.state === 'streaming', { timeoutMs: 30_000 });
    }
    await shard.waitForConvergence();
    await shard.waitForEqualDigests();
    for (const n of shard.nodes) await checkNode(n, n === shard.primary, loads, delKeys, counts);
  });
});
