/**
 * fsync=always: kill -9 in the middle of a pipelined write load from several
 * clients; after restart every acknowledged write is there with its value
 * and SQLite's integrity check passes.
 */
import { expect } from 'chai';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { AckLog } from '../support/ack-log.js';
import { startNode, type RunningNode } from '../support/node-process.js';
import { waitFor } from '../support/wait.js';

const CLIENTS = 4;
const KEYS_PER_CLIENT = 300;
const PIPELINE = 32;

function client(port: number): Redis {
  // No retries and no offline queue: a write counts only if this server acknowledged it.
  return new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
}

async function writer(port: number, id: number, log: AckLog, stop: { now: boolean }): Promise<void> {
  const redis = client(port);
  redis.on('error', () => {});
  await redis.connect();
  let seq = 0;
  try {
    // Bounded: stops when told, when the server dies, or after 200k writes.
    while (!stop.now && seq < 200_000) {
      const batch: Array<[string, number]> = [];
      const pipe = redis.pipeline();
      for (let i = 0; i < PIPELINE; i++) {
        seq++;
        const key = `c${id}:k${(seq * 7919) % KEYS_PER_CLIENT}`;
        log.sent(key, seq);
        batch.push([key, seq]);
        pipe.set(key, `${id}:${seq}:${'x'.repeat(seq % 50)}`);
      }
      const results = await pipe.exec();
      if (results === null) break;
      let failed = false;
      results.forEach(([err, reply], i) => {
        if (err === null && reply === 'OK') log.acked(batch[i]![0], batch[i]![1]);
        else failed = true;
      });
      if (failed) break;
    }
  } catch {
    // The connection died with the server: in-flight writes are unknown, which the log allows.
  } finally {
    redis.disconnect();
  }
}

describe('crash safety (fsync=always, kill -9 under load)', function () {
  let node: RunningNode | undefined;
  afterEach(async () => { await node?.kill9(); });

  it('keeps every acknowledged write and an intact database', async () => {
    node = await startNode({ args: ['--fsync', 'always'] });
    const log = new AckLog();
    const stop = { now: false };
    const writers = Array.from({ length: CLIENTS }, (_, i) => writer(node!.port, i, log, stop));
    // Kill in the middle of the load, once a good number of writes are acknowledged.
    await waitFor('writes to be acknowledged', () => log.ackedWrites >= 5000, { timeoutMs: 60000 });
    await node.kill9();
    stop.now = true;
    await Promise.all(writers);
    expect(log.ackedWrites).to.be.greaterThan(0);

    node = await node.restart();
    const reader = client(node.port);
    await reader.connect();
    const stored = new Map<string, number>();
    const keys = [...log.entries()].map(([k]) => k);
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const pipe = reader.pipeline();
      for (const k of chunk) pipe.get(k);
      const res = (await pipe.exec())!;
      chunk.forEach((k, j) => {
        const [err, v] = res[j]!;
        expect(err).to.equal(null);
        if (typeof v === 'string') {
          const [owner, seq] = v.split(':');
          expect(owner).to.equal(k.slice(1, k.indexOf(':')));
          stored.set(k, Number(seq));
        }
      });
    }
    reader.disconnect();
    const problems = log.check((k) => stored.get(k) ?? null);
    expect(problems, problems.slice(0, 10).join('\n')).to.deep.equal([]);

    await node.stop();
    const db = new Database(path.join(node.dataDir, 'irisdb.sqlite'), { readonly: true });
    try {
      const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
      expect(rows.map((r) => r.integrity_check)).to.deep.equal(['ok']);
    } finally {
      db.close();
    }
  });
});
