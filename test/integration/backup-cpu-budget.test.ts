/**
 * The backup snapshot's CPU budget (--backup-cpu-percent, issue #15): a
 * node started with IRIS_BACKUP_CPU_PERCENT=2 takes a shard backup whose
 * snapshot process reports (in the shard manifest) CPU seconds within the
 * budget of its wall time, with a generous bound: unbudgeted, the same read
 * runs on a full core. Meanwhile the controller's record shows the shard's
 * keys advancing (a slower backup, not a stuck one), and the backup holds
 * every key. The budget is the process's own measurement, not a wall-clock
 * speed: no timing assertion.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parseShardManifest } from '../../common/backup/manifest.js';
import { LocalCluster } from '../support/local-cluster.js';
import { clusterClient, irisctl, writeDataset } from '../support/backup-fixture.js';
import { waitFor } from '../support/wait.js';

const KEYS = 20_000;
const BUDGET_PERCENT = 2;

describe('backup snapshot CPU budget', function () {
  this.timeout(300_000);
  let source: LocalCluster;
  let backupDir: string;

  before(async () => {
    backupDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-backup-cpu-'));
    // The controller's environment reaches the nodes it starts. Nice 0: at nice 10 a busy machine (load 40)
    // gave even an unbudgeted snapshot process only ~2 % of a core, so a broken budget would pass unseen;
    // at nice 0 it took 10 % there (and a whole core on a quiet machine), against this test's bound of 4 %.
    source = await LocalCluster.start({ shards: 1, replicas: 0, env: { IRIS_BACKUP_CPU_PERCENT: String(BUDGET_PERCENT), IRIS_BACKUP_NICE: '0' } });
    const client = await clusterClient(source);
    try {
      await writeDataset(client, KEYS, 3_600_000);
    } finally {
      client.disconnect();
    }
  });

  after(async () => {
    await source?.destroy();
    if (backupDir !== undefined) await fs.promises.rm(backupDir, { recursive: true, force: true });
  });

  it('the snapshot process keeps its CPU within the budget and reports progress meanwhile', async () => {
    // Small chunks: the compression is spread over the read, as the budget is (one 4 MiB chunk would be compressed at the end).
    const r = await irisctl(['backup', 'create', '--dir', source.dir, '--destination', `file://${backupDir}`, '--chunk-size', '64KiB']);
    expect(r.code, r.stderr).to.equal(0);
    const id = r.stdout.trim();
    const progressSeen = new Set<number>();
    const done = await waitFor(`backup ${id} to finish`, async () => {
      const b = await source.client.backup(id);
      if (b.phase === 'Failed') throw new Error(`backup failed: ${b.message ?? ''}`);
      const s = b.shards[0]!;
      if (b.phase === 'Running' && s.keys > 0 && s.keys < s.keysTotal) progressSeen.add(s.keys);
      return b.phase === 'Completed' ? b : null;
    }, { timeoutMs: 240_000, intervalMs: 100 });
    // Several distinct partial counts: the record advanced while the budget held the process back.
    expect(progressSeen.size, 'partial key counts seen while running').to.be.greaterThan(1);

    const manifest = parseShardManifest(await fs.promises.readFile(path.join(backupDir, done.shards[0]!.manifest!.key)), 'shard manifest');
    expect(manifest.keys).to.equal(KEYS);
    const cpu = manifest.snapshotCpu!;
    expect(cpu, 'snapshotCpu in the shard manifest').to.not.equal(undefined);
    expect(cpu.cpuPercent).to.equal(BUDGET_PERCENT);
    expect(cpu.cpuSeconds).to.be.greaterThan(0);
    // Twice the budget: scheduling and the last chunk's store come after the last pause; unbudgeted it is near 100 %.
    expect((100 * cpu.cpuSeconds) / cpu.seconds, `CPU ${cpu.cpuSeconds} s over ${cpu.seconds} s`).to.be.at.most(2 * BUDGET_PERCENT);
  });
});
