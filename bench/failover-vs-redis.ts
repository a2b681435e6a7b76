/**
 * Failover and pause recovery, IrisDB next to Redis Cluster (issue #13):
 * both systems run side by side; runs alternate between them, each run
 * with a fresh workload (failover-workload.ts, the same for both, through
 * the same ioredis Cluster client settings as failover-checker.ts). A run
 * kill -9s or SIGSTOPs (for PAUSE_MS, then SIGCONT) the primary of the next
 * shard in turn, measures recovery (signal → first OK to a write to that
 * shard's slots sent after the signal) and the unavailable window (longest
 * stretch without an OK there, from the last OK before the signal to
 * GAP_WINDOW_MS after recovery or resume), waits (bounded) until the system
 * is healthy again, stops the workload, reads back every key it wrote and
 * counts lost writes and stale reads (failover-register.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Cluster } from 'ioredis';
import { waitFor } from '../test/support/wait.js';
import { delay } from './control-plane.js';
import { checkerClient } from './failover-checker.js';
import { checkRegisters, type RegisterCheck } from './failover-register.js';
import { type FailoverTarget, IrisTarget, type IrisTargetOptions } from './failover-target.js';
import { FailoverWorkload, type ProbeResult } from './failover-workload.js';
import { RedisClusterTarget } from './redis-cluster-failover.js';
import { seqOf } from '../test/support/repl-shard.js';

export type Nemesis = 'kill' | 'stop';

/** How long a SIGSTOPped primary stays paused: past both systems' failure detection (IrisDB 1.5 s, Redis node timeout 2 s). */
export const PAUSE_MS = pauseMs(process.env.BENCH_FAILOVER_PAUSE_MS);

function pauseMs(text: string | undefined): number {
  const n = Number(text ?? 5000);
  if (!Number.isInteger(n) || n < 0 || n > 60_000) throw new Error(`BENCH_FAILOVER_PAUSE_MS must be an integer of ms from 0 to 60000, not ${text}`);
  return n;
}
/** After recovery (or the resume, whichever is later), how long the probe keeps watching for another gap. */
export const GAP_WINDOW_MS = 3000;
/** Per run: how long to wait for the first OK after the signal. */
const RUN_BOUND_MS = 30_000;
/** Per run: the workload's own end, whatever happens (the run's waits are all bounded below it). */
const WORKLOAD_BOUND_MS = 400_000;

export interface VsRun extends ProbeResult {
  readonly system: string;
  readonly nemesis: Nemesis;
  readonly victim: string;
  readonly check: RegisterCheck;
  readonly clientErrors: number;
}

export interface VsResult {
  readonly iris: IrisTargetOptions;
  readonly systems: readonly string[];
  readonly runs: readonly VsRun[];
  readonly pauseMs: number;
  readonly gapWindowMs: number;
}

/** Every key's sequence, read through `client` after the run (retried: the client may still be re-reading the slots). */
async function readBack(client: Cluster, keys: readonly string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const values = await waitFor(`a read-back of ${chunk.length} keys`, () => Promise.all(chunk.map((k) => client.get(k))), { timeoutMs: 30_000, intervalMs: 200 });
    chunk.forEach((k, j) => out.set(k, values[j] === null ? null : seqOf(values[j]!)));
  }
  return out;
}

async function oneRun(t: FailoverTarget, client: Cluster, nemesis: Nemesis, shard: number, tag: string): Promise<VsRun> {
  await t.waitHealthy();
  const wl = new FailoverWorkload(client, t.shardSlots, `fvr:${tag}:`, WORKLOAD_BOUND_MS);
  let paused: number | null = null;
  const resume = (): void => {
    if (paused === null) return;
    try {
      process.kill(paused, 'SIGCONT');
    } catch {
      // it exited meanwhile
    }
    paused = null;
  };
  let probe: ProbeResult;
  let victim: string;
  try {
    const since = performance.now();
    await waitFor(`writes to every shard of ${t.name} to be acknowledged`, () => t.shardSlots.every((_, s) => wl.healthy(s, since)), { timeoutMs: RUN_BOUND_MS });
    const v = await t.victim(shard);
    victim = v.name;
    const t0 = performance.now();
    wl.arm(shard, t0);
    process.kill(v.pid, nemesis === 'kill' ? 'SIGKILL' : 'SIGSTOP');
    let resumed: Promise<number> | null = null;
    if (nemesis === 'stop') {
      paused = v.pid;
      // The pause ends after PAUSE_MS whether or not the shard took writes meanwhile.
      resumed = delay(PAUSE_MS).then(() => {
        resume();
        return performance.now();
      });
    }
    const ackAt = await waitFor(`a write to ${t.name} shard ${shard} after the ${nemesis} of ${v.name}`, () => wl.firstAck(), { timeoutMs: RUN_BOUND_MS, intervalMs: 10 })
      .catch(() => null);
    let backAt = ackAt ?? performance.now();
    if (resumed !== null) backAt = Math.max(backAt, await resumed);
    else await t.afterKill(v);
    // A measurement window, not a synchronisation: the workload's OKs during it are the result.
    await delay(Math.max(0, backAt + GAP_WINDOW_MS - performance.now()));
    probe = wl.closeProbe();
    await t.waitHealthy();
  } finally {
    resume();
    await wl.stop();
  }
  const check = checkRegisters(wl.writes, wl.reads, await readBack(client, wl.keys));
  return { system: t.name, nemesis, victim, ...probe, check, clientErrors: wl.errors };
}

/** `runs` runs per nemesis per system, alternating which system goes first. */
export async function failoverVsRedisBench(runs: number, iris: IrisTargetOptions): Promise<VsResult> {
  const targets: FailoverTarget[] = [];
  const clients: Cluster[] = [];
  try {
    targets.push(await IrisTarget.start(iris));
    targets.push(await RedisClusterTarget.start());
    for (const t of targets) clients.push(checkerClient(t.seedPort()));
    const out: VsRun[] = [];
    for (const nemesis of ['kill', 'stop'] as const) {
      for (let i = 0; i < runs; i++) {
        const order = i % 2 === 0 ? [0, 1] : [1, 0];
        for (const k of order) {
          const t = targets[k]!;
          const r = await oneRun(t, clients[k]!, nemesis, i % t.shardSlots.length, `${k}${nemesis}${i}`);
          const fmtMs = (x: number | null): string => (x === null ? 'none' : `${x.toFixed(0)} ms`);
          console.error(`${new Date().toISOString()} failover-vs-redis: ${t.name} ${nemesis} ${r.victim}: first write ${fmtMs(r.recoveryMs)}, unavailable ${fmtMs(r.unavailableMs)}, `
            + `${r.check.ackedWrites} acked, ${r.check.lostWrites} lost, ${r.check.staleReads}/${r.check.reads} stale reads, ${r.check.late} late, ${r.check.impossible} impossible${r.check.examples.length > 0 ? ` (${r.check.examples.join('; ')})` : ''}`);
          out.push(r);
        }
      }
    }
    return { iris, systems: targets.map((t) => t.name), runs: out, pauseMs: PAUSE_MS, gapWindowMs: GAP_WINDOW_MS };
  } finally {
    for (const c of clients) c.disconnect();
    for (const t of targets) await t.stop().catch(() => undefined);
  }
}
