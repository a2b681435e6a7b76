/**
 * Continuous log archiving and point-in-time restore (issue #15), through
 * irisctl as a user runs it, on a file:// destination: a 2-shard cluster
 * archives its logs (segments closed every second); a full backup; then a
 * sequential workload with recorded acknowledgement times, during which
 * shard-0's primary is killed with kill -9 (a failover between the backup
 * and the restore point T). A restore to T holds every write acknowledged
 * before T and none issued after it (a write in flight at T, or one that
 * failed, may be either: those keys are left out of the check); a restore
 * without T holds every acknowledged write. The archive continued after
 * the failover without a gap or an overlap within an epoch, and retention
 * deleted the segments wholly before the backup (the restores show the
 * rest suffices); the status reports the recoverability window; a flipped byte
 * in a segment and a missing segment fail the restore naming the object,
 * and nothing starts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Cluster } from 'ioredis';
import { freeBasePort, LocalCluster } from '../support/local-cluster.js';
import { clusterClient, createBackup, irisctl, waitStreaming } from '../support/backup-fixture.js';
import { waitFor } from '../support/wait.js';
import { PitrHistory } from '../support/pitr-history.js';
import { parseSegmentKey } from '../../common/backup/segment.js';
import { planReplay } from '../../common/backup/segment-plan.js';

const BASE_KEYS = 200;
const WRITES = 300;
const KILL_AT = 80;
const T_AT = 200;
const SHORT_TTL_MS = 1500;

describe('log archiving and point-in-time restore (file destination)', function () {
  this.timeout(400_000);
  let source: LocalCluster;
  let destDir: string;
  let url: string;
  let pointInTime: number;
  let backupId: string;
  const history = new PitrHistory(SHORT_TTL_MS);
  const write = (client: Cluster, key: string, value: string | null, ttl = false): Promise<void> => history.write(client, key, value, ttl);
  const started: LocalCluster[] = [];

  before(async () => {
    destDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-pitr-'));
    url = `file://${destDir}`;
    source = await LocalCluster.start({
      shards: 2, replicas: 1, heartbeatMs: 200, failureThreshold: 3,
      extraArgs: ['--archive-destination', url], env: { IRIS_ARCHIVE_SEGMENT_SECONDS: '1' },
    });
    const client = await clusterClient(source);
    try {
      for (let i = 0; i < BASE_KEYS; i++) await write(client, `a:${i}`, 'base');
      await waitStreaming(source);
      backupId = await createBackup(source, url);
      const st = await source.status();
      const victim = st.shards.find((s) => s.id === 'shard-0')!.primary!;
      for (let i = 0; i < WRITES; i++) {
        if (i === KILL_AT) process.kill(await source.pidOf(victim), 'SIGKILL');
        if (i === KILL_AT + 20) await source.waitReady(120_000);
        if (i === T_AT) {
          pointInTime = Date.now();
          // Everything from here on is issued strictly after T.
          await waitFor('the clock to pass T', async () => (Date.now() > pointInTime + 1 ? true : null), { timeoutMs: 1000, intervalMs: 1 });
        }
        if (i === 5) await write(client, 'ttl:short', 'x', true);
        else if (i % 3 === 0) await write(client, `a:${i % BASE_KEYS}`, `b${i}`);
        else if (i % 11 === 0) await write(client, `a:${(i * 7) % BASE_KEYS}`, null);
        else await write(client, `w:${i}`, `b${i}`);
      }
      const failedOver = (await source.status()).shards.find((s) => s.id === 'shard-0')!.primary;
      expect(failedOver, 'shard-0 failed over').to.not.equal(victim);
    } finally {
      client.disconnect();
    }
    // Both primaries report an archive holding everything they committed.
    await waitFor('the archive to catch up', async () => {
      const st = await source.status();
      const lags = await Promise.all(st.shards.map(async (s) => {
        const p = s.nodes.find((n) => n.name === s.primary)!;
        const text = await (await fetch(`${p.httpUrl!}/metrics`)).text();
        return Number(/^irisdb_archive_lag_sequences (\S+)$/m.exec(text)?.[1] ?? NaN);
      }));
      return lags.every((l) => l === 0) ? true : null;
    }, { timeoutMs: 60_000, intervalMs: 200 });
  });

  after(async () => {
    for (const c of started) await c.destroy();
    await source?.destroy();
    if (destDir !== undefined) await fs.promises.rm(destDir, { recursive: true, force: true });
  });

  it('archives each shard without a gap or an overlap within an epoch, continuing after the failover; retention deleted what the backup does not need', async () => {
    const backupSeq = new Map<string, number>();
    const backupEpoch = new Map<string, number>();
    for (const shard of ['shard-0', 'shard-1']) {
      const m = JSON.parse(await fs.promises.readFile(path.join(destDir, backupId, shard, 'manifest.json'), 'utf8')) as { endSeq: number; shardEpoch: number };
      backupSeq.set(shard, m.endSeq);
      backupEpoch.set(shard, m.shardEpoch);
    }
    // Retention runs with each read of the window (at once after the backup completed): the segments wholly before the backup's snapshot go.
    const segmentsOf = async (shard: string) => (await fs.promises.readdir(path.join(destDir, 'archive', shard))).filter((f) => f.endsWith('.irseg')).map((f) => ({ ...parseSegmentKey(`archive/${shard}/${f}`)!, key: f }));
    await waitFor('archive retention', async () => {
      for (const shard of ['shard-0', 'shard-1']) if ((await segmentsOf(shard)).some((n) => n.lastSeq <= backupSeq.get(shard)!)) return null;
      return true;
    }, { timeoutMs: 45_000, intervalMs: 500 });
    expect(await fs.promises.readFile(path.join(source.dir, 'logs', 'controller.log'), 'utf8')).to.match(/archive segments deleted: no kept backup needs them/);
    for (const shard of ['shard-0', 'shard-1']) {
      const names = await segmentsOf(shard);
      expect(names.length).to.be.greaterThan(1);
      expect(planReplay(shard, names, backupSeq.get(shard)! + 1).at(-1)!.toSeq).to.equal(Math.max(...names.map((n) => n.lastSeq)));
      const byEpoch = new Map<number, typeof names>();
      for (const n of names) byEpoch.set(n.epoch, [...(byEpoch.get(n.epoch) ?? []), n]);
      for (const list of byEpoch.values()) {
        list.sort((a, b) => a.firstSeq - b.firstSeq);
        for (let i = 1; i < list.length; i++) expect(list[i]!.firstSeq, `${shard} ${list[i]!.key}`).to.equal(list[i - 1]!.lastSeq + 1);
      }
      // (The old primary's segments from before the backup are gone with retention; the new primary's continue the archive.)
      if (shard === 'shard-0') expect(Math.max(...byEpoch.keys()), 'segments of the new primary').to.be.above(backupEpoch.get(shard)!);
    }
  });

  it('reports the recoverability window (irisctl backup window)', async () => {
    const r = await irisctl(['backup', 'window', '--destination', url, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const w = JSON.parse(r.stdout) as { firstRecoverabilityPoint: string; shards: Array<{ shard: string; lastArchivedTime: string; lastArchivedSeq: number }> };
    expect(Date.parse(w.firstRecoverabilityPoint)).to.be.below(pointInTime);
    expect(w.shards.map((s) => s.shard)).to.deep.equal(['shard-0', 'shard-1']);
    // Writes went on after T on both shards, and the archive caught up with them.
    for (const s of w.shards) expect(Date.parse(s.lastArchivedTime), s.shard).to.be.above(pointInTime);
    const text = await irisctl(['backup', 'window', '--destination', url]);
    expect(text.stdout).to.match(/^recoverable from \S+ \(backup \S+ finished\)$/m);
    expect(text.stdout).to.match(/^shard-1: archived to \S+ \(seq \d+, \d+ segments\)$/m);
  });

  it('reports the recoverability window in the cluster status (control API, irisctl status, controller /metrics)', async () => {
    // The controller reads the destination every 30 s (and at once after a backup completes).
    const st = await waitFor('the status to show the caught-up archive', async () => {
      const s = await source.status();
      const r = s.recoverability;
      return r != null && r.shards.length === 2 && r.shards.every((x) => x.lagSequences === 0) ? s : null;
    }, { timeoutMs: 45_000, intervalMs: 500 });
    const r = st.recoverability!;
    expect(Date.parse(r.firstRecoverabilityPoint!)).to.be.below(pointInTime);
    expect(Date.parse(r.lastArchivedTime!)).to.be.above(pointInTime);
    expect(r.shards.map((x) => [x.shard, x.lagSeconds])).to.deep.equal([['shard-0', 0], ['shard-1', 0]]);
    const text = await irisctl(['status', '--dir', source.dir]);
    expect(text.stdout).to.match(/^recoverability \(archive file:\/\/\S+, read \S+\)$/m);
    expect(text.stdout).to.match(/^ {2}shard-0: archived to \S+ \(seq \d+, \d+ segments\), caught up$/m);
    const token = await source.token();
    const metrics = await (await fetch(`http://127.0.0.1:${source.basePort + 2000}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(metrics).to.match(/^irisdb_recoverability_first_timestamp_seconds\{cluster="[^"]+"\} \d+/m);
    expect(metrics).to.match(/^irisdb_recoverability_archive_lag_sequences\{cluster="[^"]+",shard="shard-1"\} 0$/m);
  });

  it('restores to a point in time: every write acknowledged before T, none issued after', async () => {
    const restored = await LocalCluster.start({ shards: 3, replicas: 0, extraArgs: ['--restore-from', url, '--point-in-time', new Date(pointInTime).toISOString()] });
    started.push(restored);
    const checked = await history.checkRestored(restored, pointInTime);
    expect(checked).to.be.greaterThan(BASE_KEYS);
    expect(restored.output()).to.match(/replayed \d+ log entries from \d+ archived segments/);
    expect(await restored.getAll(['ttl:short', `w:${WRITES - 1}`])).to.deep.equal([null, null]);
  });

  it('restores to the end of the archive without --point-in-time', async () => {
    const restored = await LocalCluster.start({ shards: 1, replicas: 0, extraArgs: ['--restore-from', url] });
    started.push(restored);
    await history.checkRestored(restored, Date.now());
    expect(await restored.getAll([`w:${WRITES - 1}`])).to.deep.equal([`b${WRITES - 1}`]);
  });

  async function expectRestoreFails(damage: (copy: string) => Promise<string>, message: string): Promise<void> {
    const copy = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-pitr-bad-'));
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-pitr-restore-'));
    try {
      await fs.promises.cp(destDir, copy, { recursive: true });
      const object = await damage(copy);
      const r = await irisctl(['local', 'up', '--dir', dir, '--base-port', String(await freeBasePort()), '--shards', '2', '--restore-from', `file://${copy}`], {}, 60_000);
      expect(r.code, r.stdout).to.equal(1);
      expect(r.stderr).to.contain(object);
      expect(r.stderr).to.contain(message);
      expect(fs.existsSync(path.join(dir, 'controller.json'))).to.equal(false);
      const nodes = fs.existsSync(path.join(dir, 'nodes')) ? await fs.promises.readdir(path.join(dir, 'nodes')) : [];
      expect(nodes).to.deep.equal([]);
    } finally {
      await fs.promises.rm(copy, { recursive: true, force: true });
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }

  const middleSegment = async (copy: string): Promise<string> => {
    const files = (await fs.promises.readdir(path.join(copy, 'archive', 'shard-1'))).sort();
    return `archive/shard-1/${files[Math.floor(files.length / 2)]!}`;
  };

  it('fails on a flipped byte in a segment, naming the object, and starts nothing', async () => {
    await expectRestoreFails(async (copy) => {
      const key = await middleSegment(copy);
      const bytes = await fs.promises.readFile(path.join(copy, key));
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      await fs.promises.writeFile(path.join(copy, key), bytes);
      return key;
    }, 'SHA-256 does not match');
  });

  it('fails on a missing segment, naming where the hole is', async () => {
    await expectRestoreFails(async (copy) => {
      // A hole the replay must cross: the second-to-last segment of the shard with the most of them
      // (retention has deleted what the backup does not need, so a shard may keep a single one).
      let shard = '';
      let segments: string[] = [];
      for (const s of await fs.promises.readdir(path.join(copy, 'archive'))) {
        const files = (await fs.promises.readdir(path.join(copy, 'archive', s))).filter((f) => f.endsWith('.irseg')).sort();
        if (files.length > segments.length) [shard, segments] = [s, files];
      }
      expect(segments.length, 'a shard with two archived segments after the backup').to.be.at.least(2);
      await fs.promises.rm(path.join(copy, 'archive', shard, segments[segments.length - 2]!));
      return `archive of ${shard} has no segment holding seq`;
    }, 'a segment is missing');
  });
});
