/**
 * The data directory is locked by the node using it (issue #13): a second
 * irisdb-node on the same --data-dir exits non-zero with a message naming
 * the owner before touching any file, and the first keeps serving; a lock
 * left by a node killed with SIGKILL is stale and the restart takes it over.
 * Files in it are private: the directory 0700, the database, its WAL and
 * shared-memory files and the lock 0600 (issue #14 item 7).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { NODE_MAIN, startNode, type RunningNode } from '../support/node-process.js';
import { freePorts } from '../support/ports.js';

/** Runs irisdb-node until it exits (bounded); its exit code and stderr. */
function runToExit(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NODE_MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`irisdb-node did not exit within ${timeoutMs} ms:\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe('data directory: one node at a time, private files', function () {
  this.timeout(60_000);
  let node: RunningNode | undefined;
  const leftovers: string[] = [];

  afterEach(async () => {
    await node?.kill9();
    if (node !== undefined) fs.rmSync(node.dataDir, { recursive: true, force: true });
    node = undefined;
    for (const d of leftovers.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a second node on the same data directory exits non-zero with the owner named; the first keeps serving', async () => {
    node = await startNode();
    const client = new Redis({ port: node.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      expect(await client.set('k', 'before')).to.equal('OK');
      const before = fs.readdirSync(node.dataDir).sort();
      const [p1, p2, p3] = await freePorts(3);
      const second = await runToExit(['--port', String(p1), '--http-port', String(p2), '--bus-port', String(p3),
        '--bind', '127.0.0.1', '--data-dir', node.dataDir], 30_000);
      expect(second.code).to.not.equal(0);
      expect(second.stderr).to.contain(`data directory ${node.dataDir} is in use by another irisdb-node (pid ${node.process.pid}`);
      // It touched no file: the first node's files are as they were, and it still reads and writes.
      expect(fs.readdirSync(node.dataDir).sort()).to.deep.equal(before);
      expect(await client.get('k')).to.equal('before');
      expect(await client.set('k', 'after')).to.equal('OK');
      expect(await client.get('k')).to.equal('after');
    } finally {
      client.disconnect();
    }
  });

  it('a lock left by a node killed with SIGKILL is stale: the restart takes it and has the data', async () => {
    node = await startNode();
    const client = new Redis({ port: node.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    expect(await client.set('k', 'v')).to.equal('OK');
    client.disconnect();
    const lock = path.join(node.dataDir, 'irisdb.lock');
    expect(fs.readFileSync(lock, 'utf8').split('\n')[0]).to.equal(String(node.process.pid));
    await node.kill9();
    expect(fs.existsSync(lock)).to.equal(true);
    node = await node.restart();
    expect(fs.readFileSync(lock, 'utf8').split('\n')[0]).to.equal(String(node.process.pid));
    const again = new Redis({ port: node.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await again.connect();
      expect(await again.get('k')).to.equal('v');
    } finally {
      again.disconnect();
    }
    // A clean stop removes the lock.
    expect(await node.stop()).to.equal(0);
    expect(fs.existsSync(lock)).to.equal(false);
  });

  it('creates the directory 0700 and its files 0600 (database, WAL, shared memory, lock, write journal)', async () => {
    node = await startNode();
    const client = new Redis({ port: node.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      expect(await client.set('k', 'v')).to.equal('OK');
    } finally {
      client.disconnect();
    }
    const parent = node.dataDir;
    const dir = path.join(parent, 'nested');
    await node.stop();
    node = await startNode({ dataDir: dir });
    leftovers.push(parent);
    const c2 = new Redis({ port: node.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await c2.connect();
      expect(await c2.set('k', 'v')).to.equal('OK');
    } finally {
      c2.disconnect();
    }
    expect(mode(dir).toString(8)).to.equal('700');
    const files = fs.readdirSync(dir).sort();
    expect(files).to.include.members(['irisdb.lock', 'irisdb.sqlite', 'irisdb.sqlite-wal', 'irisdb.sqlite-shm', 'journal']);
    // Everything below it too (the write journal's directory and segments): directories 0700, files 0600.
    const walk = (d: string): string[] => fs.readdirSync(d).flatMap((f) => {
      const p = path.join(d, f);
      return fs.statSync(p).isDirectory() ? [p, ...walk(p)] : [p];
    });
    const entries = walk(dir);
    expect(entries.some((p) => p.includes(`${path.sep}journal${path.sep}`)), 'a journal segment').to.equal(true);
    for (const p of entries) {
      const want = fs.statSync(p).isDirectory() ? '700' : '600';
      expect(`${path.relative(dir, p)} ${mode(p).toString(8)}`).to.equal(`${path.relative(dir, p)} ${want}`);
    }
  });
});
