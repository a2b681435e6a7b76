/**
 * A shard backup and its restore on real SQLite files and a real directory
 * destination, without processes (node/backup/shard-backup.ts,
 * node/backup/restore.ts): one source database holding all slots, backed up
 * as one shard, restored into 3 targets (each row in the target owning its
 * slot, expired rows left out, values as stored); a missing chunk, a chunk
 * from another backup and a changed digest are each refused naming the
 * object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { FileDestination } from '../../common/backup/file-destination.js';
import { BACKUP_FORMAT_VERSION, backupKeys, type ClusterManifest } from '../../common/backup/manifest.js';
import { evenSlotRanges, rangesToSlots } from '../../common/cluster-map.js';
import { keySlot } from '../../common/slot.js';
import { openDatabase } from '../../node/engine/database.js';
import { Statements } from '../../node/engine/statements.js';
import { restoreBackup, RestoreError } from '../../node/backup/restore.js';
import { runShardBackup } from '../../node/backup/shard-backup.js';

const NOW = Date.UTC(2026, 11, 6);
const ID = 'backup-20261206T000000Z-1';

describe('shard backup and restore on files (node/backup)', function () {
  this.timeout(30_000);
  let tmp: string;
  let dest: FileDestination;

  beforeEach(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-backup-files-'));
    dest = new FileDestination(path.join(tmp, 'dest'));
    const src = openDatabase(path.join(tmp, 'src'), 'batch');
    const insert = new Statements(src.db).insert;
    src.db.transaction(() => {
      for (let i = 0; i < 3000; i++) {
        const key = Buffer.from(`k${i}`);
        const expiresAt = i % 10 === 0 ? NOW - 1000 : i % 7 === 0 ? NOW + 3_600_000 : null;
        insert.run(key, keySlot(key), 0, expiresAt, i + 1, Buffer.from(`value-${i}`));
      }
    })();
    src.db.close();
    const priorityBefore = os.getPriority();
    const progress = { seq: null, keysTotal: 0, keysDone: 0, bytes: 0, chunks: 0, niceness: null as number | null };
    const shard = await runShardBackup({
      backupId: ID, cluster: 'iris', shard: 'shard-0', node: 'iris-shard-0-0', slots: [[0, 16383]], mapEpoch: 1, shardEpoch: 1,
      dbFile: path.join(tmp, 'src', 'irisdb.sqlite'), compression: 'gzip', chunkBytes: 16 * 1024, destination: dest,
      chunkDestination: { url: `file://${path.join(tmp, 'dest')}`, s3CredentialsDir: '' }, now: () => NOW,
    }, progress);
    expect(shard.manifest.keys).to.equal(2700);
    expect(progress.keysDone).to.equal(3000);
    // The reading thread ran at a lowered priority (Linux), the test process's own left as it was.
    if (process.platform === 'linux') expect(progress.niceness).to.be.at.least(10);
    expect(os.getPriority()).to.equal(priorityBefore);
    expect(shard.manifest.chunks.length).to.be.at.least(3);
    const manifest: ClusterManifest = {
      formatVersion: BACKUP_FORMAT_VERSION, backupId: ID, cluster: 'iris',
      map: { epoch: 1, nodes: [{ name: 'iris-shard-0-0', host: '127.0.0.1', port: 1, busPort: 2 }], shards: [{ id: 'shard-0', slots: [[0, 16383]], primary: 'iris-shard-0-0', replicas: [] }] } as unknown as ClusterManifest['map'],
      shards: [{ shard: 'shard-0', manifest: shard.key, sha256: shard.sha256, keys: 2700, bytes: shard.manifest.bytes }],
      keys: 2700, bytes: shard.manifest.bytes, startedAt: 'a', finishedAt: 'b',
    };
    await dest.put(backupKeys.manifest(ID), Buffer.from(JSON.stringify(manifest)));
  });

  afterEach(async () => {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  });

  /** Fresh target directories (the caller removes them after a failed restore, as operator/local/restore.ts does). */
  const targets = (): Array<{ slots: Array<readonly [number, number]>; dataDir: string }> => {
    const t = evenSlotRanges(3).map((r, i) => ({ slots: [r], dataDir: path.join(tmp, `t${i}`) }));
    for (const x of t) fs.rmSync(x.dataDir, { recursive: true, force: true });
    return t;
  };

  it('restores every live row into the target owning its slot, as stored', async () => {
    const t = targets();
    // Restored later than the backup: the rows with a 1-hour TTL have expired by then too.
    const r = await restoreBackup(dest, ID, t, NOW + 7_200_000);
    // Never into data that is already there.
    await restoreBackup(dest, ID, t, NOW).then(() => expect.fail('restored twice'), (err: Error) => expect(err.message).to.contain('already holds data'));
    const withTtl = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 10 !== 0 && i % 7 === 0).length;
    expect(r).to.deep.include({ keysInBackup: 2700, keysRestored: 2700 - withTtl, keysExpired: withTtl });
    let total = 0;
    for (const [i, target] of t.entries()) {
      const db = openDatabase(target.dataDir, 'batch');
      const owned = new Set(rangesToSlots(target.slots));
      const rows = db.db.prepare('SELECT key, slot, expires_at, version, value FROM kv').raw().all() as Array<[Buffer, number, number | null, number, Buffer]>;
      for (const [key, slot, expiresAt, version, value] of rows) {
        expect(owned.has(slot), `target ${i} holds slot ${slot}`).to.equal(true);
        expect(slot).to.equal(keySlot(key));
        const n = Number(key.toString().slice(1));
        expect(value.toString()).to.equal(`value-${n}`);
        expect(version).to.equal(n + 1);
        expect(expiresAt).to.equal(null);
      }
      total += rows.length;
      expect(rows.length).to.equal(r.perTarget[i]);
      db.db.close();
    }
    expect(total).to.equal(2700 - withTtl);
  });

  it('refuses a missing chunk, a chunk swapped for another, and a manifest whose digests differ', async () => {
    const shardKey = backupKeys.shardManifest(ID, 'shard-0');
    const root = path.join(tmp, 'dest');
    const chunk2 = path.join(root, ...backupKeys.chunk(ID, 'shard-0', 2).split('/'));
    const chunk3 = path.join(root, ...backupKeys.chunk(ID, 'shard-0', 3).split('/'));
    const saved2 = await fs.promises.readFile(chunk2);

    await fs.promises.rm(chunk2);
    await restoreBackup(dest, ID, targets(), NOW).then(() => expect.fail('restored without a chunk'), (err: Error) => {
      expect(err).to.be.instanceOf(RestoreError);
      expect(err.message).to.contain('chunk-000002.irbk').and.contain('does not exist');
    });

    await fs.promises.writeFile(chunk2, await fs.promises.readFile(chunk3));
    await restoreBackup(dest, ID, targets(), NOW).then(() => expect.fail('restored a swapped chunk'), (err: Error) => {
      expect(err.message).to.contain('chunk-000002.irbk').and.contain('SHA-256 does not match');
    });

    // A manifest rewritten consistently (its checksum too) but with one digest changed: caught at the end of the shard.
    await fs.promises.writeFile(chunk2, saved2);
    const m = JSON.parse((await dest.get(shardKey)).toString()) as { slotDigests: Array<{ hash: string }> };
    m.slotDigests[0]!.hash = '0000000000000000';
    const text = Buffer.from(JSON.stringify(m));
    await dest.put(shardKey, text);
    const top = JSON.parse((await dest.get(backupKeys.manifest(ID))).toString()) as ClusterManifest;
    await dest.put(backupKeys.manifest(ID), Buffer.from(JSON.stringify({ ...top, shards: [{ ...top.shards[0]!, sha256: createHash('sha256').update(text).digest('hex') }] })));
    await restoreBackup(dest, ID, targets(), NOW).then(() => expect.fail('restored with a wrong digest'), (err: Error) => {
      expect(err.message).to.contain(`${ID}/shard-0/manifest.json`).and.contain('per-slot digests differ');
    });
  });
});
