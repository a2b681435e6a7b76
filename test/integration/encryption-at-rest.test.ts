/**
 * Issue #14, encryption at rest, with real node processes and SQLite files
 * on disk: no value written through RESP or HTTP appears in clear in any
 * file of a primary's or a replica's data directory (database, WAL,
 * replication log), while the same test without a keyring finds them all;
 * key rotation with re-encryption, after which the old key can go; a value
 * under a key the keyring lacks fails with an error naming its key id; and
 * kill -9 in the middle of a re-encryption loses no acknowledged write and
 * the job resumes by itself.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { EncryptionAdminClient } from '../../common/encryption-client.js';
import type { EncryptionStatus } from '../../common/encryption-admin.js';
import { CLUSTER_TOKEN, Shard, startNamedNode, type ShardNode } from '../support/repl-shard.js';
import { NODE_MAIN, makeTempDir, type RunningNode } from '../support/node-process.js';
import { spawn } from 'node:child_process';
import { markersInFiles, newKey, writeKeyring } from '../support/keyring-files.js';
import { waitFor } from '../support/wait.js';

const marker = (): string => randomBytes(32).toString('hex');

async function putHttp(node: RunningNode, key: string, value: string): Promise<void> {
  const res = await fetch(`${node.url}/v1/kv/${encodeURIComponent(key)}`, { method: 'PUT', body: value, headers: { 'content-type': 'application/octet-stream' } });
  expect(res.status, await res.clone().text()).to.be.oneOf([200, 201, 204]);
}

async function reencryptDone(client: EncryptionAdminClient, timeoutMs = 60_000): Promise<EncryptionStatus> {
  return waitFor('re-encryption to finish', async () => {
    const s = await client.encryption();
    if (s.reencrypt.state === 'failed') throw new Error(`re-encryption failed: ${s.reencrypt.error}`);
    return s.reencrypt.state === 'done' ? s : null;
  }, { timeoutMs, intervalMs: 100 });
}

describe('encryption at rest: no value in clear on disk (1 primary + 1 replica)', function () {
  for (const encrypted of [true, false]) {
    it(encrypted ? 'with a keyring: no marker in any file of either node; keys stay readable; values read back after restart' : 'without a keyring (control): every marker is found, so the check can fail', async () => {
      const dir = await makeTempDir('irisdb-enc-keys-');
      const keyFile = path.join(dir, 'keyring');
      writeKeyring(keyFile, [newKey('k1')]);
      const shard = await Shard.start({ replicas: 1, minSyncReplicas: 1, namePrefix: `enc${encrypted ? 'y' : 'n'}-`, args: encrypted ? ['--encryption-key-file', keyFile] : [] });
      const redis = new Redis(shard.primary.node.port, '127.0.0.1', { lazyConnect: true });
      try {
        await redis.connect();
        const values = new Map<string, string>();
        for (let i = 0; i < 20; i++) {
          const v = marker();
          values.set(`enc:resp:${i}`, v);
          expect(await redis.set(`enc:resp:${i}`, v)).to.equal('OK');
        }
        for (let i = 0; i < 10; i++) {
          const v = marker();
          values.set(`enc:http:${i}`, v);
          await putHttp(shard.primary.node, `enc:http:${i}`, v);
        }
        // Overwritten and deleted values must not linger in clear either.
        const gone = marker();
        await redis.set('enc:gone', gone);
        await redis.del('enc:gone');
        await shard.waitForConvergence();
        redis.disconnect();
        // A graceful stop checkpoints the WAL into the database file; the WAL is checked too.
        for (const n of shard.nodes) expect(await n.node.stop()).to.equal(0);
        const markers = [...values.values(), gone];
        for (const n of shard.nodes) {
          const found = markersInFiles(n.node.dataDir, markers);
          const keysFound = markersInFiles(n.node.dataDir, [...values.keys()]);
          // Keys are stored in clear (slots and scans need them): the search reads the right files.
          expect(keysFound.size, `${n.name}: keys found in its files`).to.equal(values.size);
          if (encrypted) expect([...found.entries()], `${n.name}: values in clear`).to.deep.equal([]);
          else expect(found.size, `${n.name}: markers found without encryption`).to.be.at.least(values.size);
        }
        // Restarted (the replica too, read with READONLY): every value reads back.
        for (const n of shard.nodes) n.node = await n.node.restart();
        for (const n of shard.nodes) {
          const r = new Redis(n.node.port, '127.0.0.1', { lazyConnect: true });
          await r.connect();
          if (n !== shard.primary) await r.call('READONLY');
          for (const [k, v] of values) expect(await r.get(k), `${n.name} ${k}`).to.equal(v);
          r.disconnect();
        }
      } finally {
        redis.disconnect();
        await shard.stop();
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('encryption at rest: key rotation (one node)', function () {
  let dir = '';
  let node: ShardNode | undefined;
  let redis: Redis | undefined;

  before(async () => {
    dir = await makeTempDir('irisdb-enc-rot-');
  });
  after(async () => {
    redis?.disconnect();
    await node?.node.kill9();
    if (node !== undefined) await fs.promises.rm(node.node.dataDir, { recursive: true, force: true });
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('new key active on reload; re-encrypt moves every value and log batch to it; the old key can go; a missing key is named', async () => {
    const keyFile = path.join(dir, 'keyring');
    const k1 = newKey('k1');
    const k2 = newKey('k2');
    writeKeyring(keyFile, [k1]);
    node = await startNamedNode('rot', { minSyncReplicas: 0, args: ['--encryption-key-file', keyFile, '--encryption-key-file-check-ms', '100', '--reencrypt-batch-keys', '37'] });
    const admin = new EncryptionAdminClient(node.node.url, CLUSTER_TOKEN);
    redis = new Redis(node.node.port, '127.0.0.1');
    const values = new Map<string, string>();
    const pipe = redis.pipeline();
    for (let i = 0; i < 500; i++) {
      const v = i % 50 === 0 ? marker().repeat(40) : marker(); // some above the compression threshold
      values.set(`rot:${i}`, v);
      pipe.set(`rot:${i}`, v);
    }
    await pipe.exec();
    expect((await admin.encryption()).activeKeyId).to.equal('k1');

    writeKeyring(keyFile, [k1, k2]);
    await waitFor('the node to reload the keyring', async () => (await admin.encryption()).activeKeyId === 'k2', { timeoutMs: 10_000 });
    for (let i = 500; i < 600; i++) {
      const v = marker();
      values.set(`rot:${i}`, v);
      await redis.set(`rot:${i}`, v);
    }
    await admin.reencrypt();
    const done = await reencryptDone(admin);
    expect(done.valuesByKeyId).to.deep.equal({ k2: 600 });
    expect(done.reencrypt.rewrittenKeys).to.equal(500);
    expect(done.reencrypt.rewrittenLogBatches).to.be.greaterThan(0);
    const metrics = await (await fetch(`${node.node.url}/metrics`)).text();
    expect(metrics).to.match(/irisdb_encryption_values\{key_id="k2"\} 600/);
    expect(metrics).to.match(/irisdb_encryption_active_key_info\{key_id="k2"\} 1/);
    // A second run finds nothing left to do.
    await admin.reencrypt();
    expect((await reencryptDone(admin)).reencrypt.rewrittenKeys).to.equal(0);

    // Removing the key the values are under is reported at once, naming it (the scan above counted them).
    writeKeyring(keyFile, [newKey('k3')]);
    await waitFor('the node to report key k2 still in use', () => node!.node.logs().split('\n').some((l) => l.includes('an encryption key still in use was removed') && l.includes('"keyId":"k2"') && l.includes('"values":600')), { timeoutMs: 10_000 });

    // The old key goes; after a restart every value (and the log) reads with k2 alone.
    redis.disconnect();
    writeKeyring(keyFile, [k2]);
    expect(await node.node.stop()).to.equal(0);
    node.node = await node.node.restart();
    redis = new Redis(node.node.port, '127.0.0.1');
    for (const [k, v] of values) expect(await redis.get(k), k).to.equal(v);

    // Without the key a value is under, reads fail naming the key id: never garbage.
    redis.disconnect();
    writeKeyring(keyFile, [newKey('k3')]);
    expect(await node.node.stop()).to.equal(0);
    node.node = await node.node.restart();
    redis = new Redis(node.node.port, '127.0.0.1');
    // The last scan's counts are kept in the database: the restarted node names the missing key at once.
    expect(node.node.logs().split('\n').some((l) => l.includes('an encryption key still in use was removed') && l.includes('"keyId":"k2"') && l.includes('"values":600'))).to.equal(true);
    const err = await redis.get('rot:1').then(() => null, (e: Error) => e);
    expect(err?.message).to.match(/encrypted with key id 'k2', which is not in the encryption keyring/);
    const res = await fetch(`${node.node.url}/v1/kv/rot:2`);
    expect(res.status).to.equal(500);
    expect(await res.text()).to.contain("key id 'k2'");
  });

  it('a keyring file that does not parse stops startup with the file and line', async () => {
    const bad = path.join(dir, 'bad-keyring');
    fs.writeFileSync(bad, 'k1 tooshort\n');
    const child = spawn(process.execPath, [NODE_MAIN, '--port', '0', '--http-port', '0', '--bus-port', '0', '--bind', '127.0.0.1', '--data-dir', path.join(dir, 'bad-data'), '--encryption-key-file', bad], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).to.not.equal(0);
    expect(stderr).to.match(/bad-keyring:1: key 'k1' is 6 bytes; AES-256 needs exactly 32/);
  });
});

describe('encryption at rest: kill -9 during re-encryption', function () {
  it('loses no acknowledged write, and the job resumes after the restart and finishes', async () => {
    const dir = await makeTempDir('irisdb-enc-kill-');
    const keyFile = path.join(dir, 'keyring');
    const k1 = newKey('k1');
    writeKeyring(keyFile, [k1]);
    // Small batches: the job takes many short turns, so the kill lands in the middle.
    let node = await startNamedNode('kill', { minSyncReplicas: 0, args: ['--encryption-key-file', keyFile, '--encryption-key-file-check-ms', '0', '--reencrypt-batch-keys', '20'] });
    const redis = new Redis(node.node.port, '127.0.0.1', { lazyConnect: true });
    const acked = new Map<string, string>();
    try {
      await redis.connect();
      const N = 6000;
      for (let b = 0; b < N; b += 500) {
        const pipe = redis.pipeline();
        const batch: Array<[string, string]> = [];
        for (let i = b; i < b + 500; i++) batch.push([`kill:${i}`, marker()]);
        for (const [k, v] of batch) pipe.set(k, v);
        const res = await pipe.exec();
        batch.forEach(([k, v], i) => { if (res?.[i]?.[0] === null) acked.set(k, v); });
      }
      expect(acked.size).to.equal(N);
      redis.disconnect();
      writeKeyring(keyFile, [k1, newKey('k2')]);
      // encryptionKeyFileCheckMs 0: the new key is read at the restart.
      expect(await node.node.stop()).to.equal(0);
      node = { ...node, node: await node.node.restart() };
      const admin = new EncryptionAdminClient(node.node.url, CLUSTER_TOKEN);
      const w = new Redis(node.node.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
      w.on('error', () => undefined);
      await w.connect();
      await admin.reencrypt();
      // Writes keep coming while the job runs: overwrites of keys it has or has not reached yet.
      let i = 0;
      let killedAt = 0;
      for (;;) {
        const k = `kill:${(i * 7919) % N}`;
        const v = marker();
        const ok = await w.set(k, v).then(() => true, () => false);
        if (ok) acked.set(k, v);
        i++;
        const s = await admin.encryption();
        if (s.reencrypt.state !== 'running') throw new Error(`the job finished before the kill (state ${s.reencrypt.state}): make it longer`);
        if (s.reencrypt.doneKeys >= N / 3) {
          killedAt = s.reencrypt.doneKeys;
          break;
        }
      }
      await node.node.kill9();
      w.disconnect();
      node = { ...node, node: await node.node.restart() };
      const admin2 = new EncryptionAdminClient(node.node.url, CLUSTER_TOKEN);
      const done = await reencryptDone(admin2);
      expect(killedAt).to.be.greaterThan(0);
      expect(done.valuesByKeyId).to.deep.equal({ k2: N });
      // Nobody asked the restarted node: it resumed the interrupted job by itself.
      const r = new Redis(node.node.port, '127.0.0.1');
      const keys = [...acked.keys()];
      for (let j = 0; j < keys.length; j += 500) {
        const got = await r.mget(...keys.slice(j, j + 500));
        keys.slice(j, j + 500).forEach((k, x) => expect(got[x], k).to.equal(acked.get(k)));
      }
      r.disconnect();
    } finally {
      redis.disconnect();
      await node.node.kill9();
      await fs.promises.rm(node.node.dataDir, { recursive: true, force: true });
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });
});
