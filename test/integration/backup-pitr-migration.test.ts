/**
 * Point-in-time restore across a live slot migration (issue #15,
 * docs/backup.md "Point-in-time restore across slot migrations"): a
 * 2-shard cluster archives its logs (file:// destination); a full backup;
 * writes; a live scale-out to 3 shards (slots of both shards move to the
 * new shard-2 while a writer goes on; the old owners delete their copies
 * after the flip); writes to the moved keys on their new owner, including
 * deletes; T; more writes. A restore to T, into 2 shards and into 1, holds
 * every write acknowledged before T with its latest value and none issued
 * after: no moved key comes back with its old owner's value or is deleted
 * by the old owner's cleanup, and shard-2 (absent from the backup) is
 * replayed from its first entry.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { keySlot } from '../../common/slot.js';
import { LocalCluster } from '../support/local-cluster.js';
import { clusterClient, createBackup } from '../support/backup-fixture.js';
import { PitrHistory } from '../support/pitr-history.js';
import { waitFor } from '../support/wait.js';

const KEYS = 300;
const SHORT_TTL_MS = 1500;

describe('point-in-time restore across a live slot migration (file destination)', function () {
  this.timeout(400_000);
  let source: LocalCluster;
  let destDir: string;
  let url: string;
  let pointInTime: number;
  let moved: string[] = [];
  const history = new PitrHistory(SHORT_TTL_MS);
  const started: LocalCluster[] = [];

  before(async () => {
    destDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-pitr-mig-'));
    url = `file://${destDir}`;
    source = await LocalCluster.start({ shards: 2, replicas: 0, extraArgs: ['--archive-destination', url], env: { IRIS_ARCHIVE_SEGMENT_SECONDS: '1' } });
    const client = await clusterClient(source);
    const key = (i: number): string => `m:${i}`;
    try {
      for (let i = 0; i < KEYS; i++) await history.write(client, key(i), 'base');
      await createBackup(source, url);
      for (let i = 0; i < KEYS; i += 2) await history.write(client, key(i), `p1-${i}`);

      // A live scale-out while a writer goes on: slots of both shards move to the new shard-2.
      await source.client.scale({ shards: 3 });
      let stop = false;
      const writer = (async () => {
        for (let n = 0; !stop && n < 5000; n++) await history.write(client, key((n * 7) % KEYS), `mig-${n}`);
      })();
      try {
        await source.waitReady(240_000);
      } finally {
        stop = true;
        await writer;
      }
      const st = await source.status();
      expect(st.shards.map((s) => s.id)).to.deep.equal(['shard-0', 'shard-1', 'shard-2']);
      const map = (await source.nodeMaps()).find((n) => n.map !== null)!.map!;
      const shard2 = map.shards.find((s) => s.id === 'shard-2')!.slots;
      moved = Array.from({ length: KEYS }, (_, i) => key(i)).filter((k) => shard2.some(([a, b]) => keySlot(k) >= a && keySlot(k) <= b));
      expect(moved.length, 'keys that moved to shard-2').to.be.greaterThan(KEYS / 5);

      // On the new owner: overwrites, deletes, new keys and a short TTL; then T; then more writes everywhere.
      for (const [j, k] of moved.entries()) await history.write(client, k, j % 5 === 0 ? null : `p2-${j}`);
      for (let i = 0; i < 50; i++) await history.write(client, `new:${i}`, `p2-${i}`, i === 0);
      pointInTime = Date.now();
      await waitFor('the clock to pass T', async () => (Date.now() > pointInTime + 1 ? true : null), { timeoutMs: 1000, intervalMs: 1 });
      for (let i = 0; i < KEYS; i += 3) await history.write(client, key(i), `p3-${i}`);
      for (let i = 0; i < 20; i++) await history.write(client, `late:${i}`, 'p3');
    } finally {
      client.disconnect();
    }
    // Every primary's archive holds everything it committed.
    await waitFor('the archive to catch up', async () => {
      const s = await source.status();
      const lags = await Promise.all(s.shards.map(async (sh) => {
        const p = sh.nodes.find((n) => n.name === sh.primary)!;
        const text = await (await fetch(`${p.httpUrl!}/metrics`)).text();
        return Number(/^irisdb_archive_lag_sequences (\S+)$/m.exec(text)?.[1] ?? NaN);
      }));
      return lags.length === 3 && lags.every((l) => l === 0) ? true : null;
    }, { timeoutMs: 60_000, intervalMs: 200 });
  });

  after(async () => {
    for (const c of started) await c.destroy();
    await source?.destroy();
    if (destDir !== undefined) await fs.promises.rm(destDir, { recursive: true, force: true });
  });

  it('the old owners deleted the moved keys after the flip (what a naive replay would resurrect or lose); all three shards archived', async () => {
    const got = await source.getAll(moved);
    expect(got.filter((v) => v !== null).length, 'moved keys readable on their new owner').to.be.greaterThan(0);
    // The old owners hold none of them any more: their cleanup deletes are in their archived logs.
    const slots = [...new Set(moved.map((k) => keySlot(k)))];
    for (const id of ['shard-0', 'shard-1']) {
      const node = await source.node((await source.shard(id)).primary!);
      const direct = new Redis({ host: '127.0.0.1', port: node.port!, lazyConnect: true });
      try {
        await direct.connect();
        const counts = await Promise.all(slots.map((s) => direct.call('CLUSTER', 'COUNTKEYSINSLOT', String(s)) as Promise<number>));
        expect(counts.reduce((a, b) => a + b, 0), `${id}: keys left in the moved slots`).to.equal(0);
      } finally {
        direct.disconnect();
      }
    }
    expect((await fs.promises.readdir(path.join(destDir, 'archive'))).sort()).to.deep.equal(['shard-0', 'shard-1', 'shard-2']);
  });

  it('restores to T into 2 shards: every write acknowledged before T with its latest value, none issued after', async () => {
    const restored = await LocalCluster.start({ shards: 2, replicas: 0, extraArgs: ['--restore-from', url, '--point-in-time', new Date(pointInTime).toISOString()] });
    started.push(restored);
    const checked = await history.checkRestored(restored, pointInTime);
    expect(checked).to.be.greaterThan(KEYS);
    expect(restored.output()).to.match(/shard-2 to \S+/);
    const want = history.expectedAt(pointInTime);
    const got = await restored.getAll(moved);
    // The moved keys: their new owner's values (or its deletes), not the backup's or the old owner's.
    expect(moved.filter((k, i) => want.get(k) !== undefined && got[i] !== want.get(k))).to.deep.equal([]);
    expect(got.filter((v) => v !== null && v.startsWith('p2-')).length).to.be.greaterThan(moved.length / 2);
    expect(await restored.getAll(['late:0', 'new:0'])).to.deep.equal([null, null]);
    await restored.destroy();
  });

  it('restores to T into 1 shard the same way', async () => {
    const restored = await LocalCluster.start({ shards: 1, replicas: 0, extraArgs: ['--restore-from', url, '--point-in-time', new Date(pointInTime).toISOString()] });
    started.push(restored);
    expect(await history.checkRestored(restored, pointInTime)).to.be.greaterThan(KEYS);
    await restored.destroy();
  });
});
