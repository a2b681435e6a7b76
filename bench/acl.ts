/**
 * ACL overhead (docs/security.md): one irisdb-node and one redis-server,
 * each measured with redis-benchmark as the default user (every command,
 * every key: the check is skipped) and as a restricted user (`~key:*
 * +@all -@dangerous`: every command's category and key are checked), in the
 * same run (SET and GET, 50 clients, 100-byte values, pipeline 16). fsync
 * batch and appendfsync everysec. Each setting keeps its best of BENCH_ROUNDS.
 */
import { redisBenchmark, type BenchResult } from './redis-benchmark.js';
import { startNode, startRedis } from './processes.js';
import { Redis } from 'ioredis';

export interface AclRow {
  readonly system: 'irisdb' | 'redis-server';
  readonly user: 'default' | 'restricted';
  readonly set: BenchResult;
  readonly get: BenchResult;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const RULES = ['on', '>benchpw', '~key:*', '+@all', '-@dangerous'];

export async function aclBench(requests: number): Promise<AclRow[]> {
  const node = await startNode({ args: ['--fsync', 'batch', '--min-sync-replicas', '0'] });
  const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const best = new Map<string, BenchResult>();
  const targets = [
    { system: 'irisdb' as const, port: node.port },
    { system: 'redis-server' as const, port: redis.port },
  ];
  try {
    for (const t of targets) {
      const c = new Redis({ port: t.port, host: '127.0.0.1' });
      await c.call('ACL', 'SETUSER', 'bench', ...RULES);
      c.disconnect();
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        for (const user of ['default', 'restricted'] as const) {
          const res = await redisBenchmark({
            port: t.port, tests: 'set,get', requests, clients: 50, valueBytes: 100, keyspace: 100_000, pipeline: 16,
            ...(user === 'restricted' ? { auth: { user: 'bench', password: 'benchpw' } } : {}),
          });
          for (const r of res) {
            const key = `${t.system}/${user}/${r.test}`;
            const prev = best.get(key);
            if (prev === undefined || r.rps > prev.rps) best.set(key, r);
          }
        }
      }
    }
  } finally {
    await node.stop();
    await redis.stop();
  }
  const rows: AclRow[] = [];
  for (const t of targets) {
    for (const user of ['default', 'restricted'] as const) {
      rows.push({ system: t.system, user, set: best.get(`${t.system}/${user}/SET`)!, get: best.get(`${t.system}/${user}/GET`)! });
    }
  }
  return rows;
}
