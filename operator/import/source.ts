/**
 * Connections to the source Redis with ioredis: the node the URL names, and
 * for a Redis Cluster (INFO cluster says cluster_enabled:1) every master, each
 * scanned on its own. TLS with rediss://, AUTH with user and password.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { CliError } from '../cli/errors.js';
import { RespSource } from './resp-source.js';
import type { SourceUrl } from './source-url.js';

export interface SourceNode {
  /** "host:port", the checkpoint's key for this node. */
  readonly address: string;
  /** For DBSIZE and the verification. */
  readonly redis: Redis;
  /** For the SCAN copy's batches. */
  readonly resp: RespSource;
}

export function sourceOptions(s: SourceUrl, host: string, port: number, db: number): RedisOptions {
  return {
    host, port, db,
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.password !== undefined ? { password: s.password } : {}),
    ...(s.tls ? { tls: { servername: s.host } } : {}),
    lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 2, connectTimeout: 10_000,
    retryStrategy: (times: number) => (times > 20 ? null : Math.min(times * 200, 2000)),
  };
}

async function connect(opts: RedisOptions, what: string): Promise<Redis> {
  const r = new Redis(opts);
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    r.disconnect();
    throw new CliError(`cannot connect to the source ${what}: ${(err as Error).message}`);
  }
  return r;
}

async function openResp(s: SourceUrl, host: string, port: number, db: number, what: string): Promise<RespSource> {
  try {
    return await RespSource.open(s, host, port, db);
  } catch (err) {
    throw new CliError(`cannot connect to the source ${what}: ${(err as Error).message}`);
  }
}

/** The source's masters, connected: one for a standalone Redis, every master of a Redis Cluster. */
export async function connectSource(s: SourceUrl, shown: string): Promise<{ nodes: SourceNode[]; cluster: boolean }> {
  const first = await connect(sourceOptions(s, s.host, s.port, s.db), shown);
  const info = await first.info('cluster').catch(() => '');
  if (!/cluster_enabled:1/.test(info)) {
    try {
      return { nodes: [{ address: `${s.host}:${s.port}`, redis: first, resp: await openResp(s, s.host, s.port, s.db, shown) }], cluster: false };
    } catch (err) {
      first.disconnect();
      throw err;
    }
  }
  if (s.db !== 0) {
    first.disconnect();
    throw new CliError('a Redis Cluster has only database 0');
  }
  const masters = parseClusterMasters(String(await first.call('CLUSTER', 'NODES')));
  first.disconnect();
  if (masters.length === 0) throw new CliError(`the source Redis Cluster ${shown} lists no master that owns slots`);
  const nodes: SourceNode[] = [];
  try {
    for (const m of masters) {
      const what = `master ${m.host}:${m.port}`;
      const redis = await connect(sourceOptions(s, m.host, m.port, 0), what);
      try {
        nodes.push({ address: `${m.host}:${m.port}`, redis, resp: await openResp(s, m.host, m.port, 0, what) });
      } catch (err) {
        redis.disconnect();
        throw err;
      }
    }
  } catch (err) {
    for (const n of nodes) {
      n.redis.disconnect();
      n.resp.close();
    }
    throw err;
  }
  return { nodes, cluster: true };
}

/** The masters with slots in CLUSTER NODES output. Pure. */
export function parseClusterMasters(text: string): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 9) continue;
    const flags = f[2]!.split(',');
    if (!flags.includes('master') || flags.includes('fail') || flags.includes('noaddr')) continue;
    const m = /^(.*):(\d+)@\d+/.exec(f[1]!);
    if (m === null) continue;
    out.push({ host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) });
  }
  return out.sort((a, b) => `${a.host}:${a.port}`.localeCompare(`${b.host}:${b.port}`));
}

/** An ioredis Cluster over the source's masters ("host:port"), to read any key back. */
export function sourceCluster(s: SourceUrl, addresses: readonly string[]): Cluster {
  const c = new Cluster(addresses.map((a) => {
    const i = a.lastIndexOf(':');
    return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
  }), {
    redisOptions: { ...(s.username !== undefined ? { username: s.username } : {}), ...(s.password !== undefined ? { password: s.password } : {}), ...(s.tls ? { tls: { servername: s.host } } : {}) },
    enableAutoPipelining: true,
  });
  c.on('error', () => {});
  return c;
}
