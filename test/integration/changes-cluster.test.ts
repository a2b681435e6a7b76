/**
 * The change feed of a local cluster (issue #17, docs/change-feed.md):
 * `irisctl watch --json` follows every shard while clients write (bounded),
 * a shard's primary is killed with kill -9 (failover: the watch reconnects
 * to the new primary with its last position), the cluster is scaled
 * 3 → 4 shards (live slot migrations), and then a primary whose slots moved
 * is killed too (its promoted replica must resume positions from before);
 * a final scale-in back to 3 shows no change for the moves and the watch
 * letting go of the removed shard. Afterwards every acknowledged write
 * was seen exactly once, per key in write order (a key whose slot moved: all
 * its changes on the old shard before those on the new one), and nothing
 * was seen that no client sent — migration copies and cleanups are not
 * changes. (A SET the client resent after losing the reply in the failover
 * may be two changes with the same value: two positions, both real.) Then watch resumes from the positions it printed on Ctrl-C and
 * sees only what came later.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import type { Cluster } from 'ioredis';
import type { ChangeEvent } from '../../common/change-feed-client.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { keysInSlots } from '../support/slot-keys.js';
import { waitFor } from '../support/wait.js';
import { clusterClient } from './migration-support.js';

interface Op {
  readonly seq: number;
  /** true: acknowledged; false: failed or unanswered (may or may not have happened). */
  acked: boolean;
}

/** Sequential writers: each worker SETs its own keys to increasing sequence numbers, one at a time. */
class Writers {
  readonly ops = new Map<string, Op[]>();
  acked = 0;
  failed = 0;
  private stopFlag = false;
  private readonly running: Promise<void>[] = [];

  constructor(private readonly client: Cluster, workers: number, keysPerWorker: number, maxOps: number, deadlineMs: number) {
    const deadline = Date.now() + deadlineMs;
    for (let w = 0; w < workers; w++) this.running.push(this.loop(w, keysPerWorker, maxOps, deadline));
  }

  private async loop(w: number, keys: number, maxOps: number, deadline: number): Promise<void> {
    for (let seq = 1; seq <= maxOps && !this.stopFlag && Date.now() < deadline; seq++) {
      const key = `cdc:w${w}:k${(seq * 7919) % keys}`;
      const op: Op = { seq, acked: false };
      const list = this.ops.get(key) ?? [];
      list.push(op);
      this.ops.set(key, list);
      try {
        if ((await this.client.set(key, String(seq))) === 'OK') {
          op.acked = true;
          this.acked++;
        }
      } catch {
        this.failed++;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopFlag = true;
    await Promise.all(this.running);
  }
}

/** `irisctl watch --json` as a child process; its lines parsed as they come. */
class Watch {
  readonly events: ChangeEvent[] = [];
  stderr = '';
  private buf = '';
  private readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(dir: string, from: string) {
    this.proc = spawn(process.execPath, [IRISCTL, 'watch', '--dir', dir, '--json', '--prefix', 'cdc:', '--from', from], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      const lines = this.buf.split('\n');
      this.buf = lines.pop()!;
      for (const l of lines) if (l !== '') this.events.push(JSON.parse(l) as ChangeEvent);
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  has(key: string, value: string): boolean {
    return this.events.some((e) => e.key === key && e.value === value);
  }

  /** Ctrl-C; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.proc.exitCode === null) this.proc.kill('SIGINT');
    return this.exited;
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

/**
 * Every acknowledged write seen once, nothing unsent, per-key order: within a
 * shard the values of a key rise, and the shards a key was seen on do not
 * interleave (the key's slot moved once, from one shard to the other).
 */
function feedProblems(ops: ReadonlyMap<string, Op[]>, events: readonly ChangeEvent[]): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, ChangeEvent[]>();
  const positions = new Set<string>();
  for (const e of events) {
    // Exactly once: a change (a position) is delivered once, also across reconnects.
    if (positions.has(e.position)) problems.push(`${e.position} (${e.key}) delivered twice`);
    positions.add(e.position);
    if (e.key === undefined || !e.key.startsWith('cdc:w')) continue;
    if (e.op !== 'set') problems.push(`${e.key}: unexpected ${e.op} at ${e.position} (no client deleted or expired it)`);
    const l = byKey.get(e.key) ?? [];
    l.push(e);
    byKey.set(e.key, l);
  }
  for (const [key, list] of ops) {
    const seen = byKey.get(key) ?? [];
    byKey.delete(key);
    const shards = new Map<string, number[]>();
    for (const e of seen.filter((x) => x.op === 'set')) {
      const l = shards.get(e.shard) ?? [];
      l.push(Number(e.value));
      shards.set(e.shard, l);
    }
    for (const [shard, vals] of shards) {
      // Equal neighbours are one SET applied twice (a client resending it after a lost reply): two changes, both real.
      if (vals.some((v, i) => i > 0 && v < vals[i - 1]!)) problems.push(`${key}: on ${shard} seen out of order: ${vals.join(',')}`);
    }
    // Shards in the order the key's changes reached them; their values must not interleave.
    const ordered = [...shards.values()].sort((a, b) => a[0]! - b[0]!).flat();
    if (ordered.some((v, i) => i > 0 && v < ordered[i - 1]!)) problems.push(`${key}: changes interleave across shards: ${[...shards].map(([s, v]) => `${s}=${v.join(',')}`).join(' ')}`);
    const seenSet = new Set(ordered);
    const sent = new Set(list.map((o) => o.seq));
    for (const v of seenSet) if (!sent.has(v)) problems.push(`${key}: saw ${v}, which was never written`);
    for (const o of list) if (o.acked && !seenSet.has(o.seq)) problems.push(`${key}: acknowledged write ${o.seq} never seen`);
    if (problems.length > 50) break;
  }
  for (const key of byKey.keys()) problems.push(`${key}: changes seen for a key no client wrote`);
  return problems;
}

/** kill -9 the shard's primary, wait for its replica's promotion, for writes to go on, and for the cluster to settle. */
async function failOver(cluster: LocalCluster, writers: Writers, shardId: string): Promise<void> {
  const old = (await cluster.shard(shardId)).primary;
  process.kill(await cluster.pidOf(old), 'SIGKILL');
  await waitFor(`${shardId} to promote its replica`, async () => {
    const s = await cluster.shard(shardId);
    return s.primary !== old && s.failover === null && s.nodes.find((n) => n.name === s.primary)?.role === 'primary';
  }, { timeoutMs: 60_000, intervalMs: 100 });
  const acked = writers.acked;
  await waitFor(`writes to go on after the failover of ${shardId}`, () => writers.acked >= acked + 300, { timeoutMs: 90_000 });
  await cluster.waitReady(120_000);
}

describe('change feed: irisctl watch on a local cluster through kill -9 failovers and a 3 → 4 scale-out', function () {
  this.timeout(900_000);
  let cluster: LocalCluster;
  let client: Cluster | undefined;
  let watch: Watch | undefined;

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 1 });
  });

  after(async () => {
    watch?.kill();
    client?.disconnect();
    await cluster?.destroy();
  });

  it('sees every acknowledged write exactly once and in per-key order, nothing else, and resumes from its printed positions', async () => {
    // Seq 0 of shard-0 lists it; the shards not listed start at their oldest change too: everything from the start.
    watch = new Watch(cluster.dir, 'shard-0:0:0');
    client = clusterClient(await cluster.seedPort(), { commandTimeoutMs: 5000 });
    const writers = new Writers(client, 6, 40, 100_000, 600_000);
    await waitFor('writes to be acknowledged and seen', () => writers.acked >= 300 && watch!.events.length >= 300, { timeoutMs: 60_000 });

    // kill -9 shard-1's primary: its replica is promoted; the watch reconnects there with its last position.
    await failOver(cluster, writers, 'shard-1');

    // A live scale-out: slots move from every shard to shard-3 while the writers go on.
    const accepted = await cluster.client.scale({ shards: 4 });
    expect(accepted.id).to.not.equal('');
    const st = await cluster.waitReady(600_000);
    expect(st.shards.map((s) => s.id)).to.deep.equal(['shard-0', 'shard-1', 'shard-2', 'shard-3']);
    const ackedAfterScale = writers.acked;
    await waitFor('writes to go on after the scale-out', () => writers.acked >= ackedAfterScale + 300, { timeoutMs: 60_000 });
    // The watch went through the failover's disconnect (and back) by itself.
    expect(watch.stderr).to.match(/shard-1: .*reconnecting/);

    // Stopped while the writes go on, so its positions fall behind; then a failover of a shard whose slots moved:
    // its replica saw the move as a replica, took its primary's exact boundaries, and once promoted resumes
    // the (older) position instead of answering 410.
    expect(await watch.stop()).to.equal(0);
    const first = watch;
    const stoppedAt = first.stderr.match(/resume with --from (\S+)/)?.[1];
    expect(stoppedAt, first.stderr.slice(-2000)).to.be.a('string');
    const ackedAtStop = writers.acked;
    await waitFor('writes to go on while no watch runs', () => writers.acked >= ackedAtStop + 300, { timeoutMs: 60_000 });
    await failOver(cluster, writers, 'shard-0');
    watch = new Watch(cluster.dir, stoppedAt!);
    await writers.stop();
    expect(writers.acked).to.be.greaterThan(1000);

    // A last write on every shard: once each is seen, everything its shard logged before it has been delivered.
    const sentinels = st.shards.map((s) => keysInSlots(`cdc:sentinel:${s.id}:`, s.slots, 1)[0]!);
    for (const k of sentinels) expect(await client.set(k, 'end')).to.equal('OK');
    await waitFor('every shard\'s last write to be seen', () => sentinels.every((k) => watch!.has(k, 'end')), { timeoutMs: 90_000, intervalMs: 100 });
    // Both watches together: each change once (the second started exactly after the first's positions).
    const problems = feedProblems(writers.ops, [...first.events, ...watch.events]);
    expect(problems, problems.slice(0, 20).join('\n') + watch.stderr.slice(-1000)).to.deep.equal([]);

    // Any node sends a shard's feed request to that shard's primary (307), as EventSource and curl -L follow.
    const now = await cluster.status();
    const s0 = now.shards.find((s) => s.id === 'shard-0')!;
    const s0Primary = s0.nodes.find((n) => n.name === s0.primary)!;
    const others = [...s0.nodes.filter((n) => n.name !== s0.primary), ...now.shards.find((s) => s.id === 'shard-1')!.nodes];
    for (const n of others) {
      const r = await fetch(`${n.httpUrl}/v1/changes?shard=shard-0`, { redirect: 'manual' });
      expect(r.status, n.name).to.equal(307);
      expect(r.headers.get('location')).to.equal(`${s0Primary.httpUrl}/v1/changes?shard=shard-0`);
      await r.body?.cancel();
    }

    // Again: Ctrl-C prints the positions; resuming from them gives what came later and nothing before it.
    expect(await watch.stop()).to.equal(0);
    const resume = watch.stderr.match(/resume with --from (\S+)/)?.[1];
    expect(resume, watch.stderr.slice(-2000)).to.be.a('string');
    expect(resume!.split(',').map((p) => p.split(':')[0])).to.deep.equal(['shard-0', 'shard-1', 'shard-2', 'shard-3']);
    watch = new Watch(cluster.dir, resume!);
    for (const k of sentinels) expect(await client.set(k, 'again')).to.equal('OK');
    await waitFor('the writes after the resume position', () => sentinels.every((k) => watch!.has(k, 'again')), { timeoutMs: 60_000, intervalMs: 100 });
    expect(watch.events.map((e) => `${e.key}=${e.value}`).sort()).to.deep.equal(sentinels.map((k) => `${k}=again`).sort());

    // A scale-in moves shard-3's slots back and deletes its nodes: the moves' copies and cleanups are no changes,
    // and the watch stops following the removed shard (its position leaves the resume list).
    await cluster.client.scale({ shards: 3 });
    await cluster.waitReady(600_000);
    await waitFor('the watch to drop shard-3', () => /shard shard-3 is no longer in the cluster/.test(watch!.stderr), { timeoutMs: 30_000, intervalMs: 100 });
    expect(watch.events).to.have.length(sentinels.length);
    expect(await watch.stop()).to.equal(0);
    expect(watch.stderr.match(/resume with --from (\S+)/)?.[1]?.split(',').map((p) => p.split(':')[0])).to.deep.equal(['shard-0', 'shard-1', 'shard-2']);
  });
});
