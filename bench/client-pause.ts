/**
 * npm run bench (BENCH_ONLY=client-pause): time to resume writing when a
 * primary is paused (SIGSTOP for 8 s) in a 3 shards × 2 replicas local
 * cluster, for our TypeScript client (clients/ts, 500 ms attempt timeout)
 * next to a stock ioredis Cluster (default options) in the same run, both
 * writing only keys of the paused shard. Reported per run: when the
 * cluster promoted a replica, and when each client's first write after the
 * pause was acknowledged, both counted from the SIGSTOP; plus how long
 * after the promotion. BENCH_CLIENT_PAUSE_RUNS (default 3) runs.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from 'ioredis';
import { IrisClient } from '../clients/ts/src/index.js';
import { LocalCluster } from '../test/support/local-cluster.js';
import { run } from '../test/support/run.js';
import { waitFor } from '../test/support/wait.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const PAUSE_MS = 8000;

export interface ClientPauseRun {
  readonly promotedMs: number;
  /** First acknowledged write after the SIGSTOP, ms after it (null: none before the run ended). */
  readonly irisMs: number | null;
  readonly ioredisMs: number | null;
  /** The Go client (clients/go), null when it did not run or did not resume. */
  readonly goMs: number | null;
  readonly irisErrors: number;
  readonly ioredisErrors: number;
}

/** The Go client writing keys of `tag` for `ms` in its own process (clients/go/pause_writer_test.go). */
class GoWriter {
  private out = '';
  readonly ready: Promise<void>;
  readonly done: Promise<{ acks: number; errors: number; gaps: Array<{ From: number; To: number }> } | null>;

  constructor(binary: string, addrs: string, tag: string, ms: number) {
    const p = spawn(binary, ['-test.run', '^TestPauseWriter$', '-test.count=1'], { env: { ...process.env, IRISDB_PAUSE_WRITER_ADDRS: addrs, IRISDB_PAUSE_WRITER_TAG: tag, IRISDB_PAUSE_WRITER_MS: String(ms) }, stdio: ['ignore', 'pipe', 'inherit'] });
    this.ready = new Promise((resolve, reject) => {
      p.stdout.on('data', (d: Buffer) => {
        this.out += d.toString();
        if (this.out.includes('PAUSE_WRITER_READY')) resolve();
      });
      p.on('close', () => reject(new Error(`the Go writer ended before writing:\n${this.out}`)));
    });
    this.ready.catch(() => {});
    this.done = new Promise((resolve) => p.on('close', () => {
      const line = /PAUSE_WRITER (\{.*\})/.exec(this.out)?.[1];
      resolve(line === undefined ? null : JSON.parse(line));
    }));
  }
}

/** Loops writing keys of one hash tag; remembers the first acknowledgement after `since`. */
class TagWriter {
  firstAckAfter: number | null = null;
  since = Infinity;
  errors = 0;
  acks = 0;
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(tag: string, workers: number, set: (k: string, v: string) => Promise<unknown>) {
    for (let w = 0; w < workers; w++) {
      this.loops.push((async () => {
        for (let seq = 0; !this.stopped && seq < 10_000_000; seq++) {
          const started = Date.now();
          try {
            await set(`${tag}:${w}:${seq}`, 'v');
            this.acks++;
            if (started >= this.since && this.firstAckAfter === null) this.firstAckAfter = Date.now();
          } catch {
            if (started >= this.since) this.errors++;
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      })());
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

async function pauseRun(cluster: LocalCluster, shardId: string, seeds: Array<{ host: string; port: number }>, goBinary: string | null): Promise<ClientPauseRun> {
  const before = await cluster.shard(shardId);
  const primary = before.primary!;
  const addr = `127.0.0.1:${(await cluster.node(primary)).port}`;
  const iris = new IrisClient({ nodes: seeds, commandTimeoutMs: 500 });
  const stock = new Cluster(seeds, { redisOptions: { enableReadyCheck: false } });
  stock.on('error', () => {});
  let tag = '';
  for (let i = 0; tag === ''; i++) {
    await iris.get('warmup');
    if (iris.nodeOf(`{p${i}}`) === addr) tag = `{p${i}}`;
  }
  const a = new TagWriter(tag, 4, (k, v) => iris.set(k, v));
  const b = new TagWriter(tag, 4, (k, v) => stock.set(k, v));
  const go = goBinary === null ? null : new GoWriter(goBinary, seeds.map((x) => `${x.host}:${x.port}`).join(','), tag, PAUSE_MS + 6000);
  const pid = await cluster.pidOf(primary);
  let t0 = 0;
  try {
    await waitFor('both clients to write', () => a.acks >= 50 && b.acks >= 50, { timeoutMs: 30_000 });
    await go?.ready;
    t0 = Date.now();
    process.kill(pid, 'SIGSTOP');
    a.since = b.since = t0;
    let promotedMs = -1;
    try {
      await waitFor(`${shardId} to promote a replica`, async () => (await cluster.shard(shardId)).primary !== primary, { timeoutMs: PAUSE_MS, intervalMs: 20 });
      promotedMs = Date.now() - t0;
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + PAUSE_MS - Date.now()))); // the pause itself is the experiment
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor('both clients to resume', () => a.firstAckAfter !== null && b.firstAckAfter !== null, { timeoutMs: 30_000 }).catch(() => null);
    const g = go === null ? null : await go.done;
    // The Go writer reports the gaps between its acknowledgements: the one spanning the SIGSTOP ends when it resumed.
    const gap = g?.gaps.find((x) => x.From <= t0 && x.To > t0) ?? null;
    return { promotedMs, irisMs: a.firstAckAfter === null ? null : a.firstAckAfter - t0, ioredisMs: b.firstAckAfter === null ? null : b.firstAckAfter - t0, goMs: gap === null ? null : gap.To - t0, irisErrors: a.errors, ioredisErrors: b.errors };
  } finally {
    await a.stop();
    await b.stop();
    await iris.close();
    stock.disconnect();
    await cluster.waitReady(120_000);
  }
}

export async function clientPauseBench(runs: number): Promise<ClientPauseRun[]> {
  const built = await run('bash', [path.join(repo, 'clients/go/test-binary.sh')], { timeoutMs: 300_000 }).catch(() => null);
  const goBinary = built !== null && built.code === 0 ? built.stdout.trim().split('\n').pop()! : null;
  if (goBinary === null) console.error('client-pause: the Go client could not be built; measuring the TypeScript clients only');
  const cluster = await LocalCluster.start({ shards: 3, replicas: 2 });
  try {
    const seeds = (await cluster.seedPorts()).map((port) => ({ host: '127.0.0.1', port }));
    const out: ClientPauseRun[] = [];
    for (let i = 0; i < runs; i++) out.push(await pauseRun(cluster, `shard-${i % 3}`, seeds, goBinary));
    return out;
  } finally {
    await cluster.destroy();
  }
}

export function printClientPause(rows: readonly ClientPauseRun[]): void {
  const s = (ms: number | null): string => (ms === null ? '—' : (ms / 1000).toFixed(2));
  console.log(`\n## Clients and a paused primary: SIGSTOP for ${PAUSE_MS / 1000} s, 3 shards × 2 replicas, 4 writers per client on keys of the paused shard\n`);
  console.log('| run | replica promoted s | @irisdb/client first write acknowledged s | after the promotion s | Go client (clients/go) s | after the promotion s | stock ioredis Cluster s | after the promotion s | errors iris / ioredis |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  rows.forEach((r, i) => {
    const after = (ms: number | null): string => (ms === null ? '—' : ((ms - r.promotedMs) / 1000).toFixed(2));
    console.log(`| ${i + 1} | ${s(r.promotedMs)} | ${s(r.irisMs)} | ${after(r.irisMs)} | ${s(r.goMs)} | ${after(r.goMs)} | ${s(r.ioredisMs)} | ${after(r.ioredisMs)} | ${r.irisErrors} / ${r.ioredisErrors} |`);
  });
  for (const [name, pick] of [['TypeScript', (r: ClientPauseRun) => r.irisMs], ['Go', (r: ClientPauseRun) => r.goMs]] as const) {
    const worst = Math.max(...rows.map((r) => { const ms = pick(r); return ms === null ? Infinity : ms - r.promotedMs; }));
    console.log(`\nTarget: our ${name} client resumes within 3 s of the failover: worst ${Number.isFinite(worst) ? (worst / 1000).toFixed(2) : 'never'} s — ${worst <= 3000 ? 'met' : 'not met'}.`);
  }
}
