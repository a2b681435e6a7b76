/**
 * Issue #14, encryption at rest of backups (file destination), through
 * irisctl as a user runs it: a local cluster started with
 * --encryption-key-file writes backup chunks that hold no value in clear
 * (the manifest names the key id); a restore with the keyring brings every
 * value back; a restore without the key fails naming its key id and starts
 * nothing; archived log segments hold no value in clear and replay into
 * encrypted storage. Also `irisctl re-encrypt --wait` over the whole cluster
 * after a new key is added, and a scale-out whose migrated and resynced
 * rows stay encrypted.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clusterClient, createBackup, irisctl, waitStreaming } from '../support/backup-fixture.js';
import { freeBasePort, LocalCluster } from '../support/local-cluster.js';
import { markersInFiles, newKey, writeKeyring, type TestKey } from '../support/keyring-files.js';
import { waitFor } from '../support/wait.js';

const KEYS = 300;

describe('encryption at rest: backups and irisctl re-encrypt (local cluster, file destination)', function () {
  this.timeout(300_000);
  let work = '';
  let keyFile = '';
  let k1: TestKey;
  let source: LocalCluster | undefined;
  const started: LocalCluster[] = [];
  let url = '';
  let id = '';
  const values = new Map<string, string>();
  const later = new Map<string, string>();

  before(async () => {
    work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-enc-backup-'));
    keyFile = path.join(work, 'keyring');
    k1 = newKey('k1');
    writeKeyring(keyFile, [k1]);
    url = `file://${path.join(work, 'backups')}`;
    source = await LocalCluster.start({
      shards: 2, replicas: 1, extraArgs: ['--encryption-key-file', keyFile, '--archive-destination', url], env: { IRIS_ARCHIVE_SEGMENT_SECONDS: '1' },
    });
    const client = await clusterClient(source);
    try {
      for (let i = 0; i < KEYS; i++) values.set(`ebk:${i}`, randomBytes(32).toString('hex'));
      await Promise.all([...values].map(([k, v]) => client.set(k, v)));
    } finally {
      client.disconnect();
    }
    await waitStreaming(source);
    id = await createBackup(source, url);
    // Writes after the backup reach a restore only through the archived log.
    const c2 = await clusterClient(source);
    try {
      for (let i = 0; i < 50; i++) later.set(`ebk:after:${i}`, randomBytes(32).toString('hex'));
      await Promise.all([...later].map(([k, v]) => c2.set(k, v)));
    } finally {
      c2.disconnect();
    }
    await waitFor('the archive to catch up', async () => {
      const st = await source!.status();
      const lags = await Promise.all(st.shards.map(async (sh) => {
        const p = sh.nodes.find((n) => n.name === sh.primary)!;
        const text = await (await fetch(`${p.httpUrl!}/metrics`)).text();
        return Number(/^irisdb_archive_lag_sequences (\S+)$/m.exec(text)?.[1] ?? NaN);
      }));
      return lags.every((l) => l === 0);
    }, { timeoutMs: 60_000, intervalMs: 250 });
  });

  after(async () => {
    for (const c of started) await c.destroy();
    await source?.destroy();
    if (work !== '') await fs.promises.rm(work, { recursive: true, force: true });
  });

  it('writes backup objects and archived segments with no value in clear; the manifests name the key id', async () => {
    const dir = path.join(work, 'backups');
    expect((await fs.promises.readdir(dir, { recursive: true })).filter((f) => f.endsWith('.irseg')).length, 'archived segments').to.be.greaterThan(0);
    const found = markersInFiles(dir, [...values.values(), ...later.values()]);
    expect([...found.keys()], 'values in clear in the backup or archive').to.deep.equal([]);
    const manifests = (await fs.promises.readdir(path.join(dir, id), { recursive: true })).filter((f) => f.endsWith('manifest.json') && f.includes('/'));
    expect(manifests.length).to.equal(2);
    for (const m of manifests) expect(JSON.parse(await fs.promises.readFile(path.join(dir, id, m), 'utf8')).encryptionKeyId).to.equal('k1');
  });

  it('restores with the keyring: every value back, the archived writes replayed and stored encrypted', async () => {
    const restored = await LocalCluster.start({ shards: 2, replicas: 0, extraArgs: ['--restore-from', url, '--backup', id, '--encryption-key-file', keyFile] });
    started.push(restored);
    expect(restored.output()).to.match(/replayed \d+ log entries from \d+ archived segments/);
    const client = await clusterClient(restored);
    try {
      for (const [k, v] of [...values, ...later]) expect(await client.get(k), k).to.equal(v);
    } finally {
      client.disconnect();
    }
    const inClear = markersInFiles(path.join(restored.dir, 'nodes'), [...values.values(), ...later.values()]);
    expect([...inClear.keys()], 'values in clear in the restored data').to.deep.equal([]);
  });

  for (const [what, keys] of [['no keyring', null], ['a keyring without k1', [newKey('k9')]]] as const) {
    it(`a restore with ${what} fails naming key id k1 and starts nothing`, async () => {
      const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-enc-restore-bad-'));
      try {
        const args = ['local', 'up', '--dir', dir, '--base-port', String(await freeBasePort()), '--shards', '2', '--restore-from', url, '--backup', id];
        if (keys !== null) {
          const other = path.join(dir, 'other-keyring');
          writeKeyring(other, keys);
          args.push('--encryption-key-file', other);
        }
        const r = await irisctl(args, {}, 60_000);
        expect(r.code).to.equal(1);
        expect(r.stderr).to.contain("key id 'k1'");
        expect(fs.existsSync(path.join(dir, 'controller.json'))).to.equal(false);
      } finally {
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('irisctl re-encrypt --wait moves every node to a new key, with progress', async () => {
    writeKeyring(keyFile, [k1, newKey('k2')]);
    // The nodes re-read the keyring within encryptionKeyFileCheckMs (1 s by default): re-encrypt targets the active key then.
    let r = await irisctl(['re-encrypt', '--dir', source!.dir, '--json'], {}, 30_000);
    // Every node (4) must have re-read it, or a node's job would target k1.
    const onK2 = (out: string): number => (out.match(/"activeKeyId": "k2"/g) ?? []).length;
    for (let i = 0; i < 50 && (r.code !== 0 || onK2(r.stdout) < 4); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      r = await irisctl(['re-encrypt', '--dir', source!.dir, '--json'], {}, 30_000);
    }
    r = await irisctl(['re-encrypt', '--dir', source!.dir, '--wait'], {}, 120_000);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/re-encrypt to key k2: \d\/4 nodes done/);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).to.equal(4);
    for (const l of lines) {
      expect(l, l).to.match(/active key k2, done, .*values per key: k2=/);
      expect(l, `${l}: values left under k1`).not.to.match(/\bk1=/);
    }
  });

  it('scales out 2 → 3: migrated and resynced rows stay encrypted and read back', async () => {
    const c = source!;
    await c.client.scale({ shards: 3 });
    const st = await c.waitReady(300_000);
    expect(st.shards.length).to.equal(3);
    const client = await clusterClient(c);
    try {
      for (const [k, v] of [...values, ...later]) expect(await client.get(k), k).to.equal(v);
    } finally {
      client.disconnect();
    }
    // The new shard's primary got its rows by slot migration, its replica by a full resync: as stored, sealed.
    const newShard = st.shards.find((sh) => sh.id === 'shard-2')!;
    expect(newShard.slotCount).to.be.greaterThan(0);
    const inClear = markersInFiles(path.join(c.dir, 'nodes'), [...values.values(), ...later.values()]);
    expect([...inClear.keys()], 'values in clear in any node of the rescaled cluster').to.deep.equal([]);
  });
});
