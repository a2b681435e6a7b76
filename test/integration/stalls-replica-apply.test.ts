/**
 * Issue #16, no stalls: a replica applies a burst of streamed log entries
 * over several event-loop turns (replicaApplySliceMs), seen through
 * irisdb_replication_apply_yields_total, not a timer. Data safety of that
 * path: a replica killed with SIGKILL in the middle of such a burst, then
 * restarted on its own (its primary killed too, so nothing can refill it),
 * holds every write the primary acknowledged — an acknowledgement covers
 * only entries the replica had committed and synced, whichever turn applied
 * them — and converges with the primary once both are back.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { Shard, connectClient, connectReadonly, metric } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

const YIELDS = 'irisdb_replication_apply_yields_total';
const MSETS_PER_BURST = 8;
const KEYS_PER_MSET = 500;
const MAX_BURSTS = 60;

/** One pipelined burst of MSETs on fresh keys; the keys of every MSET that got OK go into `acked`. */
async function burst(client: Redis, n: number, acked: Map<string, string>): Promise<number> {
  const pipe = client.pipeline();
  const sets: Array<Array<[string, string]>> = [];
  for (let m = 0; m < MSETS_PER_BURST; m++) {
    const pairs: Array<[string, string]> = [];
    for (let k = 0; k < KEYS_PER_MSET; k++) pairs.push([`b:${n}:${m}:${k}`, `v${n}.${m}.${k}-${'x'.repeat(k % 50)}`]);
    sets.push(pairs);
    pipe.mset(...pairs.flat());
  }
  const res = (await pipe.exec()) ?? [];
  let ok = 0;
  res.forEach(([err], i) => {
    if (err !== null) return;
    ok++;
    for (const [k, v] of sets[i]!) acked.set(k, v);
  });
  return ok;
}

describe('stalls: a replica applies streamed bursts in slices', function () {
  this.timeout(180_000);
  let shard: Shard | undefined;
  const conns: Redis[] = [];

  afterEach(async () => {
    for (const c of conns.splice(0)) c.disconnect();
    await shard?.stop();
    shard = undefined;
  });

  it('yields between slices, and a replica killed mid-burst keeps every acknowledged write', async () => {
    // 1 ms budget: a burst of 4,000 keys is applied over many turns.
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, ackTimeoutMs: 3000, args: ['--replica-apply-slice-ms', '1'], namePrefix: 'rapply' });
    const primary = shard.primary;
    const victim = shard.replicas[0]!;
    const client = await connectClient(primary.node.port);
    conns.push(client);
    const acked = new Map<string, string>();

    let n = 0;
    for (; n < MAX_BURSTS; n++) {
      expect(await burst(client, n, acked), `burst ${n} fully acknowledged`).to.equal(MSETS_PER_BURST);
      if (n >= 2 && (await metric(victim.node, YIELDS)) > 0) break;
    }
    expect(await metric(victim.node, YIELDS), 'the replica yielded inside a burst').to.be.greaterThan(0);

    // Kill the replica while the next burst streams to it (its applied sequence has moved, the burst is not
    // all acknowledged yet): some MSETs are acknowledged, the rest time out with NOREPLICAS.
    const before = (await victim.admin.replication()).lastSeq;
    let burstDone = false;
    const inFlight = burst(client, n + 1, acked).finally(() => { burstDone = true; });
    await waitFor('the replica to apply part of the last burst', async () => burstDone || (await victim.admin.replication()).lastSeq > before, { timeoutMs: 30_000, intervalMs: 1 });
    await victim.node.kill9();
    await inFlight;
    await primary.node.kill9();

    // The replica alone: every acknowledged key is there with its value.
    victim.node = await victim.node.restart();
    const reader = await connectReadonly(victim.node.port);
    conns.push(reader);
    const keys = [...acked.keys()];
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const values = await reader.mget(...chunk);
      chunk.forEach((k, j) => expect(values[j], `acknowledged ${k} on the restarted replica`).to.equal(acked.get(k)));
    }

    // Both back: the replica catches up and the digests agree.
    primary.node = await primary.node.restart();
    await shard.applyRoles();
    await shard.waitForConvergence();
    await shard.waitForEqualDigests();
  });
});
