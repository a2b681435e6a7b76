/**
 * The control plane (issue #5), on the local cluster a user starts
 * (`irisctl local up`, default settings: 3 shards × 1 replica,
 * minSyncReplicas 1, heartbeatMs 500, failureThreshold 3).
 *  1. Failover time: a checker (one ioredis Cluster client, unpipelined write
 *     loops on keys of every shard's slots, every acknowledged write
 *     recorded) runs throughout; each run kill -9s (or SIGSTOPs) the current
 *     primary of the next shard in turn and measures from the signal to the
 *     first write to that shard's slots that was sent after it and got OK,
 *     then watches the shard's writes for GAP_WINDOW_MS more (do they keep
 *     flowing while the old primary is still paused or restarting?).
 *     Between runs the cluster is back to Ready (the killed node restarted
 *     by the platform, or resumed, and streaming again). At the end every
 *     acknowledged write is read back: a missing or older value is a lost write.
 *  2. Rescaling time: BENCH_KEYS keys of 100 bytes, then `scale --shards 4`
 *     through the control API, until the operation is over and the cluster
 *     Ready; keys moved, keys/s, and a sample of keys read back.
 */
import { performance } from 'node:perf_hooks';
import { Cluster, Redis } from 'ioredis';
import type { SlotRange } from '../common/cluster-map.js';
import { SLOT_COUNT, keySlot } from '../common/slot.js';
import type { ClusterStatus } from '../operator/core/observation.js';
import { AckLog } from '../test/support/ack-log.js';
import { LocalCluster } from '../test/support/local-cluster.js';
import { seqOf, valueFor } from '../test/support/repl-shard.js';
import { waitFor } from '../test/support/wait.js';

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

export interface RescaleBenchResult {
  readonly keys: number;
  readonly valueBytes: number;
  readonly loadKeysPerSec: number;
  /** Request → operation gone and the cluster Ready. */
  readonly seconds: number;
  /** Request → the first migration started (the new shard's nodes up and in the map). */
  readonly addSeconds: number | null;
  /** Keys on the new shard afterwards (DBSIZE of its primary). */
  readonly keysMoved: number;
  /** The controller's RebalanceFinished line: its own duration and key count. */
  readonly controllerMs: number | null;
  readonly controllerKeys: number | null;
  readonly migrations: number | null;
  /** Each migration, in order: seconds from the controller's MigrationStarted to its MigrationFinished (the source's cleanup included). */
  readonly migrationSeconds: readonly number[];
  /** DBSIZE of every shard's primary afterwards; their sum must equal `keys`. */
  readonly keysPerShard: Readonly<Record<string, number>>;
  readonly sampled: number;
  readonly sampleBad: number;
  readonly sampleBadExamples: readonly string[];
}

/** The checker's client: see docs/benchmarks.md (a paused primary sends no error; the client must time out and re-read the slots). */
export const CHECKER_CLIENT = {
  commandTimeoutMs: Number(process.env.BENCH_FAILOVER_COMMAND_TIMEOUT_MS ?? 500),
  slotsRefreshIntervalMs: 250,
  slotsRefreshTimeoutMs: 500,
  retryDelayOnFailoverMs: 100,
} as const;
/** BENCH_FAILOVER_RESUME=promoted: a SIGSTOPped primary is resumed as soon as status shows its replacement, instead of after the measurement. */
const RESUME_AT_PROMOTION = process.env.BENCH_FAILOVER_RESUME === 'promoted';
const LOOPS_PER_SHARD = 2;
const KEYS_PER_LOOP = 100;
/** After an error a loop waits this long before its next write, so a shard without a primary is not hammered. */
const ERROR_BACKOFF_MS = 10;
/** Per run: how long to wait for the first write after the signal. */
const RUN_BOUND_MS = 30_000;
/** Per run: after the first OK, how long to keep watching the shard's writes (a paused primary stays paused meanwhile). */
export const GAP_WINDOW_MS = 3000;
/** Per run: how long the cluster gets to be Ready and caught up again. */
const RECOVER_BOUND_MS = 120_000;
const VALUE_BYTES = 100;
const SAMPLE = 10_000;
/** Before timing the rescale: the load's aftermath (WAL checkpoints on every node) settles. */
const SETTLE_MS = 5000;

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function checkerClient(seedPort: number): Cluster {
  const c = new Cluster([{ host: '127.0.0.1', port: seedPort }], {
    maxRedirections: 64,
    retryDelayOnTryAgain: 50,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: CHECKER_CLIENT.retryDelayOnFailoverMs,
    slotsRefreshInterval: CHECKER_CLIENT.slotsRefreshIntervalMs,
    slotsRefreshTimeout: CHECKER_CLIENT.slotsRefreshTimeoutMs,
    redisOptions: { enableReadyCheck: false, commandTimeout: CHECKER_CLIENT.commandTimeoutMs },
  });
  c.on('error', () => {});
  return c;
}

function bulkClient(seedPort: number): Cluster {
  const c = new Cluster([{ host: '127.0.0.1', port: seedPort }], {
    maxRedirections: 64, retryDelayOnTryAgain: 50, retryDelayOnMoved: 0, enableAutoPipelining: true, slotsRefreshTimeout: 2000,
    redisOptions: { enableReadyCheck: false },
  });
  c.on('error', () => {});
  return c;
}

/** `n` keys named `${prefix}${i}` whose slots lie in `ranges`. */
function keysIn(prefix: string, ranges: readonly SlotRange[], n: number): string[] {
  const want = new Uint8Array(SLOT_COUNT);
  for (const [a, b] of ranges) want.fill(1, a, b + 1);
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (want[keySlot(`${prefix}${i}`)] === 1) out.push(`${prefix}${i}`);
  return out;
}

/** A measurement on one shard: the first OK to a write sent at or after `from`, and the gaps between OKs after it. */
interface Armed {
  readonly shard: number;
  readonly from: number;
  ackAt: number | null;
  lastAckAt: number;
  maxGapMs: number;
  /** The gap window is over: later OKs no longer count. */
  closed: boolean;
  readonly errors: Map<string, number>;
}

/**
 * Unpipelined SET loops, LOOPS_PER_SHARD per shard, each on its own keys of
 * that shard's slots with increasing sequences (so the AckLog can tell a
 * lost write from an in-flight one). arm() starts a measurement: the first
 * OK, on that shard, to a write sent at or after the given instant.
 */
class Checker {
  readonly log = new AckLog();
  errors = 0;
  readonly errorKinds = new Set<string>();
  /** Per shard index: the send time of the latest acknowledged write. */
  private readonly lastAckedSent: number[];
  private armed: Armed | null = null;
  private stopFlag = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly client: Cluster, shardSlots: readonly (readonly SlotRange[])[], deadlineMs: number) {
    this.lastAckedSent = shardSlots.map(() => -Infinity);
    const deadline = Date.now() + deadlineMs;
    shardSlots.forEach((ranges, shard) => {
      for (let l = 0; l < LOOPS_PER_SHARD; l++) {
        const id = shard * LOOPS_PER_SHARD + l;
        this.loops.push(this.loop(shard, id, keysIn(`fo${id}:`, ranges, KEYS_PER_LOOP), deadline));
      }
    });
  }

  private async loop(shard: number, id: number, keys: readonly string[], deadline: number): Promise<void> {
    for (let seq = 1; !this.stopFlag && Date.now() < deadline; seq++) {
      const key = keys[seq % keys.length]!;
      this.log.sent(key, seq);
      const sentAt = performance.now();
      try {
        const reply = await this.client.set(key, valueFor(id, seq));
        if (reply !== 'OK') throw new Error(`SET answered ${String(reply)}`);
        const ackAt = performance.now();
        this.log.acked(key, seq);
        this.lastAckedSent[shard] = Math.max(this.lastAckedSent[shard]!, sentAt);
        const a = this.armed;
        if (a !== null && a.shard === shard) {
          if (a.ackAt === null && sentAt >= a.from) {
            a.ackAt = ackAt;
            a.lastAckAt = ackAt;
          } else if (a.ackAt !== null && !a.closed) {
            a.maxGapMs = Math.max(a.maxGapMs, ackAt - a.lastAckAt);
            a.lastAckAt = Math.max(a.lastAckAt, ackAt);
          }
        }
      } catch (err) {
        // Its reply was lost: the write may or may not have landed, which the log allows.
        this.errors++;
        const kind = (err as Error).message.replace(/\d+/g, 'N').slice(0, 120);
        if (this.errorKinds.size < 20) this.errorKinds.add(kind);
        const a = this.armed;
        if (a !== null && a.shard === shard && a.ackAt === null && a.errors.size < 20) a.errors.set(kind, (a.errors.get(kind) ?? 0) + 1);
        await delay(ERROR_BACKOFF_MS);
      }
    }
  }

  /** Writes to `shard` are being acknowledged: one sent at or after `since` got OK. */
  healthy(shard: number, since: number): boolean {
    return this.lastAckedSent[shard]! >= since;
  }

  arm(shard: number, from: number): void {
    this.armed = { shard, from, ackAt: null, lastAckAt: from, maxGapMs: 0, closed: false, errors: new Map() };
  }

  /** Ends the gap window: the longest gap between OKs since the first one, up to now (null if there was none). */
  closeGapWindow(): number | null {
    const a = this.armed;
    if (a === null || a.ackAt === null) return null;
    if (!a.closed) {
      a.maxGapMs = Math.max(a.maxGapMs, performance.now() - a.lastAckAt);
      a.closed = true;
    }
    return a.maxGapMs;
  }

  /** The errors the armed shard's loops got so far, message → count. */
  armedErrors(): Record<string, number> {
    return Object.fromEntries(this.armed?.errors ?? []);
  }

  /** The armed measurement's first OK (performance.now()), or null. */
  armedAck(): number | null {
    return this.armed?.ackAt ?? null;
  }

  async stop(): Promise<void> {
    this.stopFlag = true;
    await Promise.all(this.loops);
  }
}

/** Ready, idle, and every replica streaming with nothing left to apply. */
async function waitCaughtUp(cluster: LocalCluster, timeoutMs: number): Promise<ClusterStatus> {
  await cluster.waitReady(timeoutMs);
  return waitFor('every replica to be caught up', async () => {
    const st = await cluster.status();
    const ok = st.phase === 'Ready' && st.operation === null && st.shards.every((s) => s.failover === null && s.nodes.every((n) =>
      n.up && (n.name === s.primary ? n.role === 'primary' : n.role === 'replica' && n.link === 'streaming' && n.lagOps === 0)));
    return ok ? st : null;
  }, { timeoutMs, intervalMs: 100 });
}

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

function preValue(key: string): string {
  return `${key}|`.padEnd(VALUE_BYTES, '.');
}

/** Auto-pipelined SETs of `keys` through a cluster client, 5000 in flight; returns keys/s. */
async function preload(seedPort: number, keys: readonly string[]): Promise<number> {
  const client = bulkClient(seedPort);
  try {
    const t0 = performance.now();
    for (let i = 0; i < keys.length; i += 5000) {
      const chunk = keys.slice(i, i + 5000);
      const replies = await Promise.all(chunk.map((k) => client.set(k, preValue(k))));
      const bad = replies.findIndex((r) => r !== 'OK');
      if (bad >= 0) throw new Error(`preloading ${chunk[bad]}: SET answered ${String(replies[bad])}`);
    }
    return keys.length / ((performance.now() - t0) / 1000);
  } finally {
    client.disconnect();
  }
}

/** DBSIZE of every shard's primary. */
async function keysPerShard(st: ClusterStatus): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of st.shards) {
    const p = s.nodes.find((n) => n.name === s.primary);
    if (p === undefined || p.port === null) throw new Error(`${s.id}: no address for its primary ${s.primary}`);
    const r = new Redis({ host: '127.0.0.1', port: p.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
    r.on('error', () => {});
    try {
      await r.connect();
      out[s.id] = await r.dbsize();
    } finally {
      r.disconnect();
    }
  }
  return out;
}

/** `SAMPLE` keys spread over the key space read back through a cluster client: how many are wrong. */
async function checkSample(seedPort: number, keys: readonly string[]): Promise<{ sampled: number; bad: string[] }> {
  const step = Math.max(1, Math.floor(keys.length / SAMPLE));
  const sample = keys.filter((_, i) => i % step === 0).slice(0, SAMPLE);
  const client = bulkClient(seedPort);
  const bad: string[] = [];
  try {
    for (let i = 0; i < sample.length; i += 1000) {
      const chunk = sample.slice(i, i + 1000);
      const values = await Promise.all(chunk.map((k) => client.get(k)));
      chunk.forEach((k, j) => {
        if (values[j] !== preValue(k)) bad.push(`${k}: ${values[j] === null ? 'missing' : `wrong value ${values[j]!.slice(0, 30)}…`}`);
      });
    }
  } finally {
    client.disconnect();
  }
  return { sampled: sample.length, bad };
}

/** "RebalanceFinished: scale shards 3 → 4: done in 1234 ms (3 migrations, 250000 keys)" */
function rebalanceFinished(text: string): { ms: number; migrations: number; keys: number } | null {
  const m = /RebalanceFinished: .*done in (\d+) ms \((\d+) migrations, (\d+) keys\)/.exec(text);
  return m === null ? null : { ms: Number(m[1]), migrations: Number(m[2]), keys: Number(m[3]) };
}

/**
 * Per migration "i of n", the seconds between the controller's lines
 * "<ISO> MigrationStarted: op: moving … (id, i of n)" (the first, if it was
 * restarted) and "<ISO> MigrationFinished: op: … (K keys; i of n)".
 */
function migrationSpans(text: string): number[] {
  const started = new Map<string, number>();
  const spans: number[] = [];
  for (const line of text.split('\n')) {
    const st = /^(\S+) MigrationStarted: .*, (\d+ of \d+)\)$/.exec(line);
    if (st !== null && !started.has(st[2]!)) started.set(st[2]!, Date.parse(st[1]!));
    const fin = /^(\S+) MigrationFinished: .*; (\d+ of \d+)\)$/.exec(line);
    const from = fin === null ? undefined : started.get(fin[2]!);
    if (fin !== null && from !== undefined) spans.push((Date.parse(fin[1]!) - from) / 1000);
  }
  return spans;
}

export async function rescaleBench(keyCount: number): Promise<RescaleBenchResult> {
  const cluster = await LocalCluster.start();
  try {
    const seed = await cluster.seedPort();
    const keys = Array.from({ length: keyCount }, (_, i) => `rs:${i}`);
    const loadKeysPerSec = await preload(seed, keys);
    await waitCaughtUp(cluster, 600_000);
    await delay(SETTLE_MS);
    const before = new Set((await cluster.status()).shards.map((s) => s.id));
    const mark = cluster.output().length;
    const t0 = performance.now();
    await cluster.client.scale({ shards: 4 });
    let addSeconds: number | null = null;
    let lastError: string | null = null;
    // Bounded generously: the copy runs at tens of thousands of keys/s, the cleanup after it at a similar rate.
    const bound = Math.max(600_000, keyCount * 2);
    const done = await waitFor('scale to 4 shards to finish', async () => {
      const st = await cluster.status();
      const error = st.operation?.error ?? null;
      if (error !== null && error !== lastError) console.error(`control-plane: rescale: ${error}`);
      lastError = error;
      if (addSeconds === null && st.operation !== null && st.operation.stage !== 'add') addSeconds = (performance.now() - t0) / 1000;
      const idle = st.phase === 'Ready' && st.operation === null && st.shards.length === 4 && st.shards.every((s) => s.failover === null);
      return idle ? st : null;
    }, { timeoutMs: bound, intervalMs: 100 });
    const seconds = (performance.now() - t0) / 1000;
    const perShard = await keysPerShard(done);
    const events = cluster.output().slice(mark);
    const fin = rebalanceFinished(events);
    const sample = await checkSample(seed, keys);
    const added = done.shards.find((s) => !before.has(s.id));
    if (added === undefined) throw new Error('scale to 4 shards finished without a new shard');
    return {
      keys: keyCount, valueBytes: VALUE_BYTES, loadKeysPerSec, seconds, addSeconds,
      keysMoved: perShard[added.id] ?? 0,
      controllerMs: fin?.ms ?? null, controllerKeys: fin?.keys ?? null, migrations: fin?.migrations ?? null, migrationSeconds: migrationSpans(events),
      keysPerShard: perShard, sampled: sample.sampled, sampleBad: sample.bad.length, sampleBadExamples: sample.bad.slice(0, 5),
    };
  } finally {
    await cluster.destroy();
  }
}
