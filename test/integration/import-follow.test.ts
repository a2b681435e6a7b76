/**
 * irisctl import --follow (issue #19): the import as a replica of a real
 * redis-server (ACL user and password), with a bounded writer still writing
 * to the source all along (SET with and without TTL, INCR, APPEND, DEL,
 * EXPIRE, PERSIST, MSET, RENAME, and LPUSH, which is counted, not applied).
 * After the writer stopped, Ctrl-C (SIGINT) is the cut-over: irisctl
 * applies what the source still has and exits; then every key equals the
 * source's, with its TTL, and every key the source no longer has is gone
 * from IrisDB too. A second run with --until-lag 0 ends by itself. Over
 * TLS (rediss://, a test CA given with NODE_EXTRA_CA_CERTS) both the SCAN
 * import and --follow work.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { Redis, type Cluster } from 'ioredis';
import { compareAll, loadStrings, startBoth } from '../support/import-fixture.js';
import { makePki } from '../support/kube/certs.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { makeTempDir } from '../support/node-process.js';
import { freePort } from '../support/ports.js';
import { type RunningRedis, startRedis } from '../support/redis-server.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { clusterClient } from './migration-support.js';

const USER = 'importer';
const PASS = 'follow-secret';
const TTL_TOLERANCE_MS = 15_000;

/** Concurrent loops of random string commands over a small key space, bounded in count and time. */
async function writer(r: Redis, loops: number, opsPerLoop: number, deadlineMs: number): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let ops = 0;
  await Promise.all(Array.from({ length: loops }, async (_, l) => {
    for (let i = 0; i < opsPerLoop && Date.now() < deadline; i++) {
      const k = `w:${(i * 31 + l * 7) % 300}`;
      const k2 = `w:${(i * 17 + l) % 300}`;
      switch (i % 11) {
        case 0: await r.set(k, `v${l}-${i}`); break;
        case 1: await r.set(k, `t${l}-${i}`, 'PX', 300_000 + i); break;
        case 2: await r.incr(`c:${i % 50}`); break;
        case 3: await r.append(k, '+'); break;
        case 4: await r.del(k); break;
        case 5: await r.expire(k2, 500); break;
        case 6: await r.persist(k2); break;
        case 7: await r.mset(k, `m${i}`, k2, `n${i}`); break;
        case 8: await r.rename(k, k2).catch(() => undefined); break; // ERR no such key when k is gone
        case 9: await r.lpush(`l:${l}`, String(i)); break;
        default: await r.set(`f:${(i * 13 + l) % 10_000}`, `overwritten-${l}-${i}`); break;
      }
      ops++;
    }
  }));
  return ops;
}

describe('irisctl import --follow: zero-downtime import as a replica (issue #19)', function () {
  this.timeout(600_000);
  let cluster: LocalCluster;
  let redis: RunningRedis;
  let src: Redis;
  let dst: Cluster;
  let url: string;

  before(async () => {
    await startBoth(
      LocalCluster.start({ shards: 3, replicas: 1 }),
      // A short repl-timeout: the source drops a replica silent for 3 s, so irisctl must acknowledge also while it loads the RDB.
      startRedis(['--user', USER, 'on', `>${PASS}`, '~*', '&*', '+@all', '--user', 'default', 'off', '--repl-timeout', '3']),
      (c, r) => { cluster = c!; redis = r!; },
    );
    src = new Redis({ port: redis.port, host: '127.0.0.1', username: USER, password: PASS });
    dst = clusterClient(await cluster.seedPort(), { autoPipeline: true });
    await loadStrings(src, 'f:', 10_000);
    url = `redis://${USER}:${PASS}@127.0.0.1:${redis.port}`;
  });

  after(async () => {
    src?.disconnect();
    dst?.disconnect();
    await Promise.all([cluster?.destroy(), redis?.stop()]);
  });

  it('copies the RDB, follows a live writer, and after Ctrl-C every key equals the source', async () => {
    const child = spawn(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', url, '--follow', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // The writer starts while the full sync is under way: what it writes meanwhile arrives in the stream after the RDB.
      await waitFor('the full sync to start', () => /full sync from offset/.test(stderr) || child.exitCode !== null, { timeoutMs: 60_000 });
      const ops = await writer(src, 4, 1500, 60_000);
      expect(ops).to.be.greaterThan(1000);
      expect(stderr, 'the password never shows').to.not.include(PASS);
      await waitFor('the RDB to be loaded', () => /RDB loaded/.test(stderr) || child.exitCode !== null, { timeoutMs: 120_000 });
      child.kill('SIGINT');
      const code = await exited;
      expect(code, stderr).to.equal(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const report = JSON.parse(stdout) as { copied: number; stream: { applied: number; skipped: Record<string, number>; errors: number }; lagBytes: number; verify: { mismatches: string[] } };
    expect(report.copied).to.be.at.least(10_000);
    expect(report.stream.applied).to.be.greaterThan(500);
    expect(report.stream.skipped.lpush).to.be.greaterThan(0);
    expect(report.stream.errors).to.equal(0);
    expect(report.lagBytes).to.equal(0);
    expect(report.verify.mismatches).to.deep.equal([]);

    for (const prefix of ['f:', 'w:', 'c:']) {
      const all = await compareAll(src, dst, prefix, TTL_TOLERANCE_MS);
      expect(all.checked, prefix).to.be.greaterThan(0);
      expect(all.differences.slice(0, 5), prefix).to.deep.equal([]);
    }
    // Keys the source deleted or renamed away are gone from IrisDB too.
    for (let i = 0; i < 300; i++) {
      const k = `w:${i}`;
      expect(await dst.exists(k), k).to.equal(await src.exists(k));
    }
  });

  it('--until-lag 0 finishes by itself once caught up', async () => {
    await src.set('w:late', 'last');
    const r = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', url, '--follow', '--until-lag', '0', '--verify', '0'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/lag 0 B/);
    expect(await dst.get('w:late')).to.equal('last');
  });

  it('rediss://: the SCAN import and --follow over TLS, the server checked against its CA', async () => {
    const pki = await makePki(path.join(await makeTempDir('irisdb-import-tls-'), 'pki'), '127.0.0.1');
    const tlsPort = await freePort();
    const tlsRedis = await startRedis(['--tls-port', String(tlsPort), '--tls-cert-file', pki.serverCert, '--tls-key-file', pki.serverKey,
      '--tls-ca-cert-file', pki.caCert, '--tls-auth-clients', 'no', '--tls-replication', 'yes']);
    const plain = new Redis({ port: tlsRedis.port, host: '127.0.0.1' });
    try {
      await loadStrings(plain, 'tls:', 2000);
      const env = { ...process.env, NODE_EXTRA_CA_CERTS: pki.caCert };
      const from = `rediss://localhost:${tlsPort}`;
      const untrusted = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', from, '--verify', '0'], { timeoutMs: 120_000 });
      expect(untrusted.code, 'a server certificate from an unknown CA is refused').to.equal(1);
      const r = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', from, '--json'], { env, timeoutMs: 120_000 });
      expect(r.code, r.stderr).to.equal(0);
      expect((JSON.parse(r.stdout) as { copied: number }).copied).to.equal(2000);
      await plain.set('tls:late', 'over-tls');
      const f = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', from, '--follow', '--until-lag', '0', '--verify', '0'], { env, timeoutMs: 120_000 });
      expect(f.code, f.stderr).to.equal(0);
      const all = await compareAll(plain, dst, 'tls:', TTL_TOLERANCE_MS);
      expect(all.checked).to.equal(2001);
      expect(all.differences.slice(0, 5)).to.deep.equal([]);
    } finally {
      plain.disconnect();
      await tlsRedis.stop();
    }
  });
});
