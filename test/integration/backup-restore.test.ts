/**
 * Backups to a filesystem destination and restores into NEW local
 * clusters (issue #15), all through irisctl as a user runs it: backup →
 * more writes → restore equals the source at the backup point (every
 * value and absolute expiry; keys whose TTL ran out before the restore are
 * not loaded), into 2 and into 5 shards (every key in the shard owning its
 * slot); a flipped byte in a chunk fails the restore naming the object and
 * starts nothing; a restore over an existing cluster is refused; list,
 * describe and delete.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { freeBasePort, LocalCluster } from '../support/local-cluster.js';
import { clusterClient, createBackup, expectRestored, irisctl, readState, waitStreaming, writeDataset, type KeyState } from '../support/backup-fixture.js';
import { waitFor } from '../support/wait.js';

const KEYS = 3000;
/** Long enough for the backup to finish before these keys expire, even on a loaded machine. */
const SHORT_TTL_MS = 15_000;

describe('backup and restore (file destination)', function () {
  this.timeout(300_000);
  let source: LocalCluster;
  let backupDir: string;
  let url: string;
  let id: string;
  let atBackup: Map<string, KeyState>;
  let shortExpiry: number;
  const started: LocalCluster[] = [];

  before(async () => {
    backupDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-backups-'));
    url = `file://${backupDir}`;
    source = await LocalCluster.start({ shards: 3, replicas: 1 });
    const client = await clusterClient(source);
    try {
      const firstExpiry = Date.now() + SHORT_TTL_MS;
      const keys = await writeDataset(client, KEYS, SHORT_TTL_MS);
      shortExpiry = Date.now() + SHORT_TTL_MS;
      atBackup = await readState(client, keys);
      await waitStreaming(source);
      id = await createBackup(source, url);
      // The short-TTL keys must be in the backup (alive when it was taken) for the restore to show it drops them.
      expect(Date.now(), 'the backup finished after the first short TTLs ran out').to.be.below(firstExpiry);
      // More writes after the backup point: none of them may appear in a restore.
      await writeDataset(client, 500, 3_600_000, 'after');
      await client.set('bk:new-after-backup', 'x');
    } finally {
      client.disconnect();
    }
  });

  after(async () => {
    for (const c of started) await c.destroy();
    await source?.destroy();
    if (backupDir !== undefined) await fs.promises.rm(backupDir, { recursive: true, force: true });
  });

  it('records the backup as Completed with every shard manifest, and writes the top-level manifest last', async () => {
    const list = await irisctl(['backup', 'list', '--dir', source.dir, '--json']);
    expect(list.code, list.stderr).to.equal(0);
    const backups = JSON.parse(list.stdout) as Array<{ id: string; phase: string; shards: Array<{ state: string; node: string }> }>;
    const b = backups.find((x) => x.id === id)!;
    expect(b.phase).to.equal('Completed');
    expect(b.shards.map((s) => s.state)).to.deep.equal(['done', 'done', 'done']);
    // Taken from the replicas (ordinal 1), which stream from their primaries.
    expect(b.shards.every((s) => s.node.endsWith('-1')), JSON.stringify(b.shards)).to.equal(true);
    expect(fs.existsSync(path.join(backupDir, id, 'manifest.json'))).to.equal(true);
    for (let i = 0; i < 3; i++) expect(fs.existsSync(path.join(backupDir, id, `shard-${i}`, 'manifest.json'))).to.equal(true);
    // Each node that took a snapshot counts it in /metrics.
    const st = await source.status();
    for (const s of b.shards) {
      const n = st.shards.flatMap((x) => x.nodes).find((x) => x.name === s.node)!;
      const text = await (await fetch(`${n.httpUrl!}/metrics`)).text();
      expect(Number(/^irisdb_backup_snapshots_total\{result="completed"\} (\S+)$/m.exec(text)?.[1]), s.node).to.be.at.least(1);
      expect(Number(/^irisdb_backup_keys_total (\S+)$/m.exec(text)?.[1])).to.be.greaterThan(0);
      expect(Number(/^irisdb_backup_last_success_timestamp_seconds (\S+)$/m.exec(text)?.[1])).to.be.greaterThan(0);
    }
    const described = await irisctl(['backup', 'describe', id, '--dir', source.dir]);
    expect(described.stdout).to.contain(`backup ${id}: Completed`);
  });

  it('restores into a new 2-shard cluster: the data at the backup point, expired keys left out', async () => {
    // The short TTLs must have run out before the restore starts.
    await waitFor('the short TTLs to pass', async () => (Date.now() > shortExpiry + 200 ? true : null), { timeoutMs: SHORT_TTL_MS + 5000, intervalMs: 100 });
    const restored = await LocalCluster.start({ shards: 2, replicas: 1, extraArgs: ['--restore-from', url, '--backup', id] });
    started.push(restored);
    const r = await expectRestored(restored, atBackup, Date.now());
    expect(r.expired).to.be.greaterThan(0);
    expect(restored.output()).to.match(new RegExp(`restored ${r.live} keys \\(${r.expired} expired ones left out\\)`));
    const client = await clusterClient(restored);
    try {
      expect(await client.get('bk:new-after-backup')).to.equal(null);
    } finally {
      client.disconnect();
    }
  });

  it('restores into 5 shards (the newest backup when none is named)', async () => {
    const restored = await LocalCluster.start({ shards: 5, replicas: 0, extraArgs: ['--restore-from', url] });
    started.push(restored);
    await expectRestored(restored, atBackup, Date.now());
  });

  it('refuses to restore over an existing cluster (a stopped one included)', async () => {
    const stopped = started[started.length - 1]!;
    expect(await stopped.stop()).to.equal(0);
    const r = await irisctl(['local', 'up', '--dir', stopped.dir, '--base-port', String(stopped.basePort), '--restore-from', url], {}, 30_000);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('already holds a cluster');
  });

  it('fails on a flipped byte in a chunk, naming the object, and starts no node', async () => {
    const copy = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-backups-bad-'));
    try {
      await fs.promises.cp(path.join(backupDir, id), path.join(copy, id), { recursive: true });
      const chunk = path.join(copy, id, 'shard-1', 'chunk-000001.irbk');
      const bytes = await fs.promises.readFile(chunk);
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      await fs.promises.writeFile(chunk, bytes);
      const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-restore-bad-'));
      try {
        const r = await irisctl(['local', 'up', '--dir', dir, '--base-port', String(await freeBasePort()), '--shards', '3', '--restore-from', `file://${copy}`], {}, 60_000);
        expect(r.code).to.equal(1);
        expect(r.stderr).to.contain(`${id}/shard-1/chunk-000001.irbk`);
        expect(r.stderr).to.contain('SHA-256 does not match');
        // Nothing was started and no data directory was left behind.
        expect(fs.existsSync(path.join(dir, 'controller.json'))).to.equal(false);
        const nodes = fs.existsSync(path.join(dir, 'nodes')) ? await fs.promises.readdir(path.join(dir, 'nodes')) : [];
        expect(nodes).to.deep.equal([]);
      } finally {
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    } finally {
      await fs.promises.rm(copy, { recursive: true, force: true });
    }
  });

  it('needs the cluster token on the control API and the admin token on the node', async () => {
    const st = await source.status();
    const control = `http://127.0.0.1:${source.basePort + 2000}`;
    for (const [method, p] of [['GET', '/backups'], ['POST', '/backups'], ['GET', `/backups/${id}`], ['DELETE', `/backups/${id}`]] as const) {
      const res = await fetch(control + p, { method, body: method === 'POST' ? JSON.stringify({ destination: url }) : undefined });
      expect(res.status, `${method} ${p}`).to.equal(401);
    }
    const node = st.shards[0]!.nodes[0]!.httpUrl!;
    const res = await fetch(`${node}/admin/backups`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'x', cluster: 'iris', destination: { url } }) });
    expect(res.status).to.equal(401);
    expect((await fetch(`${node}/admin/backups/${id}`)).status).to.equal(401);
  });

  it('deletes a backup: its objects, then its record', async () => {
    const second = await createBackup(source, url);
    const r = await irisctl(['backup', 'delete', second, '--dir', source.dir]);
    expect(r.code, r.stderr).to.equal(0);
    expect(fs.existsSync(path.join(backupDir, second))).to.equal(false);
    const list = JSON.parse((await irisctl(['backup', 'list', '--dir', source.dir, '--json'])).stdout) as Array<{ id: string }>;
    expect(list.map((b) => b.id)).to.not.include(second);
    expect(list.map((b) => b.id)).to.include(id);
  });
});
