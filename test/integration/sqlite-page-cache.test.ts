/**
 * SQLite's page cache is sized from the memory limit the node really runs
 * under (issue #16; node/engine/page-cache-size.ts): a node started inside a
 * memory cgroup of 1 GiB, made here (cgroup v1 or v2; the suite runs as
 * root), takes a quarter of it, and INFO and /metrics report the limit and
 * the size in use; --sqlite-cache-bytes overrides it.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { defaultPageCacheBytes } from '../../node/engine/page-cache-size.js';
import { memoryLimit } from '../../node/runtime/memory-limit.js';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';
import { Redis } from 'ioredis';
import { infoFields } from '../support/info-fields.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

interface TestCgroup {
  readonly dir: string;
  remove(): void;
}

/** A memory cgroup with `limit` bytes, v1 (a "memory" hierarchy) or v2 (the unified one, if it delegates memory). */
function makeMemoryCgroup(limit: number): TestCgroup {
  const name = `irisdb-test-${crypto.randomBytes(4).toString('hex')}`;
  const v1 = '/sys/fs/cgroup/memory';
  const isV1 = fs.existsSync(path.join(v1, 'cgroup.procs'));
  if (!isV1) {
    const controllers = fs.readFileSync('/sys/fs/cgroup/cgroup.subtree_control', 'utf8');
    if (!controllers.split(/\s+/).includes('memory')) fs.writeFileSync('/sys/fs/cgroup/cgroup.subtree_control', '+memory');
  }
  const dir = path.join(isV1 ? v1 : '/sys/fs/cgroup', name);
  fs.mkdirSync(dir);
  const remove = (): void => fs.rmdirSync(dir);
  try {
    fs.writeFileSync(path.join(dir, isV1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limit));
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, remove };
}

async function memoryInfo(node: RunningNode): Promise<Map<string, string>> {
  const redis = new Redis({ port: node.port, host: '127.0.0.1', lazyConnect: true });
  try {
    await redis.connect();
    return infoFields(await redis.info('memory'));
  } finally {
    redis.disconnect();
  }
}

describe('SQLite page cache sized from the memory limit', function () {
  this.timeout(60_000);
  let cgroup: TestCgroup | null = null;
  let preloadDir: string | null = null;
  const nodes: RunningNode[] = [];

  after(async () => {
    for (const n of nodes) await n.stop();
    cgroup?.remove();
    if (preloadDir !== null) fs.rmSync(preloadDir, { recursive: true, force: true });
  });

  it('takes a quarter of the memory cgroup it starts in, and reports limit and size in INFO and /metrics', async () => {
    cgroup = makeMemoryCgroup(GiB);
    // Joins the cgroup before the node's own code runs (it reads its limit at start).
    preloadDir = await makeTempDir('irisdb-cgroup-');
    const preload = path.join(preloadDir, 'join-cgroup.mjs');
    fs.writeFileSync(preload, `import fs from 'node:fs';\nfs.writeFileSync(${JSON.stringify(path.join(cgroup.dir, 'cgroup.procs'))}, String(process.pid));\n`);
    const node = await startNode({ nodeArgs: ['--import', preload] });
    nodes.push(node);
    const procs = fs.readFileSync(path.join(cgroup.dir, 'cgroup.procs'), 'utf8').split('\n');
    expect(procs).to.include(String(node.process.pid));
    const info = await memoryInfo(node);
    expect(info.get('irisdb_memory_limit_source')).to.equal('cgroup');
    expect(Number(info.get('irisdb_memory_limit_bytes'))).to.equal(GiB);
    expect(Number(info.get('irisdb_sqlite_cache_bytes'))).to.equal(256 * MiB);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).to.match(new RegExp(`^irisdb_process_memory_limit_bytes ${GiB}$`, 'm'));
    expect(node.logs()).to.not.include('"level":"error"');
  });

  it('outside that cgroup takes the default from its own limit, and --sqlite-cache-bytes as given', async () => {
    const mine = memoryLimit();
    const plain = await startNode();
    nodes.push(plain);
    const info = await memoryInfo(plain);
    expect(info.get('irisdb_memory_limit_source')).to.equal(mine.source);
    expect(Number(info.get('irisdb_sqlite_cache_bytes'))).to.equal(defaultPageCacheBytes(mine));
    const fixed = await startNode({ args: ['--sqlite-cache-bytes', '48mb'] });
    nodes.push(fixed);
    expect(Number((await memoryInfo(fixed)).get('irisdb_sqlite_cache_bytes'))).to.equal(48 * MiB);
  });
});
