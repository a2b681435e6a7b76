/**
 * The log archive falling behind (issue #15), on a 1-shard cluster with a
 * tiny replication backlog (100 ops) and a file:// destination whose
 * archive/shard-0 is made unwritable by putting a file in its place:
 * - behind by less than 4 × the backlog: the primary and its replica keep
 *   the log the archive lacks; kill -9 of the primary meanwhile; once the
 *   destination is back, the new primary archives it all without a gap,
 *   and a restore holds every acknowledged write;
 * - behind by more: the log is trimmed anyway (writes never block), the
 *   archive records a gap (irisdb_archive_gaps_total), a restore from the
 *   backup before the gap fails at the hole, and one from a new backup
 *   holds every acknowledged write.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Cluster } from 'ioredis';
import { freeBasePort, LocalCluster } from '../support/local-cluster.js';
import { clusterClient, createBackup, irisctl, waitStreaming } from '../support/backup-fixture.js';
import { waitFor } from '../support/wait.js';

describe('log archive falling behind (file destination)', function () {
  this.timeout(400_000);
  let source: LocalCluster;
  let destDir: string;
  let url: string;
  let client: Cluster;
  const acked = new Map<string, string>();
  const uncertain = new Set<string>();
  const started: LocalCluster[] = [];

  /** When the newest acknowledged write was sent: its batch's commit time is not earlier. */
  let lastAckedSentAt = 0;
  async function write(key: string, value: string): Promise<void> {
    const sentAt = Date.now();
    const op = client.set(key, value);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([op, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), 5000)))]);
      acked.set(key, value);
      lastAckedSentAt = sentAt;
    } catch {
      uncertain.add(key);
      op.catch(() => undefined);
    } finally {
      clearTimeout(timer);
    }
  }

  const shardDir = (): string => path.join(destDir, 'archive', 'shard-0');
  const held = (): string => path.join(destDir, 'held-shard-0');
  async function block(): Promise<void> {
    await fs.promises.rename(shardDir(), held());
    await fs.promises.writeFile(shardDir(), 'not a directory');
  }
  async function unblock(): Promise<void> {
    await fs.promises.rm(shardDir());
    await fs.promises.rename(held(), shardDir());
  }

  async function primaryMetric(name: string): Promise<number> {
    const st = await source.status();
    const s = st.shards[0]!;
    const p = s.nodes.find((n) => n.name === s.primary)!;
    const text = await (await fetch(`${p.httpUrl!}/metrics`)).text();
    return Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  }
  /** Sequences the primary's replication log holds. */
  const logSize = async (): Promise<number> =>
    (await primaryMetric('irisdb_replication_backlog_sequence{end="last"}')) - (await primaryMetric('irisdb_replication_backlog_sequence{end="first"}')) + 1;
  // The lag gauge is set when the archiver runs, so right after a write it may still read 0: also wait for the newest acknowledged write's batch to be in the archive.
  const caughtUp = (): Promise<unknown> => waitFor('the archive to catch up', async () =>
    ((await primaryMetric('irisdb_archive_lag_sequences')) === 0 && (await primaryMetric('irisdb_archive_last_archived_timestamp_seconds')) * 1000 >= lastAckedSentAt - 1 ? true : null),
  { timeoutMs: 60_000, intervalMs: 200 });

  async function expectAllAcked(c: LocalCluster): Promise<void> {
    const keys = [...acked.keys()].filter((k) => !uncertain.has(k));
    const got = await c.getAll(keys);
    const wrong = keys.filter((k, i) => got[i] !== acked.get(k));
    expect(wrong.slice(0, 5), `${wrong.length} of ${keys.length} acknowledged keys differ`).to.deep.equal([]);
  }

  before(async () => {
    destDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-archive-behind-'));
    url = `file://${destDir}`;
    source = await LocalCluster.start({
      shards: 1, replicas: 1, heartbeatMs: 200, failureThreshold: 3, extraArgs: ['--archive-destination', url],
      env: { IRIS_ARCHIVE_SEGMENT_SECONDS: '1', IRIS_ARCHIVE_SEGMENT_BYTES: '4096', IRIS_REPL_BACKLOG_OPS: '100' },
    });
    client = await clusterClient(source);
    for (let i = 0; i < 50; i++) await write(`base:${i}`, 'v');
    await waitStreaming(source);
    await createBackup(source, url);
    await caughtUp();
  });

  after(async () => {
    client?.disconnect();
    for (const c of started) await c.destroy();
    await source?.destroy();
    if (destDir !== undefined) await fs.promises.rm(destDir, { recursive: true, force: true });
  });

  it('keeps the log the archive lacks, across kill -9 of the primary, and archives it without a gap', async () => {
    await block();
    const victim = (await source.status()).shards[0]!.primary!;
    // 300 single-write turns: 3 × the backlog, under the 4 × allowance.
    for (let i = 0; i < 300; i++) {
      if (i === 200) process.kill(await source.pidOf(victim), 'SIGKILL');
      if (i === 220) await source.waitReady(120_000);
      await write(`held:${i}`, `h${i}`);
    }
    expect((await source.status()).shards[0]!.primary).to.not.equal(victim);
    const lag = await primaryMetric('irisdb_archive_lag_sequences');
    expect(lag).to.be.greaterThan(90);
    // Past the 100-op backlog, yet everything the archive lacks is still in the log (the gap count and the restore below prove it held).
    expect(await logSize(), 'log kept for the archive').to.be.at.least(lag);
    await unblock();
    await caughtUp();
    expect(await primaryMetric('irisdb_archive_gaps_total')).to.equal(0);
    const restored = await LocalCluster.start({ shards: 1, replicas: 0, extraArgs: ['--restore-from', url] });
    started.push(restored);
    await expectAllAcked(restored);
    expect(uncertain.size, 'writes that failed around the kill').to.be.below(50);
  });

  it('lets go past 4 × the backlog: a gap, a restore from the older backup fails at it, a new backup restores', async () => {
    await source.waitReady(120_000);
    await block();
    for (let i = 0; i < 600; i++) await write(`gap:${i}`, `g${i}`);
    // More than 4 × the backlog behind: the log is trimmed to the backlog anyway.
    await waitFor('the log to be trimmed past the archive', async () => ((await logSize()) <= 150 ? true : null), { timeoutMs: 30_000, intervalMs: 200 });
    await unblock();
    await waitFor('a gap to be recorded', async () => ((await primaryMetric('irisdb_archive_gaps_total')) >= 1 ? true : null), { timeoutMs: 30_000, intervalMs: 200 });
    await caughtUp();
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-archive-gap-'));
    try {
      const r = await irisctl(['local', 'up', '--dir', dir, '--base-port', String(await freeBasePort()), '--shards', '1', '--restore-from', url], {}, 60_000);
      expect(r.code, r.stdout).to.equal(1);
      expect(r.stderr).to.contain('archive of shard-0 has no segment holding seq');
      expect(fs.existsSync(path.join(dir, 'controller.json'))).to.equal(false);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
    await waitStreaming(source);
    await createBackup(source, url);
    await write('after-new-backup', 'x');
    await caughtUp();
    const restored = await LocalCluster.start({ shards: 1, replicas: 0, extraArgs: ['--restore-from', url] });
    started.push(restored);
    await expectAllAcked(restored);
  });
});
