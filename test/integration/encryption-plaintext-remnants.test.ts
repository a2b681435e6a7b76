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
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { DB_FILE_NAME } from '../../node/engine/database.js';
import { EncryptionAdminClient } from '../../common/encryption-client.js';
import type { EncryptionStatus } from '../../common/encryption-admin.js';
import { CLUSTER_TOKEN, startNamedNode, type ShardNode } from '../support/repl-shard.js';
import { makeTempDir } from '../support/node-process.js';
import { markersInFiles, newKey, writeKeyring } from '../support/keyring-files.js';
import { GiveUp, waitFor } from '../support/wait.js';

/** 48 random hex characters: no chance of occurring anywhere by accident. */
const marker = (tag: string): string => `${tag}-${randomBytes(24).toString('hex')}`;
/** Values stay uncompressed (the search looks for their bytes as written). */
const VALUES_RAW = ['--compression-threshold-bytes', String(64 * 1024 * 1024)];

/** Every match of `re` (global) in any file under `dir`, files read as latin1. */
function markersMatching(dir: string, re: RegExp): Set<string> {
  const found = new Set<string>();
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    for (const m of fs.readFileSync(path.join(e.parentPath, e.name)).toString('latin1').matchAll(re)) found.add(m[0]);
  }
  return found;
}

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
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await node?.node.kill9();
    if (node !== undefined) await fs.promises.rm(node.node.dataDir, { recursive: true, force: true });
    node = undefined;
  });

  it('kill -9 during the final scrub (VACUUM or the WAL checkpoint after it) loses no acknowledged write; the job resumes, finishes and leaves no plaintext', async () => {
    node = await startNamedNode('remnants-kill', { minSyncReplicas: 0, args: VALUES_RAW });
    const N = 30_000;
    const acked = new Map<string, string>();
    const r = new Redis(node.node.port, '127.0.0.1');
    try {
      // ~40 MiB of values in clear: a VACUUM long enough to be caught in the middle.
      for (let b = 0; b < N; b += 1000) {
        const pipe = r.pipeline();
        const batch: Array<[string, string]> = [];
        for (let i = b; i < b + 1000; i++) batch.push([`kv:${i}`, marker(`k${i}`).repeat(20)]);
        for (const [k, v] of batch) pipe.set(k, v);
        const res = await pipe.exec();
        batch.forEach(([k, v], i) => { if (res?.[i]?.[0] === null) acked.set(k, v); });
      }
    } finally {
      r.disconnect();
    }
    expect(acked.size).to.equal(N);
    expect(await node.node.stop()).to.equal(0);
    const cleared = [...acked.values()];
    const tagOf = (v: string): string => v.slice(0, v.indexOf('-') + 49);
    const inClear = markersMatching(node.node.dataDir, /k\d+-[0-9a-f]{48}/g);
    expect(cleared.filter((v) => inClear.has(tagOf(v))).length, 'the search finds the values in clear before').to.equal(N);
    const keyFile = path.join(dir, 'keyring-kill');
    writeKeyring(keyFile, [newKey('k1')]);
    const dataDir = node.node.dataDir;
    const args = [...VALUES_RAW, '--encryption-key-file', keyFile, '--reencrypt-vacuum-max-bytes', String(1024 * 1024 * 1024)];
    node = await startNamedNode('remnants-kill', { minSyncReplicas: 0, dataDir, args });
    const admin = new EncryptionAdminClient(node.node.url, CLUSTER_TOKEN);
    const w = new Redis(node.node.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    w.on('error', () => undefined);
    await w.connect();
    // A reader of our own holds a read transaction on the database, so the scrub's WAL checkpoint (after its
    // VACUUM) waits for it and stays in phase 'checkpoint' until the kill: the kill lands in the scrub every time
    // instead of depending on a status request being answered in the moment before the VACUUM.
    const reader = new Database(path.join(dataDir, DB_FILE_NAME), { readonly: true, fileMustExist: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM sqlite_master').get();
    await admin.reencrypt();
    // Writes keep coming (each recorded once acknowledged) while pollers wait for the status to say the
    // job is in its scrub (scrubPhase 'vacuum': waiting for the turn it VACUUMs in; 'checkpoint': the WAL
    // holding the rebuilt database being truncated): kill -9 then. A node inside the VACUUM statement
    // answers no request, so which of the two the kill lands in is not chosen here.
    let writing = true;
    let inFlight: { k: string; v: string } | null = null;
    const writer = (async () => {
      for (let i = 0; writing && i < 1_000_000; i++) {
        const k = `kv:${(i * 7919) % N}`;
        const v = marker(`w${i}`);
        inFlight = { k, v };
        // A failed write: the node was killed (a rejection comes without yielding to the event loop: stop).
        if (!(await w.set(k, v).then(() => true, () => false))) break;
        acked.set(k, v);
        inFlight = null;
      }
    })();
    let last: EncryptionStatus | null = null;
    const seenPhases: string[] = [];
    // Three pollers, so that a status request is always waiting at the node when the job enters the phase.
    let atVacuum = false;
    const poll = (): Promise<boolean> => waitFor('the re-encryption at its VACUUM or the checkpoint after it', async () => {
      if (atVacuum) return true;
      const s = await admin.encryption();
      seenPhases.push(`${s.reencrypt.doneKeys}/${s.reencrypt.scrubPhase ?? '-'}`);
      if (s.reencrypt.state !== 'running') throw new GiveUp(`the job finished before the kill (state ${s.reencrypt.state}; seen ${seenPhases.slice(-8).join(' ')})`);
      if (s.reencrypt.scrubPhase === 'vacuum' || s.reencrypt.scrubPhase === 'checkpoint') {
        last = s;
        atVacuum = true;
      }
      return atVacuum;
    }, { timeoutMs: 90_000, intervalMs: 1 });
    await Promise.all([poll(), poll(), poll()]);
    expect(last!.reencrypt.doneKeys, 'every row re-sealed before the VACUUM').to.be.at.least(last!.reencrypt.totalKeys);
    await node.node.kill9();
    reader.close();
    writing = false;
    w.disconnect();
    await writer;
    const pending = inFlight as { k: string; v: string } | null;
    node.node = await node.node.restart();
    const done = await reencryptDone(new EncryptionAdminClient(node.node.url, CLUSTER_TOKEN));
    expect(done.reencrypt.plaintextScrub).to.include({ clean: true });
    const rr = new Redis(node.node.port, '127.0.0.1');
    try {
      const keys = [...acked.keys()];
      for (let j = 0; j < keys.length; j += 500) {
        const got = await rr.mget(...keys.slice(j, j + 500));
        // The SET in flight at the kill may have been committed without its answer: its value or the previous one.
        keys.slice(j, j + 500).forEach((k, x) => expect(got[x], k).to.be.oneOf([acked.get(k), ...(pending?.k === k ? [pending.v] : [])]));
      }
    } finally {
      rr.disconnect();
    }
    // One pass per file (30k values × a 70 MiB file would take minutes with a search per value).
    const onDisk = markersMatching(dataDir, /k\d+-[0-9a-f]{48}/g);
    expect(cleared.filter((v) => onDisk.has(tagOf(v))), 'values written in clear still on disk').to.deep.equal([]);
  });

  for (const journal of [false, true]) {
    it(`values written in clear (live, overwritten, deleted, large) are found before and in no file after re-encrypt; data reads back${journal ? ' (--write-journal yes: its segments too)' : ''}`, async () => {
      const RAW = [...VALUES_RAW, ...(journal ? ['--write-journal', 'yes'] : [])];
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
  }
});
