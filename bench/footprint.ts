/** Bytes on disk per key and RSS after loading N keys of 100 bytes, irisdb vs redis. */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { run } from '../test/support/run.js';
import { startNode, startRedis, rssBytes } from './processes.js';

export interface Footprint {
  keys: number;
  irisDiskBytesPerKey: number;
  irisRssBytes: number;
  redisRdbBytesPerKey: number;
  redisRssBytes: number;
}

/** Random base64 values: incompressible for both sides (RDB would LZF-compress a repeated byte). */
function massInsert(keys: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < keys; i++) {
    const k = `key:${String(i).padStart(9, '0')}`;
    const value = randomBytes(75).toString('base64');
    parts.push(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$100\r\n${value}\r\n`);
  }
  return Buffer.from(parts.join(''));
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return total;
}

export async function footprintBench(keys: number): Promise<Footprint> {
  const input = massInsert(keys);
  const node = await startNode({ args: ['--fsync', 'batch'] });
  const load = await run('redis-cli', ['-p', String(node.port), '--pipe'], { input, timeoutMs: 900_000 });
  if (load.code !== 0) throw new Error(`loading irisdb failed: ${load.stdout} ${load.stderr}`);
  const irisRss = rssBytes(node.process.pid!);
  await node.stop(); // closing checkpoints the WAL into the database file
  const irisDisk = dirBytes(node.dataDir);

  const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const rload = await run('redis-cli', ['-p', String(redis.port), '--pipe'], { input, timeoutMs: 900_000 });
  if (rload.code !== 0) throw new Error(`loading redis failed: ${rload.stdout}`);
  const redisRss = rssBytes(redis.process.pid!);
  await run('redis-cli', ['-p', String(redis.port), 'SAVE'], { timeoutMs: 300_000 });
  await redis.stop();
  const redisDisk = fs.statSync(path.join(redis.dir, 'dump.rdb')).size;
  return { keys, irisDiskBytesPerKey: irisDisk / keys, irisRssBytes: irisRss, redisRdbBytesPerKey: redisDisk / keys, redisRssBytes: redisRss };
}
