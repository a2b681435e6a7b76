/**
 * Issue #14 on Kubernetes: the restore init container of an IrisCluster
 * with spec.encryption and spec.bootstrap.fromBackup runs the node with
 * --restore-from and --encryption-key-file (operator/kube/build/
 * encryption-pod-parts.ts). Here that exact invocation, as a real process,
 * on an encrypted backup and archived log of a real local cluster: with the
 * keyring every value (backed up or archived after) comes back and stays
 * encrypted on disk; without it the restore fails, exits 1 and leaves no
 * database behind (the init container is run again).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { clusterClient, createBackup, waitStreaming } from '../support/backup-fixture.js';
import { LocalCluster } from '../support/local-cluster.js';
import { markersInFiles, newKey, writeKeyring } from '../support/keyring-files.js';
import { NODE_MAIN, startNode, type RunningNode } from '../support/node-process.js';
import { waitFor } from '../support/wait.js';
import { DB_FILE_NAME } from '../../node/engine/database.js';

const KEYS = 100;
const NODE = 'restored-shard-0-0';

/** The init container's command: exit code and logs. */
function restoreAtStart(args: readonly string[]): Promise<{ code: number; logs: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [NODE_MAIN, ...args], { timeout: 60_000, env: { PATH: process.env.PATH ?? '' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, logs: stdout + stderr });
    });
  });
}

describe('encryption at rest: the restore init container (--restore-from with --encryption-key-file)', function () {
  this.timeout(180_000);
  let work = '';
  let keyFile = '';
  let url = '';
  let id = '';
  let source: LocalCluster | undefined;
  let restored: RunningNode | undefined;
  const values = new Map<string, string>();

  before(async () => {
    work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-enc-init-'));
    keyFile = path.join(work, 'keyring');
    writeKeyring(keyFile, [newKey('k1')]);
    url = `file://${path.join(work, 'backups')}`;
    source = await LocalCluster.start({ shards: 1, replicas: 0, extraArgs: ['--encryption-key-file', keyFile, '--archive-destination', url], env: { IRIS_ARCHIVE_SEGMENT_SECONDS: '1' } });
    const client = await clusterClient(source);
    try {
      for (let i = 0; i < KEYS; i++) values.set(`einit:${i}`, randomBytes(24).toString('hex'));
      await Promise.all([...values].map(([k, v]) => client.set(k, v)));
      await waitStreaming(source);
      id = await createBackup(source, url);
      // After the backup: back only through the archived log, whose batches are sealed.
      for (let i = 0; i < 20; i++) values.set(`einit:after:${i}`, randomBytes(24).toString('hex'));
      await Promise.all([...values].filter(([k]) => k.includes('after')).map(([k, v]) => client.set(k, v)));
    } finally {
      client.disconnect();
    }
    await waitFor('the archive to catch up', async () => {
      const st = await source!.status();
      const p = st.shards[0]!.nodes.find((n) => n.name === st.shards[0]!.primary)!;
      const text = await (await fetch(`${p.httpUrl!}/metrics`)).text();
      return Number(/^irisdb_archive_lag_sequences (\S+)$/m.exec(text)?.[1] ?? NaN) === 0;
    }, { timeoutMs: 60_000, intervalMs: 250 });
  });

  after(async () => {
    await restored?.stop();
    await source?.destroy();
    if (work !== '') await fs.promises.rm(work, { recursive: true, force: true });
  });

  const initArgs = (dataDir: string): string[] => ['--node-name', NODE, '--data-dir', dataDir, '--restore-from', url, '--restore-backup-id', id, '--restore-shard', '0/1', '--restore-node', NODE];

  it('without the keyring: exits 1 naming the key id, and leaves no database', async () => {
    const dataDir = path.join(work, 'no-keys');
    await fs.promises.mkdir(dataDir);
    const r = await restoreAtStart(initArgs(dataDir));
    expect(r.code, r.logs).to.equal(1);
    expect(r.logs).to.contain("key id 'k1'");
    expect((await fs.promises.readdir(dataDir)).filter((f) => f.startsWith(DB_FILE_NAME))).to.deep.equal([]);
  });

  it('with the keyring: every value, backed up or archived after, comes back and stays encrypted on disk', async () => {
    const dataDir = path.join(work, 'with-keys');
    await fs.promises.mkdir(dataDir);
    const r = await restoreAtStart([...initArgs(dataDir), '--encryption-key-file', keyFile]);
    expect(r.code, r.logs).to.equal(0);
    expect(r.logs).to.match(/"logEntriesReplayed":[1-9]/);
    restored = await startNode({ dataDir, args: ['--encryption-key-file', keyFile] });
    const client = new Redis({ port: restored.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    try {
      for (const [k, v] of values) expect(await client.get(k), k).to.equal(v);
    } finally {
      client.disconnect();
    }
    expect([...markersInFiles(dataDir, [...values.values()]).keys()], 'values in clear in the restored data directory').to.deep.equal([]);
  });
});
