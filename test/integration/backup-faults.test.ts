/**
 * Backups under faults (issue #15), filesystem destination: kill -9 of the
 * node taking a shard's snapshot while the controller has it recorded as
 * running, and kill -9 of the controller mid-backup (then restarted on the
 * same directory). Either way the backup must end Completed or Failed —
 * never stuck, never Completed without every object — and a Completed one
 * restores to exactly the data at the backup point; a Failed one has no
 * top-level manifest, so nothing can restore it. The killed node's snapshot
 * process (a child in its own session) exits with it. And kill -9 of the
 * snapshot process itself, which stores the chunks, mid-way through its
 * uploads: the node fails that job, and the next backup completes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { BackupAdminClient } from '../../common/backup/admin.js';
import type { BackupRecord } from '../../operator/core/backup-state.js';
import { LocalCluster } from '../support/local-cluster.js';
import { clusterClient, expectRestored, irisctl, readState, writeDataset, type KeyState } from '../support/backup-fixture.js';
import { waitFor } from '../support/wait.js';
import { childProcesses, procInfo } from '../support/proc-children.js';

const KEYS = 20_000;

describe('backup faults (file destination)', function () {
  this.timeout(400_000);
  let source: LocalCluster;
  let backupDir: string;
  let url: string;
  let atBackup: Map<string, KeyState>;
  const started: LocalCluster[] = [];

  before(async () => {
    backupDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-backup-faults-'));
    url = `file://${backupDir}`;
    source = await LocalCluster.start({ shards: 3, replicas: 1 });
    const client = await clusterClient(source);
    try {
      // No short TTLs here: the comparison is exact at whatever moment the restore runs.
      const keys = await writeDataset(client, KEYS, 3_600_000);
      atBackup = await readState(client, keys);
    } finally {
      client.disconnect();
    }
  });

  after(async () => {
    for (const c of started) await c.destroy();
    await source?.destroy();
    if (backupDir !== undefined) await fs.promises.rm(backupDir, { recursive: true, force: true });
  });

  async function startBackup(): Promise<string> {
    // Small chunks and a paced read: the snapshot jobs last seconds whatever the machine's speed, so the
    // test sees a job running and hits it mid-way (unpaced, a quiet machine can finish before the first poll).
    const r = await irisctl(['backup', 'create', '--dir', source.dir, '--destination', url, '--chunk-size', '8KiB', '--max-rate', '256KiB']);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout.trim();
  }

  /** The first shard the controller records as running, with its node. */
  async function runningShard(id: string): Promise<{ shard: string; node: string } | null> {
    const b = await source.client.backup(id);
    if (b.phase !== 'Running') return null;
    const s = b.shards.find((x) => x.state === 'running' && x.node !== null);
    return s === undefined ? null : { shard: s.shard, node: s.node! };
  }

  async function finalPhase(id: string): Promise<BackupRecord> {
    return waitFor(`backup ${id} to finish`, async () => {
      const b = await source.client.backup(id).catch(() => null);
      return b !== null && b.phase !== 'Running' ? b : null;
    }, { timeoutMs: 180_000, intervalMs: 250 });
  }

  /** Completed: restores exactly; Failed: no top-level manifest. */
  async function expectOutcome(b: BackupRecord): Promise<void> {
    const manifest = path.join(backupDir, b.id, 'manifest.json');
    if (b.phase === 'Failed') {
      expect(fs.existsSync(manifest), 'a failed backup has no top-level manifest').to.equal(false);
      return;
    }
    expect(b.phase).to.equal('Completed');
    expect(fs.existsSync(manifest)).to.equal(true);
    const restored = await LocalCluster.start({ shards: 3, replicas: 0, extraArgs: ['--restore-from', url, '--backup', b.id] });
    started.push(restored);
    await expectRestored(restored, atBackup, Date.now());
  }

  it('kill -9 of the node taking a snapshot: the backup retries it and completes (or fails cleanly)', async () => {
    const id = await startBackup();
    const victim = await waitFor('a shard snapshot to be running', () => runningShard(id), { timeoutMs: 30_000, intervalMs: 20 });
    const node = await source.node(victim.node);
    const pid = await source.pidOf(victim.node);
    // The snapshot is read by a child process in its own session (its own CPU group), at the default --backup-nice.
    const reader = await waitFor('the snapshot process', () => childProcesses(pid).find((p) => p.command.includes('snapshot-worker.js')) ?? null, { timeoutMs: 5000, intervalMs: 20 }).catch(() => null);
    const job = await new BackupAdminClient(node.httpUrl!, await source.token(), 5000).backupStatus(id).catch(() => null);
    if (job?.state === 'running') {
      expect(reader, 'the snapshot process of a running job').to.not.equal(null);
      expect(reader!.session).to.equal(reader!.pid);
      // It lowers its priority itself once started: wait for that, not for the spawn.
      const lowered = await waitFor('the snapshot process to lower its priority', () => {
        const p = procInfo(reader!.pid);
        // Both values: the process sets its own nice value first, its group's right after.
        return p !== null && p.nice !== 0 && p.autogroupNice !== 0 ? p : null;
      }, { timeoutMs: 10_000, intervalMs: 20 });
      expect(lowered.nice).to.equal(10);
      if (lowered.autogroupNice !== null) expect(lowered.autogroupNice, 'its session group, where the kernel has autogroups').to.equal(10);
    }
    process.kill(pid, 'SIGKILL');
    // Its node gone, the reader exits too (its IPC channel closed): no orphan keeps the WAL pinned.
    if (reader !== null) await waitFor('the snapshot process to exit with its node', () => (procInfo(reader.pid) === null ? true : null), { timeoutMs: 30_000, intervalMs: 50 });
    const b = await finalPhase(id);
    await expectOutcome(b);
    // Killed while its job ran: that shard's snapshot was taken again from the start.
    const shard = b.shards.find((s) => s.shard === victim.shard)!;
    if (job?.state === 'running') expect(shard.attempts, JSON.stringify(shard)).to.be.at.least(2);
    await source.waitReady(120_000);
  });

  it('kill -9 of the snapshot process mid-upload: its job fails cleanly, the backup ends honestly, the next one completes', async () => {
    await source.waitReady(120_000);
    const id = await startBackup();
    const victim = await waitFor('a shard snapshot to be running', () => runningShard(id), { timeoutMs: 30_000, intervalMs: 20 });
    const node = await source.node(victim.node);
    const admin = new BackupAdminClient(node.httpUrl!, await source.token(), 5000);
    // The process stores the chunks itself: once one is stored and the job still runs, it is mid-way through its uploads.
    const job = await waitFor('a chunk stored by the running job', async () => {
      const j = await admin.backupStatus(id).catch(() => null);
      return j === null || j.state !== 'running' || j.chunks >= 1 ? j : null;
    }, { timeoutMs: 30_000, intervalMs: 10 });
    const reader = childProcesses(await source.pidOf(victim.node)).find((p) => p.command.includes('snapshot-worker.js'));
    // The paced read lasts seconds per shard: the job is seen running with chunks stored.
    expect(job?.state, JSON.stringify(job)).to.equal('running');
    expect(reader, 'the running job\'s snapshot process').to.not.equal(undefined);
    process.kill(reader!.pid, 'SIGKILL');
    const failed = await waitFor('the node to fail the job', async () => {
      const j = await admin.backupStatus(id);
      return j.state !== 'running' ? j : null;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    expect(failed.state).to.equal('failed');
    expect(failed.error).to.match(/snapshot process exited with SIGKILL/);
    // Retried on a new attempt or failed: never Completed without every object, and then exact.
    await expectOutcome(await finalPhase(id));
    // Started at once, as a user's retry would be: a node still running the Failed backup's job answers
    // 409 busy, and the controller waits for it without spending the new backup's attempts.
    const next = await startBackup();
    const b = await finalPhase(next);
    expect(b.phase, JSON.stringify(b)).to.equal('Completed');
    await expectOutcome(b);
  });

  it('kill -9 of the controller mid-backup: the restarted controller resumes it to an honest end', async () => {
    const id = await startBackup();
    await waitFor('a shard snapshot to be running', () => runningShard(id), { timeoutMs: 30_000, intervalMs: 20 });
    await source.killController();
    source.spawnController();
    await source.waitReady(120_000);
    const b = await finalPhase(id);
    await expectOutcome(b);
  });
});
