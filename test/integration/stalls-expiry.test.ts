/**
 * Issue #16, no stalls, and the data safety of the active expiry cycle while
 * it catches up with many keys that expire together: one chain of small
 * cycles, each committed on its own (test/unit/active-expiry-schedule.test.ts).
 * A primary killed with SIGKILL in the middle of that catch-up, while a
 * client writes other keys with minSyncReplicas 1, holds every write it
 * acknowledged when it restarts, and so does its replica; once both are back
 * the expiry finishes, the replica receives the deletes (expiry is
 * replicated as deletes from the primary), no expired key is left anywhere,
 * and the digests agree.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { Shard, connectClient, connectReadonly, metric } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

const EXPIRING = 20_000;
/** Small cycles: the catch-up over 20k keys then takes thousands of cycles (seconds), so the kill lands inside it. */
const ARGS = ['--active-expiry-max-keys', '8', '--active-expiry-max-ms', '2'];
const EXPIRED = 'redis_expired_keys_total';

describe('stalls: active expiry catching up, primary killed mid-way', function () {
  this.timeout(180_000);
  let shard: Shard | undefined;
  const conns: Redis[] = [];

  afterEach(async () => {
    for (const c of conns.splice(0)) c.disconnect();
    await shard?.stop();
    shard = undefined;
  });

  it('keeps every acknowledged write on both nodes, then finishes the expiry on both and converges', async () => {
    shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, ackTimeoutMs: 3000, args: ARGS, namePrefix: 'sexp' });
    const primary = shard.primary;
    const replica = shard.replicas[0]!;
    const client = await connectClient(primary.node.port);
    conns.push(client);

    // 20k keys, then one PEXPIREAT each, all at one instant after the last one is in.
    const value = 'e'.repeat(100);
    for (let i = 0; i < EXPIRING;) {
      const pipe = client.pipeline();
      for (let d = 0; d < 1000 && i < EXPIRING; d++, i++) pipe.set(`e:${i}`, value);
      for (const [err] of (await pipe.exec()) ?? []) expect(err).to.equal(null);
    }
    const at = Date.now() + 5000;
    const pipe = client.pipeline();
    for (let i = 0; i < EXPIRING; i++) pipe.pexpireat(`e:${i}`, at);
    for (const [err] of (await pipe.exec()) ?? []) expect(err).to.equal(null);
    expect(Date.now(), 'every PEXPIREAT in before the keys expire').to.be.lessThan(at);

    // A writer of other keys all along; only acknowledged writes are kept.
    const acked = new Map<string, string>();
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing && n < 50_000) {
        const key = `w:${n}`;
        const v = `v${n}`;
        n++;
        try {
          if ((await client.set(key, v)) === 'OK') acked.set(key, v);
        } catch {
          // Outcome unknown (the primary died or NOREPLICAS): not acknowledged, not checked.
        }
      }
    })();

    // The kill lands inside the catch-up: some keys expired, many still there.
    await waitFor('the expiry cycle to be catching up', async () => {
      const expired = await metric(primary.node, EXPIRED);
      return expired >= 200 && expired < EXPIRING - 2000;
    }, { timeoutMs: 60_000, intervalMs: 5 });
    await primary.node.kill9();
    writing = false;
    await writer;
    client.disconnect();
    expect(acked.size, 'writes acknowledged before the kill').to.be.greaterThan(0);

    // The replica, and then the restarted primary (nothing can refill it): every acknowledged write is there.
    const checkAcked = async (port: number, who: string): Promise<void> => {
      const reader = await connectReadonly(port);
      conns.push(reader);
      const keys = [...acked.keys()];
      for (let i = 0; i < keys.length; i += 1000) {
        const chunk = keys.slice(i, i + 1000);
        const values = await reader.mget(...chunk);
        chunk.forEach((k, j) => expect(values[j], `acknowledged ${k} on the ${who}`).to.equal(acked.get(k)));
      }
    };
    await checkAcked(replica.node.port, 'replica');
    primary.node = await primary.node.restart();
    await checkAcked(primary.node.port, 'restarted primary');

    // Both streaming again: the expiry finishes on the primary, the replica gets its deletes, digests agree.
    await shard.applyRoles();
    await shard.waitForConvergence();
    const restarted = await connectClient(primary.node.port);
    conns.push(restarted);
    // SCAN skips expired keys without deleting them: the w: keys stored (acknowledged, plus any committed but unacknowledged).
    let cursor = '0';
    let wKeys = 0;
    do {
      const [next, keys] = await restarted.scan(cursor, 'MATCH', 'w:*', 'COUNT', 1000);
      cursor = next;
      wKeys += keys.length;
    } while (cursor !== '0');
    expect(wKeys).to.be.at.least(acked.size);
    // DBSIZE counts stored keys, expired or not: equal to the w: keys once the cycle deleted every e: key.
    await waitFor('the expiry cycle to delete every expired key on the primary', async () => Number(await restarted.dbsize()) === wKeys, { timeoutMs: 60_000, intervalMs: 100 });
    await shard.waitForConvergence();
    const replicaReader = await connectReadonly(replica.node.port);
    conns.push(replicaReader);
    expect(Number(await replicaReader.dbsize()), 'keys stored on the replica (its deletes came from the primary)').to.equal(wKeys);
    await shard.waitForEqualDigests();
    await checkAcked(replica.node.port, 'replica after convergence');
  });
});
