/**
 * irisdb_archive_lag_sequences on a real node (issue #15): scraped right
 * after an acknowledged write, it counts that write, also when the archive
 * had just caught up (the gauge is computed at scrape; it used to be set by
 * the archiver and read 0 until its next run). Then it returns to 0 once
 * the segment is stored.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Cluster } from 'ioredis';
import { LocalCluster } from '../support/local-cluster.js';
import { clusterClient } from '../support/backup-fixture.js';
import { waitFor } from '../support/wait.js';

describe('archive lag gauge on a node (computed at scrape)', function () {
  this.timeout(120_000);
  let cluster: LocalCluster;
  let client: Cluster;
  let destDir: string;

  before(async () => {
    destDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-archive-lag-'));
    cluster = await LocalCluster.start({
      shards: 1, replicas: 0, extraArgs: ['--archive-destination', `file://${destDir}`],
      env: { IRIS_ARCHIVE_SEGMENT_SECONDS: '1' },
    });
    client = await clusterClient(cluster);
  });

  after(async () => {
    client?.disconnect();
    await cluster?.destroy();
    if (destDir !== undefined) await fs.promises.rm(destDir, { recursive: true, force: true });
  });

  let metricsUrl = '';
  async function lag(): Promise<number> {
    if (metricsUrl === '') {
      const s = (await cluster.status()).shards[0]!;
      metricsUrl = `${s.nodes.find((n) => n.name === s.primary)!.httpUrl!}/metrics`;
    }
    const text = await (await fetch(metricsUrl)).text();
    return Number(/^irisdb_archive_lag_sequences (\S+)$/m.exec(text)?.[1] ?? NaN);
  }

  it('counts a write scraped right after it, each time after the archive caught up', async () => {
    for (let round = 0; round < 5; round++) {
      await waitFor('the archive to catch up', async () => ((await lag()) === 0 ? true : null), { timeoutMs: 30_000, intervalMs: 100 });
      await client.set(`lag:${round}`, 'v');
      expect(await lag(), `round ${round}: lag right after an acknowledged write`).to.be.at.least(1);
    }
    await waitFor('the last write to be archived', async () => ((await lag()) === 0 ? true : null), { timeoutMs: 30_000, intervalMs: 100 });
  });
});
