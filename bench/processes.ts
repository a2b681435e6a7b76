/** Starts the systems under comparison for benchmarks (same helpers the tests use). */
import fs from 'node:fs';
import { RawRespClient, parseReply } from '../test/support/resp-client.js';
import { startRedis, type RunningRedis } from '../test/support/redis-server.js';
import { waitFor } from '../test/support/wait.js';
export { startNode, type RunningNode } from '../test/support/node-process.js';
export { startRedis, type RunningRedis } from '../test/support/redis-server.js';
export { Shard, type ShardOptions } from '../test/support/repl-shard.js';

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * One INFO section of a Redis-protocol server (redis-server or irisdb-node),
 * as field → value. Over a plain socket rather than redis-cli: no child
 * process per probe.
 */
export async function redisInfo(port: number, section: string): Promise<Map<string, string>> {
  const client = await RawRespClient.connect(port);
  let reply: Buffer;
  try {
    reply = await client.call(['INFO', section]);
  } finally {
    client.close();
  }
  const { node } = parseReply(reply);
  if (node.type !== '$' && node.type !== '=' || node.value === null) throw new Error(`INFO ${section} on port ${port}: unexpected reply ${reply.toString().slice(0, 200)}`);
  const fields = new Map<string, string>();
  for (const line of node.value.toString().split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) fields.set(line.slice(0, i), line.slice(i + 1));
  }
  return fields;
}

export interface RedisGroup {
  readonly primary: RunningRedis;
  readonly replicas: readonly RunningRedis[];
  /** Stops every server and removes their directories. */
  stop(): Promise<void>;
}

/** How long a redis-server gets to exit after SIGTERM before it is killed. */
const REDIS_STOP_MS = 15_000;

/** SIGTERM, then SIGKILL if it is still running after REDIS_STOP_MS (redis refuses SIGTERM while writing its initial AOF). */
async function stopRedis(r: RunningRedis): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), REDIS_STOP_MS); });
  const stopped = r.stop();
  if ((await Promise.race([stopped, late])) === 'late') r.process.kill('SIGKILL');
  clearTimeout(timer);
  await stopped;
}

/**
 * A redis-server primary with `replicas` real Redis replicas (replicaof), all
 * started with `args`; resolves once every replica is online and no server
 * is still writing its initial AOF (a replica rewrites its AOF after the
 * first sync: that must not run during the measurement). Replication is
 * Redis's own: asynchronous.
 */
export async function startRedisWithReplicas(replicas: number, args: string[]): Promise<RedisGroup> {
  const primary = await startRedis(args);
  const started: RunningRedis[] = [];
  const group: RedisGroup = {
    primary,
    replicas: started,
    async stop() {
      const all = [primary, ...started];
      await Promise.all(all.map(stopRedis));
      for (const r of all) fs.rmSync(r.dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < replicas; i++) started.push(await startRedis([...args, '--replicaof', '127.0.0.1', String(primary.port)]));
    await waitFor(`${replicas} redis replicas online, AOF rewrites done`, async () => {
      const info = await redisInfo(primary.port, 'replication');
      const online = [...info].filter(([k, v]) => /^slave\d+$/.test(k) && v.includes('state=online'));
      if (online.length !== replicas) return false;
      for (const r of [primary, ...started]) {
        const p = await redisInfo(r.port, 'persistence');
        if (p.get('aof_rewrite_in_progress') !== '0' || p.get('aof_rewrite_scheduled') !== '0') return false;
      }
      return true;
    }, { timeoutMs: 60_000 });
  } catch (err) {
    await group.stop();
    throw err;
  }
  return group;
}

/** Direct children of `ppid` still running (Linux /proc). */
function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the parent pid; the command name (field 2) may contain spaces, so split after its ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return out;
}

/**
 * Makes sure no server outlives the benchmark: on exit (normal, an error, or
 * SIGINT/SIGTERM/SIGHUP turned into an exit) every child process this process
 * started and that is still running gets SIGKILL. The per-section finally
 * blocks stop servers gracefully; this catches what they cannot (a helper
 * that failed half-way through starting several servers, a signal).
 */
export function killChildrenOnExit(): void {
  process.on('exit', () => {
    for (const pid of childPids(process.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  for (const [sig, code] of Object.entries(codes)) process.once(sig, () => process.exit(code));
}
