/**
 * meta.key_count under kill -9 (issue #16): writers insert new keys and
 * delete some of their earlier ones, pipelined, with fsync=always; the node
 * is killed mid-load. The database as the crash left it (opened directly,
 * before any node recounts) has key_count equal to COUNT(*) — the count
 * commits in the same transaction as the rows — and after a restart (which
 * replays the write journal, committing the count with the rows again) every
 * acknowledged SET not followed by a sent DEL is there, every acknowledged
 * DEL is gone, and DBSIZE equals the rows.
 */
import { expect } from 'chai';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { DB_FILE_NAME } from '../../node/engine/database.js';
import { KEY_COUNT } from '../../node/engine/kv-rows.js';
import { startNode, type RunningNode } from '../support/node-process.js';
import { waitFor } from '../support/wait.js';

const CLIENTS = 4;
const PIPELINE = 32;
/** Every DELETE_EVERY-th command deletes the key set DELETE_LAG commands earlier. */
const DELETE_EVERY = 3;
const DELETE_LAG = 40;

interface Outcome {
  ackedSets: Set<string>;
  ackedDels: Set<string>;
  sentDels: Set<string>;
}

function client(port: number): Redis {
  return new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
}

async function writer(port: number, id: number, out: Outcome, stop: { now: boolean }): Promise<void> {
  const redis = client(port);
  redis.on('error', () => {});
  await redis.connect();
  let seq = 0;
  try {
    // Bounded: stops when told, when the server dies, or after 100k commands.
    while (!stop.now && seq < 100_000) {
      const batch: Array<['set' | 'del', string]> = [];
      const pipe = redis.pipeline();
      for (let i = 0; i < PIPELINE; i++) {
        seq++;
        if (seq % DELETE_EVERY === 0 && seq > DELETE_LAG) {
          const key = `c${id}:k${seq - DELETE_LAG}`;
          out.sentDels.add(key);
          batch.push(['del', key]);
          pipe.del(key);
        } else {
          const key = `c${id}:k${seq}`;
          batch.push(['set', key]);
          pipe.set(key, `${id}:${seq}`);
        }
      }
      const results = await pipe.exec();
      if (results === null) break;
      let failed = false;
      results.forEach(([err], i) => {
        const [op, key] = batch[i]!;
        if (err !== null) failed = true;
        else (op === 'set' ? out.ackedSets : out.ackedDels).add(key);
      });
      if (failed) break;
    }
  } catch {
    // The connection died with the server: in-flight commands are unknown.
  } finally {
    redis.disconnect();
  }
}

/** COUNT(*) of kv, checked equal to meta.key_count in the same read transaction. */
function countedRows(dataDir: string): number {
  const db = new Database(path.join(dataDir, DB_FILE_NAME));
  try {
    const read = db.transaction(() => [
      db.prepare('SELECT COUNT(*) FROM kv').pluck().get() as number,
      db.prepare('SELECT value FROM meta WHERE name = ?').pluck().get(KEY_COUNT) as number,
    ]);
    const [counted, kept] = read();
    expect(kept).to.equal(counted);
    return counted!;
  } finally {
    db.close();
  }
}

describe('engine: maintained key count under kill -9', function () {
  let node: RunningNode | undefined;
  afterEach(async () => { await node?.kill9(); });

  it('commits the count with the rows, and keeps every acknowledged write', async () => {
    node = await startNode({ args: ['--fsync', 'always'] });
    const out: Outcome = { ackedSets: new Set(), ackedDels: new Set(), sentDels: new Set() };
    const stop = { now: false };
    const writers = Array.from({ length: CLIENTS }, (_, i) => writer(node!.port, i, out, stop));
    await waitFor('writes to be acknowledged', () => out.ackedSets.size >= 4000 && out.ackedDels.size >= 1000, { timeoutMs: 60000 });
    // The write journal (the default) commits SQLite's batch about once a second: let one land, so the crash
    // leaves rows (and their count) in SQLite as well as turns in the journal.
    await waitFor('SQLite to hold a committed batch', () => (countedRows(node!.dataDir) > 0 ? true : null), { timeoutMs: 60000 });
    await node.kill9();
    stop.now = true;
    await Promise.all(writers);

    // As the crash left it: SQLite recovers the WAL, no node has recounted.
    expect(countedRows(node.dataDir)).to.be.greaterThan(0);

    node = await node.restart();
    const reader = client(node.port);
    await reader.connect();
    try {
      // The restart replayed the write journal's turns SQLite had not committed (the default write path), committed with their count.
      expect(await reader.dbsize()).to.equal(countedRows(node.dataDir));
      const mustExist = [...out.ackedSets].filter((k) => !out.sentDels.has(k));
      const mustBeGone = [...out.ackedDels];
      for (const [keys, want] of [[mustExist, 1], [mustBeGone, 0]] as const) {
        for (let i = 0; i < keys.length; i += 500) {
          const chunk = keys.slice(i, i + 500);
          const pipe = reader.pipeline();
          for (const k of chunk) pipe.exists(k);
          const res = (await pipe.exec())!;
          const wrong = chunk.filter((_, j) => res[j]![1] !== want);
          expect(wrong, want === 1 ? 'acknowledged SETs missing' : 'acknowledged DELs still present').to.deep.equal([]);
        }
      }
      expect(mustExist.length).to.be.greaterThan(1000);
    } finally {
      reader.disconnect();
    }
  });
});
