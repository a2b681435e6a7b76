/**
 * ChunkStore (node/backup/chunk-store.ts), what the backup's snapshot
 * process stores chunks with: numbered keys in order, one entry per chunk
 * with the stored object's checksum and size, sealed when a keyring is
 * given, and a destination's failure reported with the object's key.
 * A real file destination.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { FileDestination } from '../../common/backup/file-destination.js';
import type { ChunkEntry } from '../../common/backup/manifest.js';
import { ChunkStore, ChunkStoreError, sha256 } from '../../node/backup/chunk-store.js';
import { Keyring } from '../../node/crypto/keyring.js';
import { openObject } from '../../node/crypto/object-envelope.js';

const ID = 'backup-20261206T000000Z-1';

describe('backup chunk store (snapshot process side)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-chunk-store-'));
  });
  afterEach(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  const chunk = (n: number): { body: Buffer; rawBytes: number; keys: number } => ({ body: Buffer.from(`chunk ${n} `.repeat(100 * n)), rawBytes: 1000 * n, keys: n });

  it('stores chunks in order under numbered keys and reports each with its checksum and size', async () => {
    const dest = new FileDestination(dir);
    const entries: ChunkEntry[] = [];
    const store = new ChunkStore(dest, null, ID, 'shard-1', async (e) => void entries.push(e));
    for (let n = 1; n <= 3; n++) await store.add(chunk(n));
    await store.drain();
    expect(entries.map((e) => e.key)).to.deep.equal([1, 2, 3].map((n) => `${ID}/shard-1/chunk-00000${n}.irbk`));
    for (const [i, e] of entries.entries()) {
      const body = await dest.get(e.key);
      expect(body.equals(chunk(i + 1).body)).to.equal(true);
      expect([e.sha256, e.bytes, e.rawBytes, e.keys]).to.deep.equal([sha256(body), body.length, 1000 * (i + 1), i + 1]);
    }
  });

  it('seals each chunk with the active key, bound to its key', async () => {
    const dest = new FileDestination(dir);
    const keyring = new Keyring([{ id: 'k1', key: randomBytes(32) }]);
    const entries: ChunkEntry[] = [];
    const store = new ChunkStore(dest, keyring, ID, 'shard-0', async (e) => void entries.push(e));
    await store.add(chunk(2));
    await store.drain();
    const stored = await dest.get(entries[0]!.key);
    expect(stored.includes(Buffer.from('chunk 2'))).to.equal(false);
    expect(entries[0]!.sha256).to.equal(sha256(stored));
    expect(openObject(keyring, 'backup', entries[0]!.key, stored, 'test').equals(chunk(2).body)).to.equal(true);
  });

  it('a failed put rejects the next add (or the drain) with the object key; nothing is reported for it', async () => {
    // A file where the backup's directory goes: every put fails.
    await fs.promises.writeFile(path.join(dir, ID), 'not a directory');
    const entries: ChunkEntry[] = [];
    const store = new ChunkStore(new FileDestination(dir), null, ID, 'shard-0', async (e) => void entries.push(e));
    await store.add(chunk(1));
    const err = await store.add(chunk(2)).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(ChunkStoreError);
    expect((err as ChunkStoreError).key).to.equal(`${ID}/shard-0/chunk-000001.irbk`);
    expect((err as Error).message).to.match(/^storing backup-20261206T000000Z-1\/shard-0\/chunk-000001\.irbk: /);
    expect(entries).to.deep.equal([]);
  });
});
