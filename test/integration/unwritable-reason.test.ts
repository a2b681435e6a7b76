/**
 * Issue #13: a shard that cannot take writes says why and since when —
 * in the error a client gets, the node's replication status, the control
 * API's status, `irisctl status` (the real CLI) — and the reason clears when
 * the cause does. One shard of a primary and one replica, minSyncReplicas 1,
 * dataDurability required: the replica is lost (SIGSTOP, as in
 * local-quorum.test.ts: a process the platform cannot bring back, so the
 * controller does not restart it behind the test's back), writes fail with
 * NOREPLICAS naming the missing replica; SIGCONT and writes work again, with
 * every write acknowledged before the fault still there.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { AdminClient } from '../../common/admin-client.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';

describe('unwritable shard: why and since when (minSyncReplicas 1, its only replica lost)', function () {
  this.timeout(180_000);
  let cluster: LocalCluster;
  let client: Redis | null = null;
  let paused: number | null = null;

  before(async () => {
    cluster = await LocalCluster.start({ shards: 1, replicas: 1, minSyncReplicas: 1, dataDurability: 'required' });
  });

  after(async () => {
    if (paused !== null) {
      try {
        process.kill(paused, 'SIGCONT');
      } catch { /* gone */ }
    }
    client?.disconnect();
    await cluster?.destroy();
  });

  it('refuses writes saying why and since when, everywhere, and clears the reason when the replica is back', async () => {
    const shard = await cluster.shard('shard-0');
    expect(shard.writesRefused ?? null).to.equal(null);
    const primary = shard.nodes.find((n) => n.name === shard.primary)!;
    const replica = shard.nodes.find((n) => n.name !== shard.primary)!;
    client = new Redis({ host: primary.host!, port: primary.port!, lazyConnect: true, maxRetriesPerRequest: 0, commandTimeout: 20_000 });
    await client.connect();
    const acked: string[] = [];
    for (let i = 0; i < 50; i++) {
      await client.set(`before:${i}`, `v${i}`);
      acked.push(`before:${i}`);
    }

    const admin = new AdminClient(primary.httpUrl!, await cluster.token(), 5000);
    expect((await admin.replication()).writable).to.deep.include({ ok: true });

    paused = await cluster.pidOf(replica.name);
    process.kill(paused, 'SIGSTOP');
    const stoppedAt = Date.now();

    // RESP: Redis's NOREPLICAS prefix and first words, then the reason with the missing replica and the time.
    const err = await client.set('during', 'x').then(() => null, (e: Error) => e);
    expect(err, 'a write with the only replica stopped').to.not.equal(null);
    expect(err!.message).to.match(
      new RegExp(`^NOREPLICAS Not enough good replicas to write \\(${primary.name}: no replica acknowledges \\(minSyncReplicas=1, 0 of 1 replicas streaming: ` +
        `${replica.name} not acknowledging for \\d+ ms\\) since \\d\\d:\\d\\d:\\d\\dZ\\): minSyncReplicas=1 did not acknowledge within \\d+ ms`),
    );

    // HTTP: the same text in the 503.
    const res = await fetch(`${primary.httpUrl}/v1/kv/during-http`, { method: 'PUT', body: 'x' });
    expect(res.status).to.equal(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal('replication_timeout');
    expect(body.error.message).to.contain(`0 of 1 replicas streaming: ${replica.name}`);

    // The node's own report.
    const w = (await admin.replication()).writable!;
    expect(w).to.deep.include({ ok: false, reason: 'no-sync-replica' });
    // The gauge an alert (IrisDBWritesRefused) reads.
    const metrics = await (await fetch(`${primary.httpUrl}/metrics`)).text();
    expect(metrics).to.match(/^irisdb_writes_refused\{reason="no-sync-replica"[^}]*\} 1$/m);
    expect(metrics).to.match(/^irisdb_writes_refused\{reason="self-fenced"[^}]*\} 0$/m);
    const since = Date.parse(w.since);
    expect(since).to.be.within(stoppedAt - 1000, Date.now());

    // The control API's status and the shard's reason, with the primary's since.
    const refused = await waitFor('the controller to show the refusal', async () => (await cluster.shard('shard-0')).writesRefused ?? null, { timeoutMs: 30_000, intervalMs: 100 });
    expect(refused).to.deep.include({ reason: 'no-sync-replica', since: w.since });
    const st = await cluster.status();
    expect(st.messages.join('\n')).to.contain(`shard-0: writes refused since ${w.since}: no replica acknowledges`);

    // irisctl status, the real CLI: the table and --json.
    const table = await run(process.execPath, [IRISCTL, 'status', '--dir', cluster.dir], { timeoutMs: 30_000 });
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout).to.match(new RegExp(`WRITES REFUSED since ${w.since.slice(11, 19)} \\(\\d+ s\\): no-sync-replica: no replica acknowledges \\(minSyncReplicas=1, 0 of 1 replicas streaming`));
    const json = await run(process.execPath, [IRISCTL, 'status', '--dir', cluster.dir, '--json'], { timeoutMs: 30_000 });
    expect(json.code, json.stderr).to.equal(0);
    const parsed = JSON.parse(json.stdout) as { shards: Array<{ writesRefused?: { reason: string; since: string } | null }> };
    expect(parsed.shards[0]!.writesRefused).to.deep.include({ reason: 'no-sync-replica', since: w.since });

    // The replica back: writes work and every report clears.
    process.kill(paused, 'SIGCONT');
    paused = null;
    await waitFor('the node to accept writes again', async () => (await admin.replication()).writable?.ok === true, { timeoutMs: 30_000, intervalMs: 100 });
    await client.set('after', 'y');
    acked.push('after');
    await waitFor('the controller to clear the refusal', async () => ((await cluster.shard('shard-0')).writesRefused ?? null) === null, { timeoutMs: 30_000, intervalMs: 100 });
    expect(await (await fetch(`${primary.httpUrl}/metrics`)).text()).to.match(/^irisdb_writes_refused\{reason="no-sync-replica"[^}]*\} 0$/m);
    const after = await run(process.execPath, [IRISCTL, 'status', '--dir', cluster.dir], { timeoutMs: 30_000 });
    expect(after.stdout).to.not.contain('WRITES REFUSED');

    // Nothing acknowledged is lost.
    const missing: string[] = [];
    for (const k of acked) if ((await client.get(k)) === null) missing.push(k);
    expect(missing).to.deep.equal([]);
  });
});
