/**
 * Failover time (issue #5, 1): a checker (failover-checker.ts) runs
 * throughout; each run kill -9s (or SIGSTOPs) the current primary of the
 * next shard in turn and measures from the signal to the first write to
 * that shard's slots that was sent after it and got OK, then watches the
 * shard's writes for GAP_WINDOW_MS more (do they keep flowing while the old
 * primary is still paused or restarting?). Between runs the cluster is back
 * to Ready (the killed node restarted by the platform, or resumed, and
 * streaming again). At the end every acknowledged write is read back: a
 * missing or older value is a lost write.
 */
import { performance } from 'node:perf_hooks';
import type { Cluster } from 'ioredis';
import { AckLog } from '../test/support/ack-log.js';
import { LocalCluster } from '../test/support/local-cluster.js';
import { seqOf } from '../test/support/repl-shard.js';
import { waitFor } from '../test/support/wait.js';
import { bulkClient, delay, waitCaughtUp } from './control-plane.js';
import { Checker, checkerClient } from './failover-checker.js';

export type FaultMode = 'kill' | 'stop';

export interface FailoverRun {
  readonly shard: string;
  readonly oldPrimary: string;
  /** Signal → first OK to a write sent after it; null when none came within RUN_BOUND_MS. */
  readonly ms: number | null;
  /** What the controller printed about it (null where it printed nothing). */
  readonly controller: ControllerTimes;
  /** Errors the victim shard's write loops got between the signal and the first OK (message → count). */
  readonly errors: Readonly<Record<string, number>>;
  /**
   * The longest stretch without an OK on the shard in the GAP_WINDOW_MS
   * after the first OK (a SIGSTOPped primary still paused): whether writes
   * keep flowing after the failover or stall again (ms; null without a first OK).
   */
  readonly maxGapMs: number | null;
}

export interface FailoverModeResult {
  readonly mode: FaultMode;
  readonly runs: readonly FailoverRun[];
}

export interface FailoverBenchResult {
  readonly durability: 'required' | 'preferred' | 'default';
  readonly modes: readonly FailoverModeResult[];
  readonly ackedWrites: number;
  readonly keys: number;
  /** Acknowledged writes not readable afterwards (missing, or an older value). */
  readonly lost: number;
  readonly lostExamples: readonly string[];
  /** Errors the write loops saw (timeouts, closed connections while a shard had no primary). */
  readonly clientErrors: number;
  readonly clientErrorKinds: readonly string[];
}

/** BENCH_FAILOVER_RESUME=promoted: a SIGSTOPped primary is resumed as soon as status shows its replacement, instead of after the measurement. */
const RESUME_AT_PROMOTION = process.env.BENCH_FAILOVER_RESUME === 'promoted';
/** Per run: how long to wait for the first write after the signal. */
const RUN_BOUND_MS = 30_000;
/** Per run: after the first OK, how long to keep watching the shard's writes (a paused primary stays paused meanwhile). */
export const GAP_WINDOW_MS = 3000;
/** Per run: how long the cluster gets to be Ready and caught up again. */
const RECOVER_BOUND_MS = 120_000;

export interface ControllerTimes {
  /** Its own FailoverFinished duration (failover started → promoted). */
  readonly tookMs: number | null;
  /** Wall-clock offsets from the signal to its FailoverStarted and FailoverFinished lines. */
  readonly startedAfterMs: number | null;
  readonly finishedAfterMs: number | null;
}

/**
 * From the controller's event lines since the signal ("<ISO time> WARN
 * FailoverStarted: failover of shard-1 started (…)", "<ISO time>
 * FailoverFinished: shard-1: n is the primary at epoch 3 (was m; 812 ms)").
 */
function controllerTimes(text: string, shard: string, oldPrimary: string, wallT0: number): ControllerTimes {
  let tookMs: number | null = null;
  let startedAt: number | null = null;
  let finishedAt: number | null = null;
  for (const line of text.split('\n')) {
    const started = /^(\S+) (?:WARN )?FailoverStarted: failover of (\S+) started/.exec(line);
    if (started !== null && started[2] === shard && startedAt === null) startedAt = Date.parse(started[1]!);
    const fin = /^(\S+) FailoverFinished: (\S+): \S+ is the primary at epoch \d+ \(was (\S+); (\d+) ms\)/.exec(line);
    if (fin !== null && fin[2] === shard && fin[3] === oldPrimary && finishedAt === null) {
      finishedAt = Date.parse(fin[1]!);
      tookMs = Number(fin[4]);
    }
  }
  const after = (t: number | null): number | null => (t === null || Number.isNaN(t) ? null : t - wallT0);
  return { tookMs, startedAfterMs: after(startedAt), finishedAfterMs: after(finishedAt) };
}

/** Waits until status shows `shard` with a primary other than `old` and no change of primary under way. */
async function waitPromoted(cluster: LocalCluster, shardIndex: number, old: string): Promise<void> {
  await waitFor(`shard ${shardIndex} to promote a replica in place of ${old}`, async () => {
    const s = (await cluster.status()).shards[shardIndex]!;
    return s.primary !== old && s.failover === null;
  }, { timeoutMs: RECOVER_BOUND_MS, intervalMs: 50 });
}

/**
 * One run: signal the shard's primary, time the first write after it,
 * watch the shard's writes for GAP_WINDOW_MS more, then bring the cluster
 * back to Ready. A paused primary stays paused until then and until its
 * replacement shows in status (it comes back fenced).
 */
async function failoverRun(cluster: LocalCluster, checker: Checker, shardIndex: number, mode: FaultMode): Promise<FailoverRun> {
  const before = await waitCaughtUp(cluster, RECOVER_BOUND_MS);
  const shard = before.shards[shardIndex]!;
  const oldPrimary = shard.primary;
  const pid = await cluster.pidOf(oldPrimary);
  // The client reaches the current primary again (after the previous run's failover) before the clock starts.
  const since = performance.now();
  await waitFor(`writes to ${shard.id} to be acknowledged`, () => checker.healthy(shardIndex, since), { timeoutMs: RUN_BOUND_MS });
  const outputMark = cluster.output().length;
  const wallT0 = Date.now();
  const t0 = performance.now();
  checker.arm(shardIndex, t0);
  process.kill(pid, mode === 'kill' ? 'SIGKILL' : 'SIGSTOP');
  let ackAt: number | null;
  let maxGapMs: number | null;
  let resumed = false;
  if (mode === 'stop' && RESUME_AT_PROMOTION) {
    // A pause that ends once the failover is done (a long GC or VM freeze): the fenced node rejoins as the new primary's replica.
    void waitPromoted(cluster, shardIndex, oldPrimary).then(() => { if (!resumed) { resumed = true; process.kill(pid, 'SIGCONT'); } }, () => undefined);
  }
  try {
    ackAt = await waitFor(`a write to ${shard.id} after the ${mode} of ${oldPrimary}`, () => checker.armedAck(), { timeoutMs: RUN_BOUND_MS, intervalMs: 10 })
      .catch(() => null);
    if (ackAt === null) {
      const st = await cluster.status().catch(() => null);
      console.error(`control-plane: no write to ${shard.id} within ${RUN_BOUND_MS} ms of the ${mode} of ${oldPrimary}; its loops got ${JSON.stringify(checker.armedErrors())}; `
        + `status ${st === null ? 'unavailable' : `${st.phase}, ${shard.id} primary ${st.shards[shardIndex]!.primary}, messages ${JSON.stringify(st.messages)}`}`);
    } else {
      // A measurement window, not a synchronisation: the loops' OKs during it are the result.
      await delay(Math.max(0, ackAt + GAP_WINDOW_MS - performance.now()));
    }
    maxGapMs = checker.closeGapWindow();
    if (mode === 'stop') await waitPromoted(cluster, shardIndex, oldPrimary);
  } finally {
    if (mode === 'stop' && !resumed) {
      resumed = true;
      process.kill(pid, 'SIGCONT');
    }
  }
  await waitCaughtUp(cluster, RECOVER_BOUND_MS);
  return {
    shard: shard.id, oldPrimary, ms: ackAt === null ? null : ackAt - t0, errors: checker.armedErrors(), maxGapMs,
    controller: controllerTimes(cluster.output().slice(outputMark), shard.id, oldPrimary, wallT0),
  };
}

/** Reads every key of the log through a fresh client; returns the violations (lost or impossible values). */
async function lostWrites(seedPort: number, log: AckLog): Promise<string[]> {
  const client = bulkClient(seedPort);
  try {
    const keys = [...log.entries()].map(([k]) => k);
    const got = new Map<string, number | null>();
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const values = await Promise.all(chunk.map((k) => client.get(k)));
      chunk.forEach((k, j) => got.set(k, values[j] === null ? null : seqOf(values[j]!)));
    }
    return log.check((k) => got.get(k) ?? null);
  } finally {
    client.disconnect();
  }
}

/** durability: the cluster's dataDurability (undefined: its default, `required`). */
export async function failoverBench(runs: number, durability?: 'required' | 'preferred'): Promise<FailoverBenchResult> {
  const cluster = await LocalCluster.start(durability === undefined ? {} : { dataDurability: durability });
  let client: Cluster | null = null;
  let checker: Checker | null = null;
  try {
    const st = await waitCaughtUp(cluster, RECOVER_BOUND_MS);
    const seed = await cluster.seedPort();
    client = checkerClient(seed);
    checker = new Checker(client, st.shards.map((s) => s.slots), runs * 2 * (RUN_BOUND_MS + 2 * RECOVER_BOUND_MS));
    const modes: FailoverModeResult[] = [];
    for (const mode of ['kill', 'stop'] as const) {
      const results: FailoverRun[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await failoverRun(cluster, checker, i % st.shards.length, mode);
        const c = r.controller;
        console.error(`${new Date().toISOString()} control-plane: ${mode} ${r.oldPrimary} (${r.shard}): ${r.ms === null ? 'no write' : `${r.ms.toFixed(0)} ms`}, longest gap in the ${GAP_WINDOW_MS} ms after it ${r.maxGapMs?.toFixed(0) ?? '?'} ms; controller: started +${c.startedAfterMs ?? '?'} ms, promoted +${c.finishedAfterMs ?? '?'} ms, took ${c.tookMs ?? '?'} ms`);
        results.push(r);
      }
      modes.push({ mode, runs: results });
    }
    await checker.stop();
    const c = checker;
    checker = null;
    await waitCaughtUp(cluster, RECOVER_BOUND_MS);
    const problems = await lostWrites(seed, c.log);
    return {
      durability: durability ?? 'default', modes, ackedWrites: c.log.ackedWrites, keys: [...c.log.entries()].length,
      lost: problems.length, lostExamples: problems.slice(0, 5),
      clientErrors: c.errors, clientErrorKinds: [...c.errorKinds],
    };
  } finally {
    await checker?.stop();
    client?.disconnect();
    await cluster.destroy();
  }
}
