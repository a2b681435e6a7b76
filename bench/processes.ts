/** Starts the systems under comparison for benchmarks (same helpers the tests use). */
import fs from 'node:fs';
export { startNode, type RunningNode } from '../test/support/node-process.js';
export { startRedis, type RunningRedis } from '../test/support/redis-server.js';

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
