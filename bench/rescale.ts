/**
 * Rescaling time (issue #5, 2): BENCH_KEYS keys of 100 bytes, then `scale
 * --shards 4` through the control API, until the operation is over and the
 * cluster Ready; keys moved, keys/s, and a sample of keys read back.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { ClusterStatus } from '../operator/core/observation.js';
import { LocalCluster } from '../test/support/local-cluster.js';
import { waitFor } from '../test/support/wait.js';
import { bulkClient, delay, waitCaughtUp } from './control-plane.js';

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

const VALUE_BYTES = 100;
const SAMPLE = 10_000;
/** Before timing the rescale: the load's aftermath (WAL checkpoints on every node) settles. */
const SETTLE_MS = 5000;

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
