/**
 * Issue #3, "It must show" 4: fencing. Primary P with replicas A and B at
 * epoch 1; clients pipeline SETs and GETs to P. P is SIGSTOPped; the replica
 * with the higher position is promoted at epoch 2 and the other pointed at
 * it, while the clients stay connected to P and keep sending. When P
 * resumes it acknowledges none of the writes sent since it was stopped,
 * fences itself on finding its peers at epoch 2 (without taking that epoch
 * from them), and once the control plane (the test) sets its role it
 * discards its tail and rejoins as a replica of the new primary. A checker over the whole client history finds every acknowledged
 * write on the new primary and no read that returned a value never
 * acknowledged to its writer.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { AckLog } from '../support/ack-log.js';
import { Shard, connectClient, connectReadonly, readAll, valueFor, type ShardNode } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

const CLIENTS = 3;
const KEYS_PER_CLIENT = 50;
/** Each pipeline: this many SETs, each followed by a GET. */
const SETS = 8;

interface Read {
  readonly key: string;
  readonly value: string;
  readonly client: number;
}

/** Everything the clients were told, and what they sent while P was stopped. */
class History {
  readonly log = new AckLog();
  /** `${key}=${value}` of every write acknowledged with OK. */
  readonly acked = new Set<string>();
  readonly reads: Read[] = [];
  /** Writes sent at or after the SIGSTOP: none may be acknowledged. */
  readonly sentAfterStop: Array<{ key: string; value: string; reply: string }> = [];
  errorTexts = new Set<string>();
}

function keyOf(client: number, n: number): string {
  return `c${client}:k${n}`;
}

/**
 * One client: pipelines of SETs to its own keys and GETs of any client's
 * keys, recording every reply, until told to stop, redirected (P became a
 * replica), or a bound is reached.
 */
async function runClient(
  redis: Redis, id: number, h: History, phase: { stopped: boolean; end: boolean }, bounds: { pipelines: number; deadline: number },
): Promise<void> {
  let seq = 0;
  let rnd = id * 7919 + 1;
  const next = (): number => (rnd = (rnd * 48271) % 2147483647);
  for (let p = 0; p < bounds.pipelines && !phase.end && Date.now() < bounds.deadline; p++) {
    const afterStop = phase.stopped;
    const pipe = redis.pipeline();
    const sets: Array<{ key: string; seq: number; value: string }> = [];
    const gets: string[] = [];
    for (let i = 0; i < SETS; i++) {
      seq++;
      const key = keyOf(id, (seq * 31) % KEYS_PER_CLIENT);
      const value = valueFor(id, seq);
      h.log.sent(key, seq);
      sets.push({ key, seq, value });
      pipe.set(key, value);
      const rk = keyOf(next() % CLIENTS, next() % KEYS_PER_CLIENT);
      gets.push(rk);
      pipe.get(rk);
    }
    let res;
    try {
      res = await pipe.exec();
    } catch {
      return;
    }
    if (res === null) return;
    let redirected = false;
    for (let i = 0; i < SETS; i++) {
      const s = sets[i]!;
      const [err, reply] = res[2 * i]!;
      if (err === null && reply === 'OK') {
        h.log.acked(s.key, s.seq);
        h.acked.add(`${s.key}=${s.value}`);
      } else {
        h.errorTexts.add(String(err?.message ?? reply).slice(0, 60));
        if (err?.message.startsWith('MOVED') === true) redirected = true;
      }
      if (afterStop) h.sentAfterStop.push({ key: s.key, value: s.value, reply: err === null ? String(reply) : err.message });
      const [gerr, got] = res[2 * i + 1]!;
      if (gerr === null && typeof got === 'string') h.reads.push({ key: gets[i]!, value: got, client: id });
      else if (gerr?.message.startsWith('MOVED') === true) redirected = true;
    }
    if (redirected) return;
  }
}

describe('replication: fencing a deposed primary (SIGSTOP, promote, resume)', function () {
  let shard: Shard | undefined;
  const conns: Redis[] = [];

  after(async () => {
    for (const c of conns) c.disconnect();
    shard?.primary.node.resume();
    for (const n of shard?.nodes ?? []) n.node.resume();
    await shard?.stop();
  });

  it('acknowledges nothing sent to the old primary after it was replaced; it rejoins and converges; no lost or dirty values', async () => {
    shard = await Shard.start({ replicas: 2, minSyncReplicas: 1, ackTimeoutMs: 2000, namePrefix: 'fence-' });
    const s = shard;
    const P = s.primary;
    const [A, B] = s.replicas as [ShardNode, ShardNode];
    const h = new History();
    const phase = { stopped: false, end: false };
    const bounds = { pipelines: 5000, deadline: Date.now() + 90_000 };
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connectClient(P.node.port)));
    conns.push(...clients);
    const running = clients.map((c, id) => runClient(c, id, h, phase, bounds));

    // Idle connections that will certainly send while P is stopped (the load's own may be blocked mid-pipeline then).
    const stalled = await Promise.all([CLIENTS, CLIENTS + 1].map(() => connectClient(P.node.port)));
    conns.push(...stalled);
    await waitFor('acknowledged writes before the stop', () => h.log.ackedWrites >= 1500, { timeoutMs: 30_000 });
    P.node.pause();
    phase.stopped = true;
    const stalledRuns = stalled.map((c, i) => runClient(c, CLIENTS + i, h, phase, { pipelines: 1, deadline: bounds.deadline }));

    // With P stopped nothing new reaches A or B; wait for what was in flight to land, so the positions are final.
    let prev = '';
    let stableFor = 0;
    const positions = await waitFor('replica positions to settle', async () => {
      const [a, b] = await Promise.all([A.admin.replication(), B.admin.replication()]);
      const now = `${a.lastSeq}/${b.lastSeq}`;
      stableFor = now === prev ? stableFor + 1 : 0;
      prev = now;
      return stableFor >= 4 ? { a: a.lastSeq, b: b.lastSeq } : null;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    const [winner, other] = positions.a >= positions.b ? [A, B] : [B, A];

    s.epoch = 2;
    s.primaryIndex = s.nodes.indexOf(winner);
    await winner.admin.setRole({ role: 'primary', epoch: 2, replicas: [other.name, P.name] });
    await other.admin.setRole({ role: 'replica', epoch: 2, primary: Shard.busAddress(winner) });

    P.node.resume();
    // P finds its (authenticated) peers at epoch 2 and fences itself: it acknowledges nothing more, but takes
    // neither epoch 2 nor a role from a peer's claim; the control plane (here, the test) tells it what it is.
    const fenced = await waitFor(`${P.name} to fence itself`, async () => {
      const r = await P.admin.replication();
      return r.fenced !== undefined ? r : null;
    }, { timeoutMs: 30_000 });
    expect({ role: fenced.role, epoch: fenced.epoch }).to.deep.equal({ role: 'primary', epoch: 1 });
    expect(fenced.fenced).to.match(/reports epoch 2/);
    await P.admin.setRole({ role: 'replica', epoch: 2, primary: Shard.busAddress(winner) });
    const st = await waitFor(`${P.name} to follow ${winner.name} at epoch 2`, async () => {
      const r = await P.admin.replication();
      return r.role === 'replica' && r.epoch === 2 && r.primary?.name === winner.name && r.primary.state === 'streaming' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(st.primary!.fullSyncs + st.primary!.partialSyncs).to.be.at.least(1);
    // The clients get redirected (MOVED) by P as a replica and stop; the bounds stop them otherwise.
    phase.end = true;
    await Promise.all([...running, ...stalledRuns]);

    // Nothing sent at or after the SIGSTOP was acknowledged by P.
    expect(h.sentAfterStop.length).to.be.greaterThan(0);
    const ackedAfterStop = h.sentAfterStop.filter((w) => w.reply === 'OK');
    expect(ackedAfterStop, JSON.stringify(ackedAfterStop.slice(0, 5))).to.deep.equal([]);
    // Each got an answer from P: refused while it waited for acknowledgements, or redirected once it was a replica.
    const unexpected = h.sentAfterStop.filter((w) => !/^(NOREPLICAS|MOVED|READONLY|LOADING) /.test(w.reply));
    expect(unexpected.map((w) => w.reply.slice(0, 80)).slice(0, 5)).to.deep.equal([]);

    // The new primary holds every acknowledged write.
    const onWinner = await connectClient(winner.node.port);
    conns.push(onWinner);
    const stored = await readAll(onWinner, h.log);
    const lost = h.log.check((k) => stored.get(k) ?? null);
    expect(lost, lost.slice(0, 10).join('\n')).to.deep.equal([]);

    // No read ever returned a value that was not acknowledged to its writer.
    const dirty = h.reads.filter((r) => !h.acked.has(`${r.key}=${r.value}`));
    expect(dirty.map((r) => `${r.key}=${r.value.slice(0, 20)} (read by c${r.client})`).slice(0, 10)).to.deep.equal([]);
    expect(h.reads.length).to.be.greaterThan(0);

    // P converged to the new primary's data: its unacknowledged tail is gone.
    await s.waitForConvergence();
    const digests = await s.waitForEqualDigests();
    expect(digests.map((d) => d.name).sort()).to.deep.equal([A.name, B.name, P.name].sort());
    const onP = await connectReadonly(P.node.port);
    conns.push(onP);
    const storedP = await readAll(onP, h.log);
    for (const [k, v] of stored) expect(storedP.get(k), k).to.equal(v);
    // The stalled connections' writes reached only P (if anything): P no longer holds them.
    const stalledKeys = [...h.log.entries()].map(([k]) => k).filter((k) => k.startsWith(`c${CLIENTS}:`) || k.startsWith(`c${CLIENTS + 1}:`));
    expect(stalledKeys.length).to.be.greaterThan(0);
    expect(stalledKeys.filter((k) => storedP.has(k))).to.deep.equal([]);
  });
});
