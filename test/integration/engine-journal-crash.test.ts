/**
 * The write journal under kill -9 (--write-journal yes, --fsync always):
 * a primary with one synchronous replica takes pipelined SETs, unpipelined
 * SET/DEL pairs and INCRs (single and pipelined) from several clients and
 * is killed at a random point, three times. After each restart (recovery
 * replays the journal) every acknowledged SET is there with its value,
 * every acknowledged DEL is gone, and the counter holds at least the
 * acknowledged INCRs and no more than were sent (nothing applied twice);
 * at the end the replica holds the same and the digests are equal. Once
 * with the default batches, once with SQLite batches cut every ~100 SETs,
 * and once with failing turns: SQLite refuses one key (a trigger), so every
 * few milliseconds a turn fails, the open batch is rolled back and its
 * earlier turns are applied again from the journal (journal-transaction.ts)
 * while the load goes on, and the kill lands among those replays.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { Shard, WriteLoad, connectClient, connectReadonly, metric, readAll, type ShardNode } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

const ROUNDS = 3;

interface DelState {
  /** 'set': the SET was acknowledged and no DEL sent; 'deleted': the DEL was acknowledged; 'unknown': a reply never came. */
  state: 'set' | 'deleted' | 'unknown';
}

/** A reply for a turn that failed because of the poisoned key (POISON below): nothing of it was applied, and the writer goes on. */
const failedTurn = (e: unknown): boolean => e instanceof Error && e.message.includes('injected failure');

/** Unpipelined SET then DEL of fresh keys, each awaited; stops when told or when the connection dies. */
async function setDelWriter(port: number, round: number, keys: Map<string, DelState>, stop: { now: boolean }): Promise<void> {
  const redis = await connectClient(port);
  try {
    for (let i = 0; i < 100_000 && !stop.now; i++) {
      const key = `sd${round}:${i}`;
      keys.set(key, { state: 'unknown' });
      const set = await redis.set(key, 'v').catch((e: unknown) => (failedTurn(e) ? 'failed turn' : null));
      if (set === 'failed turn') continue;
      if (set !== 'OK') return;
      keys.set(key, { state: 'set' });
      if (i % 3 === 0) continue; // some keys stay
      keys.set(key, { state: 'unknown' });
      const del = await redis.del(key).catch((e: unknown) => (failedTurn(e) ? 'failed turn' : null));
      if (del === 'failed turn') {
        keys.set(key, { state: 'set' }); // the DEL left nothing: the acknowledged SET stands
        continue;
      }
      if (del !== 1) return;
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
        const r = await redis.incr('ctr').catch((e: unknown) => (failedTurn(e) ? 'failed turn' : null));
        if (r === 'failed turn') continue;
        if (r === null) return;
        counts.acked++;
      } else {
        const pipe = redis.pipeline();
        for (let j = 0; j < 8; j++) pipe.incr('ctr');
        counts.sent += 8;
        const res = await pipe.exec().catch(() => null);
        if (res === null) return;
        for (const [err] of res) if (err === null) counts.acked++;
        if (res.some(([err]) => err !== null && !failedTurn(err))) return;
      }
    }
  } finally {
    redis.disconnect();
  }
}

const POISON = 'poisoned-key';

/** Makes SQLite refuse every write of POISON (a real statement failure, from a second connection; kept across restarts). */
function poisonKey(dataDir: string): void {
  const db = new Database(path.join(dataDir, 'irisdb.sqlite'));
  try {
    const hex = Buffer.from(POISON).toString('hex');
    for (const when of ['INSERT', 'UPDATE']) {
      db.exec(`CREATE TRIGGER IF NOT EXISTS test_poison_${when.toLowerCase()} BEFORE ${when} ON kv WHEN NEW.key = X'${hex}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    }
  } finally {
    db.close();
  }
}

/** SETs of POISON, each failing its whole turn, paced so the other writers' turns mostly succeed. */
async function poisonWriter(port: number, stop: { now: boolean }): Promise<void> {
  const redis = await connectClient(port);
  try {
    for (let i = 0; i < 100_000 && !stop.now; i++) {
      const reply = await redis.set(POISON, 'x').catch((e: Error) => e.message);
      if (reply === 'OK') throw new Error('a write SQLite refuses was acknowledged');
      await new Promise((resolve) => setTimeout(resolve, 5)); // pacing of the load, not synchronisation
    }
  } catch {
    // the connection died with the kill
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
    expect(await redis.get(POISON), `${n.name}: the refused key`).to.equal(null);
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
  // between and inside many batch commits; the third has the budget itself cut them (a target no COMMIT
  // meets, dense batches included: a cut at its 64 KiB floor). The budget's arithmetic is unit-tested
  // (engine-journal-batch-budget).
  const cases = [
    { what: '', extra: [] as string[], poison: false },
    { what: ' (SQLite batches cut every ~100 SETs)', extra: ['--journal-commit-bytes', '16384'], poison: false },
    { what: ' (SQLite batches cut by the commit-time budget)', extra: ['--journal-commit-target-ms', '1', '--journal-commit-target-dense', 'yes'], poison: false },
    { what: ' (turns failing all along: batches rolled back and applied again from the journal)', extra: [] as string[], poison: true },
  ];
  for (const { what, extra, poison } of cases) it(`keeps every acknowledged SET, DEL and INCR, and the replica converges${what}`, async () => {
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, namePrefix: 'journal-', args: ['--write-journal', 'yes', '--fsync', 'always', ...extra] });
    const loads: WriteLoad[] = [];
    const delKeys = new Map<string, DelState>();
    const counts = { sent: 0, acked: 0 };
    if (poison) for (const n of shard.nodes) poisonKey(n.node.dataDir);
    for (let round = 0; round < ROUNDS; round++) {
      const p = shard.primary;
      const load = new WriteLoad(p.node.port, { clients: 2, keysPerClient: 400, pipeline: 16, maxPipelines: 5000, deadlineMs: 60_000, keyPrefix: `r${round}c` });
      loads.push(load);
      const stop = { now: false };
      const others = [setDelWriter(p.node.port, round, delKeys, stop), incrWriter(p.node.port, counts, stop)];
      if (poison) others.push(poisonWriter(p.node.port, stop));
      // A random point of the load: between 300 and 3000 more acknowledged SETs.
      const target = 300 + Math.floor(Math.random() * 2700);
      await waitFor('writes before the kill', () => load.log.ackedWrites >= target && counts.acked > 0, { timeoutMs: 60_000 });
      // With cut batches, the kill also waits for three batch commits since this (re)start: a target near 300
      // SETs can come before the third ~100-SET cut (the counter restarts with the process).
      if (extra.length > 0) await waitFor('batch commits before the kill', async () => (await metric(p.node, 'irisdb_journal_batch_commits_total')) > 2, { timeoutMs: 60_000 });
      if (poison) await waitFor('batches replayed before the kill', async () => (await metric(p.node, 'irisdb_journal_batch_replays_total')) > 2, { timeoutMs: 60_000 });
      expect(fs.readdirSync(path.join(p.node.dataDir, 'journal')).length).to.be.greaterThan(0);
      await p.node.kill9();
      stop.now = true;
      load.stop();
      await Promise.all([load.done(), ...others]);
      p.node = await p.node.restart();
      await checkNode(p, true, loads, delKeys, counts);
      await waitFor('the replica to stream again', async () => (await shard!.replicas[0]!.admin.replication()).primary?.state === 'streaming', { timeoutMs: 30_000 });
    }
    if (poison) {
      // Once more without a kill: what a replay leaves must be right while the node runs, not only after recovery.
      const p = shard.primary;
      const load = new WriteLoad(p.node.port, { clients: 2, keysPerClient: 400, pipeline: 16, maxPipelines: 5000, deadlineMs: 60_000, keyPrefix: 'live' });
      loads.push(load);
      const stop = { now: false };
      const writers = [setDelWriter(p.node.port, ROUNDS, delKeys, stop), incrWriter(p.node.port, counts, stop), poisonWriter(p.node.port, stop)];
      const replays = await metric(p.node, 'irisdb_journal_batch_replays_total');
      await waitFor('more batches replayed under load', async () => load.log.ackedWrites >= 300 && (await metric(p.node, 'irisdb_journal_batch_replays_total')) > replays + 3, { timeoutMs: 60_000 });
      stop.now = true;
      load.stop();
      await Promise.all([load.done(), ...writers]);
      await checkNode(p, true, loads, delKeys, counts);
    }
    await shard.waitForConvergence();
    await shard.waitForEqualDigests();
    for (const n of shard.nodes) await checkNode(n, n === shard.primary, loads, delKeys, counts);
  });
});
