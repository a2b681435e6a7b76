/**
 * Import of N keys with every key checked afterwards (issue #19: "import of
 * 1,000,000 keys from a real redis-server (and from a real 3 + 3 Redis
 * Cluster) with TTLs checked"): the source is loaded with `redis-cli --pipe`
 * (each master its own slots' keys for a Redis Cluster), then `irisctl import
 * --verify N` copies into a fresh local cluster of 3 shards × 1 replica and
 * reads every key back from both sides: value equal, TTL on both or neither
 * and within the tool's tolerance. `BENCH_ONLY=import-verify`,
 * `BENCH_IMPORT_SOURCE=redis|cluster` (default redis).
 */
import { keySlot } from '../common/slot.js';
import { IRISCTL, LocalCluster } from '../test/support/local-cluster.js';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { run } from '../test/support/run.js';
import { startRedis } from './processes.js';
import { setCommand } from './import.js';

export interface ImportVerifyResult {
  readonly source: 'redis' | 'cluster';
  readonly keys: number;
  readonly withTtl: number;
  readonly copied: number;
  readonly copiedWithTtl: number;
  readonly copySeconds: number;
  readonly checked: number;
  readonly mismatches: readonly string[];
}

const PIPE_CHUNK = 200_000;

/** SET commands as RESP for `redis-cli --pipe` (import.ts's keys and values), grouped by the port that owns each key's slot. */
function commandsByPort(from: number, to: number, portOf: (slot: number) => number): { byPort: Map<number, string[]>; withTtl: number } {
  const byPort = new Map<number, string[]>();
  let withTtl = 0;
  for (let i = from; i < to; i++) {
    const cmd = setCommand('imv', i);
    if (cmd.withTtl) withTtl++;
    const port = portOf(keySlot(cmd.key));
    let list = byPort.get(port);
    if (list === undefined) byPort.set(port, (list = []));
    list.push(cmd.resp);
  }
  return { byPort, withTtl };
}

/** Loads the keys into their owners; returns how many have a TTL. */
async function load(keys: number, portOf: (slot: number) => number): Promise<number> {
  let withTtl = 0;
  for (let i = 0; i < keys; i += PIPE_CHUNK) {
    const chunk = commandsByPort(i, Math.min(keys, i + PIPE_CHUNK), portOf);
    withTtl += chunk.withTtl;
    for (const [port, cmds] of chunk.byPort) {
      const r = await run('redis-cli', ['-p', String(port), '--pipe'], { input: Buffer.from(cmds.join('')), timeoutMs: 600_000 });
      if (r.code !== 0) throw new Error(`redis-cli --pipe to ${port}: ${r.stderr}`);
    }
  }
  return withTtl;
}

/** The masters' slot ranges from CLUSTER SLOTS (through redis-cli: no client library state to clean up). */
async function slotOwners(anyPort: number): Promise<(slot: number) => number> {
  const r = await run('redis-cli', ['-p', String(anyPort), '--json', 'cluster', 'slots'], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`CLUSTER SLOTS: ${r.stderr}`);
  const ranges = (JSON.parse(r.stdout) as Array<[number, number, [string, number, ...unknown[]]]>).map(([lo, hi, master]) => ({ lo, hi, port: master[1] }));
  return (slot) => {
    const range = ranges.find((x) => slot >= x.lo && slot <= x.hi);
    if (range === undefined) throw new Error(`slot ${slot} has no master`);
    return range.port;
  };
}

export async function importVerifyBench(keys: number, source: 'redis' | 'cluster'): Promise<ImportVerifyResult> {
  const single = source === 'redis' ? await startRedis() : null;
  const redisCluster = source === 'cluster' ? await startRedisCluster(3, 1) : null;
  try {
    const seedPort = single?.port ?? redisCluster!.nodes[0]!.port;
    const portOf = single !== null ? () => single.port : await slotOwners(seedPort);
    const withTtl = await load(keys, portOf);
    const cluster = await LocalCluster.start({ shards: 3, replicas: 1 });
    try {
      const r = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${seedPort}`, '--json', '--verify', String(keys)], { timeoutMs: 3_600_000 });
      if (r.code !== 0) throw new Error(`irisctl import --verify ${keys} exited with ${r.code}: ${r.stderr.slice(-2000)}`);
      const report = JSON.parse(r.stdout) as { copied: number; withTtl: number; seconds: number; verify: { checked: number; mismatches: string[] } };
      return {
        source, keys, withTtl, copied: report.copied, copiedWithTtl: report.withTtl, copySeconds: report.seconds,
        checked: report.verify.checked, mismatches: report.verify.mismatches,
      };
    } finally {
      await cluster.destroy();
    }
  } finally {
    await single?.stop();
    await redisCluster?.stop();
  }
}

/** Every key copied with its TTL, and every key read back equal. */
export function importVerifyPassed(m: ImportVerifyResult): boolean {
  return m.copied === m.keys && m.copiedWithTtl === m.withTtl && m.checked === m.keys && m.mismatches.length === 0;
}

/** The result as the lines `npm run bench` prints. */
export function importVerifyLines(m: ImportVerifyResult): string {
  const from = m.source === 'redis' ? 'a redis-server' : 'a 3 + 3 Redis Cluster';
  const ok = importVerifyPassed(m);
  return [
    `\n## Import with every key checked: ${m.keys.toLocaleString('en-US')} string keys (${m.withTtl.toLocaleString('en-US')} with a TTL) from ${from}\n`,
    `copied ${m.copied.toLocaleString('en-US')} keys (${m.copiedWithTtl.toLocaleString('en-US')} with a TTL) in ${m.copySeconds.toFixed(1)} s (${Math.round(m.copied / m.copySeconds).toLocaleString('en-US')} keys/s); ` +
      `verified ${m.checked.toLocaleString('en-US')} keys from both sides: ${m.mismatches.length === 0 ? 'all equal (value, TTL within tolerance)' : `${m.mismatches.length} differ, e.g. ${m.mismatches.slice(0, 3).join('; ')}`}. **${ok ? 'PASS' : 'FAIL'}**`,
  ].join('\n');
}
