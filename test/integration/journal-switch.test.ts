/**
 * Switching the write journal on and off on an existing data directory
 * (issue #16: the journal is the default write path; --write-journal no
 * keeps the old one). Real node processes, SQLite on disk, kill -9:
 *
 * - journal on, acknowledged writes held only by the journal (the SQLite
 *   batch commits every 60 s), kill -9, restart with --write-journal no:
 *   every acknowledged write is there (replayed and committed at start) and
 *   the journal files are gone;
 * - a data directory written without the journal, kill -9, restart with it:
 *   everything is there, the journal starts empty, and writes after that
 *   survive the next kill -9.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startNode, type RunningNode } from '../support/node-process.js';

const JOURNAL_ON = ['--write-journal', 'yes', '--fsync', 'always', '--journal-commit-ms', '60000'];
const JOURNAL_OFF = ['--write-journal', 'no', '--fsync', 'always'];

function segments(dataDir: string): string[] {
  const dir = path.join(dataDir, 'journal');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.log')) : [];
}

/** `count` SETs (pipelines of 50, and every tenth key alone), each acknowledged; returns what was written. */
async function writeKeys(node: RunningNode, prefix: string, count: number): Promise<Map<string, string>> {
  const redis = new Redis({ port: node.port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true });
  await redis.connect();
  const written = new Map<string, string>();
  try {
    for (let i = 0; i < count; i += 50) {
      const pipe = redis.pipeline();
      const batch: Array<[string, string]> = [];
      for (let j = i; j < Math.min(count, i + 50); j++) batch.push([`${prefix}:${j}`, `v${j}-${'x'.repeat(j % 97)}`]);
      for (const [k, v] of batch) pipe.set(k, v);
      const res = (await pipe.exec())!;
      batch.forEach(([k, v], j) => {
        expect(res[j]![0]).to.equal(null);
        written.set(k, v);
      });
      const [k, v] = batch[0]!;
      expect(await redis.set(`${k}:alone`, v)).to.equal('OK');
      written.set(`${k}:alone`, v);
    }
    expect(await redis.incrby(`${prefix}:ctr`, count)).to.equal(count);
    written.set(`${prefix}:ctr`, String(count));
  } finally {
    redis.disconnect();
  }
  return written;
}

async function expectAll(node: RunningNode, written: Map<string, string>): Promise<void> {
  const redis = new Redis({ port: node.port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true });
  await redis.connect();
  try {
    const keys = [...written.keys()];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const values = await redis.mget(...chunk);
      chunk.forEach((k, j) => expect(values[j], `acknowledged SET ${k}`).to.equal(written.get(k)));
    }
  } finally {
    redis.disconnect();
  }
}

async function journalEnabled(node: RunningNode): Promise<string> {
  const redis = new Redis({ port: node.port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true });
  await redis.connect();
  try {
    const info = await redis.info('persistence');
    return /journal_enabled:(\d)/.exec(info)?.[1] ?? 'missing';
  } finally {
    redis.disconnect();
  }
}

describe('write journal: switching it on and off on a data directory', function () {
  const nodes: RunningNode[] = [];
  const start = async (args: string[], dataDir?: string): Promise<RunningNode> => {
    const n = await startNode({ args, env: { IRIS_LOG_LEVEL: 'info' }, ...(dataDir === undefined ? {} : { dataDir }) });
    nodes.push(n);
    return n;
  };
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.kill9();
  });

  it('--write-journal no after a kill -9 with journal records pending replays them, then runs without the journal', async () => {
    const on = await start(JOURNAL_ON);
    expect(await journalEnabled(on)).to.equal('1');
    const written = await writeKeys(on, 'a', 2000);
    expect(segments(on.dataDir)).to.have.length.greaterThan(0);
    await on.kill9();

    const off = await start(JOURNAL_OFF, on.dataDir);
    expect(await journalEnabled(off)).to.equal('0');
    await expectAll(off, written);
    // The writes came back from the journal (SQLite's batch never committed before the kill), and the journal is gone.
    const drained = off.logs().split('\n').find((l) => l.includes('replayed the turns SQLite had not committed and removed the journal'));
    expect(drained, 'the drain log line').to.be.a('string');
    expect(JSON.parse(drained!).mutations).to.be.greaterThan(0);
    expect(segments(off.dataDir)).to.deep.equal([]);

    // Without the journal from here: writes survive a kill -9, and a later start finds nothing to drain.
    for (const [k, v] of await writeKeys(off, 'b', 500)) written.set(k, v);
    await off.kill9();
    const again = await start(JOURNAL_OFF, on.dataDir);
    await expectAll(again, written);
    expect(again.logs()).not.to.include('removed the journal');
  });

  it('a data directory written without the journal starts with it, and keeps what is written after', async () => {
    const off = await start(JOURNAL_OFF);
    const written = await writeKeys(off, 'c', 1000);
    expect(segments(off.dataDir)).to.deep.equal([]);
    await off.kill9();

    const on = await start(JOURNAL_ON, off.dataDir);
    expect(await journalEnabled(on)).to.equal('1');
    await expectAll(on, written);
    expect(on.logs()).not.to.include('replayed the turns');
    for (const [k, v] of await writeKeys(on, 'd', 1000)) written.set(k, v);
    expect(segments(on.dataDir)).to.have.length.greaterThan(0);
    await on.kill9();

    const back = await start(JOURNAL_ON, off.dataDir);
    await expectAll(back, written);
    expect(back.logs()).to.include('replayed the turns SQLite had not committed');
  });
});
