/**
 * Scheduled backups of a local cluster (issue #15): `irisctl local up
 * --backup-schedule CRON --backup-destination URL --backup-keep N` takes a
 * backup on every run of the schedule (here every 4 seconds, with the
 * seconds field), and retention deletes the older scheduled backups, their
 * objects first, keeping the newest N completed ones; a controller killed
 * and restarted goes on with the recorded schedule.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LocalCluster } from '../support/local-cluster.js';
import { clusterClient, writeDataset } from '../support/backup-fixture.js';
import { waitFor } from '../support/wait.js';

describe('scheduled backups and retention (local cluster)', function () {
  this.timeout(240_000);
  let cluster: LocalCluster;
  let dest: string;

  before(async () => {
    dest = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-scheduled-'));
    cluster = await LocalCluster.start({
      shards: 2, replicas: 0,
      extraArgs: ['--backup-schedule', '*/4 * * * * *', '--backup-destination', `file://${dest}`, '--backup-keep', '2'],
    });
    const client = await clusterClient(cluster);
    try {
      await writeDataset(client, 500, 3_600_000);
    } finally {
      client.disconnect();
    }
  });

  after(async () => {
    await cluster?.destroy();
    if (dest !== undefined) await fs.promises.rm(dest, { recursive: true, force: true });
  });

  it('takes a backup on schedule and keeps only the newest completed ones, objects included', async () => {
    const seen = new Set<string>();
    const poll = async (want: number) => waitFor(`${want} scheduled backups`, async () => {
      const list = await cluster.client.listBackups();
      for (const b of list) seen.add(b.id);
      return seen.size >= want ? list : null;
    }, { timeoutMs: 90_000, intervalMs: 200 });
    await poll(3);
    await cluster.killController();
    cluster.spawnController();
    await cluster.waitReady(60_000);
    await poll(seen.size + 2);
    // Retention runs on the tick after a backup completes: wait for it to settle.
    const list = await waitFor('retention to keep at most 2 completed', async () => {
      const l = await cluster.client.listBackups();
      return l.filter((b) => b.phase === 'Completed').length <= 2 && l.some((b) => b.phase === 'Completed') ? l : null;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(list.every((b) => b.scheduled === true)).to.equal(true);
    const kept = new Set(list.map((b) => b.id));
    const onDisk = await fs.promises.readdir(dest);
    const deleted = [...seen].filter((id) => !kept.has(id));
    expect(deleted.length).to.be.greaterThan(0);
    // Every deleted backup's objects are gone; what is on disk is a backup still listed (the running one may be mid-way).
    for (const id of deleted) expect(onDisk, `objects of deleted ${id}`).to.not.include(id);
    // A backup may start between the list and the directory read: it is in the next list.
    for (const b of await cluster.client.listBackups()) kept.add(b.id);
    for (const d of onDisk) expect(kept.has(d), `${d} on disk but not listed`).to.equal(true);
    for (const b of list.filter((x) => x.phase === 'Completed')) expect(fs.existsSync(path.join(dest, b.id, 'manifest.json'))).to.equal(true);
  });
});
