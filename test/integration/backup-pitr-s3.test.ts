/**
 * Log archiving and point-in-time restore against real S3 (SeaweedFS,
 * signed requests; issue #15): the nodes get the credentials from the
 * inherited AWS_* environment, segments land under the URL's prefix, and a
 * restore to T holds the writes acknowledged before T and none issued
 * after; archive retention deletes the segments wholly before the backup
 * through the S3 API.
 */
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parseSegmentKey } from '../../common/backup/segment.js';
import { expect } from 'chai';
import { LocalCluster } from '../support/local-cluster.js';
import { S3Server } from '../support/s3-server.js';
import { clusterClient, createBackup } from '../support/backup-fixture.js';
import { waitFor } from '../support/wait.js';

const BUCKET = 'irisdb-archive';
const URL = `s3://${BUCKET}/prod`;

describe('log archiving and point-in-time restore (S3 destination, SeaweedFS)', function () {
  this.timeout(300_000);
  let s3: S3Server;
  let source: LocalCluster;
  const started: LocalCluster[] = [];
  let backupId: string;

  async function primaryMetrics(): Promise<string> {
    const st = await source.status();
    const p = st.shards[0]!.nodes.find((n) => n.name === st.shards[0]!.primary)!;
    return (await fetch(`${p.httpUrl!}/metrics`)).text();
  }

  before(async () => {
    s3 = await S3Server.start();
    await s3.createBucket(BUCKET);
    source = await LocalCluster.start({ shards: 1, replicas: 0, env: { ...s3.env, IRIS_ARCHIVE_SEGMENT_SECONDS: '1' }, extraArgs: ['--archive-destination', URL] });
  });

  after(async () => {
    for (const c of started) await c.destroy();
    await source?.destroy();
    await s3?.destroy();
  });

  it('archives to S3 and restores to a point in time', async () => {
    const client = await clusterClient(source);
    let t: number;
    let lateSentAt = 0;
    try {
      for (let i = 0; i < 100; i++) await client.set(`k:${i}`, 'base');
      // The base writes archived first: their segments are then wholly before the backup (retention's to delete).
      await waitFor('the base writes to be archived', async () => (/^irisdb_archive_lag_sequences 0$/m.test(await primaryMetrics()) ? true : null), { timeoutMs: 60_000, intervalMs: 200 });
      backupId = await createBackup(source, URL, s3.env);
      for (let i = 0; i < 100; i++) await client.set(`k:${i}`, 'before-t');
      t = Date.now();
      await waitFor('the clock to pass T', async () => (Date.now() > t + 1 ? true : null), { timeoutMs: 1000, intervalMs: 1 });
      for (let i = 0; i < 50; i++) await client.set(`k:${i}`, 'after-t');
      lateSentAt = Date.now();
      await client.set('late', 'x');
    } finally {
      client.disconnect();
    }
    const st = await source.status();
    const p = st.shards[0]!.nodes.find((n) => n.name === st.shards[0]!.primary)!;
    await waitFor('the archive to catch up', async () => {
      const text = await (await fetch(`${p.httpUrl!}/metrics`)).text();
      // The lag gauge is set when the archiver runs (it may read 0 right after a write): the last write's batch must be archived too.
      const lastArchived = Number(/^irisdb_archive_last_archived_timestamp_seconds (\S+)$/m.exec(text)?.[1] ?? 0) * 1000;
      return /^irisdb_archive_lag_sequences 0$/m.test(text) && /^irisdb_archive_segments_total [1-9]/m.test(text) && lastArchived >= lateSentAt - 1 ? true : null;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    const c = s3.client();
    try {
      const listed = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'prod/archive/shard-0/' }));
      expect(listed.KeyCount ?? 0).to.be.greaterThan(0);
    } finally {
      c.destroy();
    }
    const restored = await LocalCluster.start({ shards: 2, replicas: 0, env: s3.env, extraArgs: ['--restore-from', URL, '--point-in-time', new Date(t).toISOString()] });
    started.push(restored);
    const got = await restored.getAll([...Array.from({ length: 100 }, (_, i) => `k:${i}`), 'late']);
    // Every key differing, with its value ('base': a write before T not replayed; 'after-t': one after T replayed).
    const wrong = got.slice(0, 100).map((v, i) => [`k:${i}`, v] as const).filter(([, v]) => v !== 'before-t');
    expect(wrong, `restored to ${new Date(t).toISOString()} (logs in ${restored.dir})`).to.deep.equal([]);
    expect(got[100]).to.equal(null);
  });

  it('retention deletes the archived segments wholly before the backup (S3 DeleteObject)', async () => {
    const c = s3.client();
    try {
      const m = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: `prod/${backupId}/shard-0/manifest.json` }));
      const endSeq = (JSON.parse(await m.Body!.transformToString()) as { endSeq: number }).endSeq;
      const segments = async () => ((await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'prod/archive/shard-0/' }))).Contents ?? [])
        .map((o) => parseSegmentKey(o.Key!.slice('prod/'.length))).filter((n) => n !== null);
      // The controller prunes with each read of the window: at once after the backup completed, then every 30 s.
      const left = await waitFor('the pre-backup segments to be deleted', async () => {
        const names = await segments();
        return names.every((n) => n!.lastSeq > endSeq) ? names : null;
      }, { timeoutMs: 45_000, intervalMs: 500 });
      expect(left.length, 'the segments after the backup stay').to.be.greaterThan(0);
      expect(await fs.promises.readFile(path.join(source.dir, 'logs', 'controller.log'), 'utf8')).to.match(/archive segments deleted: no kept backup needs them/);
    } finally {
      c.destroy();
    }
  });
});
