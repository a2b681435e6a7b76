/**
 * Issue #14: turning encryption at rest on for existing data leaves no old
 * plaintext in the node's files once `irisctl re-encrypt` reports done. A
 * real node process writes distinctive values in clear (some overwritten,
 * some deleted, some large enough for overflow pages), is restarted with a
 * keyring, re-encrypts, and then no value — live, overwritten or deleted —
 * occurs as bytes in any file of its data directory (database, -wal, -shm,
 * anything else), while every live value still reads back, also after a
 * restart. Before re-encrypting, the same search finds the values, so the
 * check can fail.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { EncryptionAdminClient } from '../../common/encryption-client.js';
import type { EncryptionStatus } from '../../common/encryption-admin.js';
import { CLUSTER_TOKEN, startNamedNode, type ShardNode } from '../support/repl-shard.js';
import { makeTempDir } from '../support/node-process.js';
import { markersInFiles, newKey, writeKeyring } from '../support/keyring-files.js';
import { waitFor } from '../support/wait.js';

/** 48 random hex characters: no chance of occurring anywhere by accident. */
const marker = (tag: string): string => `${tag}-${randomBytes(24).toString('hex')}`;
/** Values stay uncompressed (the search looks for their bytes as written). */
const RAW = ['--compression-threshold-bytes', String(64 * 1024 * 1024)];

async function reencryptDone(client: EncryptionAdminClient): Promise<EncryptionStatus> {
  return waitFor('re-encryption to finish', async () => {
    const s = await client.encryption();
    if (s.reencrypt.state === 'failed') throw new Error(`re-encryption failed: ${s.reencrypt.error}`);
    return s.reencrypt.state === 'done' ? s : null;
  }, { timeoutMs: 60_000, intervalMs: 100 });
}

async function readAll(port: number, live: ReadonlyMap<string, string>, gone: readonly string[]): Promise<void> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true });
  try {
    await r.connect();
    for (const [k, v] of live) expect(await r.get(k), k).to.equal(v);
    for (const k of gone) expect(await r.get(k), k).to.equal(null);
  } finally {
    r.disconnect();
  }
}

describe('encryption turned on for existing data: no old plaintext left on disk after re-encrypt (issue #14)', function () {
  this.timeout(180_000);
  let dir: string;
  let node: ShardNode | undefined;

  before(async () => {
    dir = await makeTempDir('irisdb-enc-remnants-');
  });
  after(async () => {
    await node?.node.kill9();
    if (node !== undefined) await fs.promises.rm(node.node.dataDir, { recursive: true, force: true });
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('values written in clear (live, overwritten, deleted, large) are found before and in no file after re-encrypt; data reads back', async () => {
    node = await startNamedNode('remnants', { minSyncReplicas: 0, args: RAW });
    const live = new Map<string, string>();
    const goneValues: string[] = [];
    const goneKeys: string[] = [];
    const r = new Redis(node.node.port, '127.0.0.1');
    try {
      for (let i = 0; i < 400; i++) {
        // Some values span overflow pages (several KiB), most fit in a leaf page.
        const v = i % 40 === 0 ? marker(`big${i}`).repeat(200) : marker(`v${i}`);
        live.set(`rem:${i}`, v);
        expect(await r.set(`rem:${i}`, v)).to.equal('OK');
      }
      for (let i = 0; i < 100; i++) {
        // Overwritten with a value of another size (the old cell is freed, not overwritten in place)...
        const k = `rem:${i * 3}`;
        goneValues.push(live.get(k)!);
        const v = marker(`new${i}`).repeat(1 + (i % 3));
        live.set(k, v);
        expect(await r.set(k, v)).to.equal('OK');
      }
      for (let i = 0; i < 60; i++) {
        // ...and deleted.
        const k = `rem:${i * 5 + 1}`;
        if (!live.has(k)) continue;
        goneValues.push(live.get(k)!);
        live.delete(k);
        goneKeys.push(k);
        expect(await r.del(k)).to.equal(1);
      }
    } finally {
      r.disconnect();
    }
    expect(await node.node.stop()).to.equal(0);
    const all = [...live.values(), ...goneValues];
    // The control: in clear, the search finds every live value and deleted ones too.
    const before = markersInFiles(node.node.dataDir, all);
    expect(before.size, 'values found in clear before encryption').to.be.at.least(live.size);

    const keyFile = path.join(dir, 'keyring');
    writeKeyring(keyFile, [newKey('k1')]);
    const dataDir = node.node.dataDir;
    node = await startNamedNode('remnants', { minSyncReplicas: 0, dataDir, args: [...RAW, '--encryption-key-file', keyFile, '--reencrypt-batch-keys', '50'] });
    const admin = new EncryptionAdminClient(node.node.url, CLUSTER_TOKEN);
    await admin.reencrypt();
    const done = await reencryptDone(admin);
    expect(done.valuesByKeyId).to.deep.equal({ k1: live.size });
    expect(done.reencrypt.rewrittenLogBatches, 'log batches written in clear, re-sealed').to.be.greaterThan(0);
    expect(done.reencrypt.plaintextScrub).to.include({ clean: true, vacuumed: true, walTruncated: true });

    // As soon as it reports done, with the node still running: no value in clear in any file.
    const files = fs.readdirSync(dataDir);
    const found = markersInFiles(dataDir, all);
    expect([...found.entries()].map(([m, f]) => `${m.slice(0, 20)}… in ${f.map((x) => path.basename(x)).join(', ')}`), `values in clear (files: ${files.join(', ')})`).to.deep.equal([]);
    // The keys themselves stay in clear (slots and scans need them): the search did read the files.
    expect(markersInFiles(dataDir, [...live.keys()].slice(0, 20)).size).to.equal(20);

    await readAll(node.node.port, live, goneKeys);
    expect(await node.node.stop()).to.equal(0);
    node.node = await node.node.restart();
    await readAll(node.node.port, live, goneKeys);
    expect(await node.node.stop()).to.equal(0);
    expect([...markersInFiles(dataDir, all).keys()], 'values in clear after a restart and a stop').to.deep.equal([]);
  });
});
