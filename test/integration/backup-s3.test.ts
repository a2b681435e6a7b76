/**
 * Backups to S3-compatible object storage (issue #15) against a real
 * server: SeaweedFS (test/support/s3-server.ts) with signed requests.
 * Backup (brotli) → more writes → restore into a new cluster equals the
 * data at the backup point; credentials reach the controller from irisctl's
 * AWS_* environment and are never written to its record; an S3 server
 * killed in the middle of a backup ends it Failed with no top-level
 * manifest (or, if the upload won the race, Completed and restorable).
 */
import fs from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import type { BackupRecord } from '../../operator/core/backup-state.js';
import { LocalCluster } from '../support/local-cluster.js';
import { S3Server } from '../support/s3-server.js';
import { clusterClient, createBackup, expectRestored, irisctl, readState, writeDataset, type KeyState } from '../support/backup-fixture.js';
import { waitFor } from '../support/wait.js';

const BUCKET = 'irisdb-backups';
const URL = `s3://${BUCKET}/team/prod`;

describe('backup and restore (S3 destination, SeaweedFS)', function () {
  this.timeout(400_000);
  let s3: S3Server;
  let source: LocalCluster;
  let atBackup: Map<string, KeyState>;
  let id: string;
  const started: LocalCluster[] = [];

  before(async () => {
    s3 = await S3Server.start();
    await s3.createBucket(BUCKET);
    source = await LocalCluster.start({ shards: 3, replicas: 1 });
    const client = await clusterClient(source);
    try {
      const keys = await writeDataset(client, 3000, 3_600_000);
      atBackup = await readState(client, keys);
      id = await createBackup(source, URL, s3.env, ['--compression', 'brotli']);
      await writeDataset(client, 300, 3_600_000, 'after');
    } finally {
      client.disconnect();
    }
  });

  after(async () => {
    for (const c of started) await c.destroy();
    await source?.destroy();
    await s3?.destroy();
  });

  it('stores the backup with its manifests and keeps the credentials out of the record', async () => {
    const c = s3.client();
    try {
      for (const key of [`team/prod/${id}/manifest.json`, `team/prod/${id}/shard-0/manifest.json`, `team/prod/${id}/shard-2/chunk-000001.irbk`]) {
        await c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      }
    } finally {
      c.destroy();
    }
    const record = await fs.promises.readFile(path.join(source.dir, 'controller.json'), 'utf8');
    expect(record).to.contain(id);
    expect(record).to.not.contain(s3.secretAccessKey);
  });

  it('restores into a new cluster: the data at the backup point', async () => {
    const restored = await LocalCluster.start({ shards: 3, replicas: 1, env: s3.env, extraArgs: ['--restore-from', URL, '--backup', id] });
    started.push(restored);
    await expectRestored(restored, atBackup, Date.now());
  });

  it('an S3 server killed mid-backup: the backup ends Failed without a top-level manifest (or Completed and restorable)', async () => {
    const r = await irisctl(['backup', 'create', '--dir', source.dir, '--destination', URL], s3.env);
    expect(r.code, r.stderr).to.equal(0);
    const second = r.stdout.trim();
    await waitFor('a shard snapshot to be running', async () => {
      const b = await source.client.backup(second);
      return b.phase !== 'Running' || b.shards.some((s) => s.state === 'running') ? true : null;
    }, { timeoutMs: 30_000, intervalMs: 10 });
    await s3.kill();
    const b: BackupRecord = await waitFor(`backup ${second} to end`, async () => {
      const x = await source.client.backup(second);
      return x.phase !== 'Running' ? x : null;
    }, { timeoutMs: 240_000, intervalMs: 250 });
    await s3.start();
    const c = s3.client();
    let hasManifest: boolean;
    try {
      hasManifest = await c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `team/prod/${second}/manifest.json` })).then(() => true, () => false);
    } finally {
      c.destroy();
    }
    expect(hasManifest).to.equal(b.phase === 'Completed');
    if (b.phase === 'Failed') {
      expect(b.message ?? '').to.match(/attempts failed|finalizing/);
      // A restore of it is refused before anything starts.
      const dir = await fs.promises.mkdtemp(path.join(source.dir, '..', 'irisdb-restore-refused-'));
      try {
        const res = await irisctl(['local', 'up', '--dir', dir, '--restore-from', URL, '--backup', second], s3.env, 60_000);
        expect(res.code).to.equal(1);
        expect(res.stderr).to.contain('has no manifest');
      } finally {
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    }
  });
});
