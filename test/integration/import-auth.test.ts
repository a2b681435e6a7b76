/**
 * `irisctl import` / `export` into a cluster whose aclfile closes the
 * default user (issue #19): the target credentials (--target-user,
 * --target-password-file, IRISDB_PASSWORD) reach both the bulk route (HTTP
 * Basic) and the SET fallback (RESP AUTH). A user restricted to `imp:*`
 * imports those keys; keys outside its patterns are refused, counted and
 * named (exit 1), never silently lost; a wrong password or none fails
 * before anything is copied. Real nodes, a real redis-server as the source.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Cluster, Redis } from 'ioredis';
import { compareAll, loadStrings } from '../support/import-fixture.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { startRedis, type RunningRedis } from '../support/redis-server.js';
import { run } from '../support/run.js';

describe('irisctl import/export with target credentials (2 × 0, aclfile: default off, importer ~imp:*)', function () {
  this.timeout(300_000);
  const IMP = 400;
  const OTHER = 6;
  let cluster: LocalCluster;
  let redis: RunningRedis;
  let src: Redis;
  let dir: string;
  let passwordFile: string;
  const clients: Cluster[] = [];

  function as(user: string, password: string): Cluster {
    const c = new Cluster([{ host: '127.0.0.1', port: seeds[0]! }], { redisOptions: { username: user, password, enableReadyCheck: false }, slotsRefreshTimeout: 5000 });
    c.on('error', () => {});
    clients.push(c);
    return c;
  }
  let seeds: number[] = [];

  function irisctl(args: string[], env: Record<string, string> = {}) {
    const base = { ...process.env };
    delete base.IRISDB_PASSWORD;
    delete base.IRISDB_USER;
    return run(process.execPath, [IRISCTL, ...args], { timeoutMs: 120_000, env: { ...base, ...env } });
  }

  before(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-import-auth-'));
    const aclfile = path.join(dir, 'users.acl');
    fs.writeFileSync(aclfile, 'user default off\nuser importer on >ipw ~imp:* +@all\nuser admin on >apw ~* +@all\n', { mode: 0o600 });
    passwordFile = path.join(dir, 'importer.pass');
    fs.writeFileSync(passwordFile, 'ipw\n', { mode: 0o600 });
    redis = await startRedis();
    src = new Redis({ port: redis.port, host: '127.0.0.1' });
    await loadStrings(src, 'imp:', IMP);
    for (let i = 0; i < OTHER; i++) await src.set(`other:${i}`, `x${i}`);
    cluster = await LocalCluster.start({ shards: 2, replicas: 0, extraArgs: ['--aclfile', aclfile] });
    seeds = await cluster.seedPorts();
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    src?.disconnect();
    await redis?.stop();
    await cluster?.destroy();
  });

  it('a wrong password, or none, fails before anything is copied', async () => {
    const wrong = await irisctl(['import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${redis.port}`, '--target-user', 'importer'], { IRISDB_PASSWORD: 'nope' });
    expect(wrong.code, wrong.stderr).to.equal(1);
    expect(wrong.stderr).to.match(/IrisDB refused user "importer".*WRONGPASS/);
    const none = await irisctl(['import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${redis.port}`]);
    expect(none.code, none.stderr).to.equal(1);
    expect(none.stderr).to.match(/IrisDB refused user "default" \(no password given: --target-password-file or IRISDB_PASSWORD\)/);
    expect(fs.existsSync(path.join(cluster.dir, 'import-checkpoint.json'))).to.equal(false);
    const admin = as('admin', 'apw');
    const sizes = await Promise.all(admin.nodes('master').map((n) => n.dbsize()));
    expect(sizes.reduce((a, b) => a + b, 0)).to.equal(0);
  });

  it("imports the user's keys through the bulk route and SETs; keys outside ~imp:* are refused, counted and named (exit 1)", async () => {
    const r = await irisctl(['import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${redis.port}`, '--batch', '50', '--json',
      '--target-user', 'importer', '--target-password-file', passwordFile]);
    expect(r.code, r.stderr).to.equal(1);
    const report = JSON.parse(r.stdout) as { scanned: number; copied: number; refused: number; refusedKeys: string[]; writes: { bulk: number; set: number; refused: number }; verify: { checked: number; mismatches: string[] } };
    expect(report.scanned).to.equal(IMP + OTHER);
    expect(report.copied).to.equal(IMP);
    expect(report.refused).to.equal(OTHER);
    expect(report.refusedKeys.sort()).to.deep.equal(Array.from({ length: OTHER }, (_, i) => `other:${i}`).sort());
    expect(report.writes.bulk).to.be.greaterThan(0);
    expect(report.writes.bulk + report.writes.set).to.equal(IMP);
    expect(report.verify.mismatches).to.deep.equal([]);
    const admin = as('admin', 'apw');
    const all = await compareAll(src, admin, 'imp:', 15_000);
    expect(all.checked).to.equal(IMP);
    expect(all.differences.slice(0, 5)).to.deep.equal([]);
    for (let i = 0; i < OTHER; i++) expect(await admin.get(`other:${i}`)).to.equal(null);

    // The text report names them too.
    const again = await irisctl(['import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${redis.port}`, '--verify', '0', '--target-user', 'importer'], { IRISDB_PASSWORD: 'ipw' });
    expect(again.code, again.stderr).to.equal(1);
    expect(again.stdout).to.match(/refused by IrisDB:\s+6 \(NOPERM/);
    expect(again.stdout).to.match(/refused: other:\d/);
  });

  it('exports as the user given by IRISDB_USER / IRISDB_PASSWORD', async () => {
    const out = path.join(dir, 'dump.jsonl');
    const r = await irisctl(['export', '--dir', cluster.dir, '--to', out], { IRISDB_USER: 'importer', IRISDB_PASSWORD: 'ipw' });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(new RegExp(`exported ${IMP} keys`));
    expect(fs.readFileSync(out, 'utf8').trim().split('\n').length).to.equal(IMP);
  });
});

describe('irisctl import into a cluster with requirePass (1 × 0, IRIS_REQUIRE_PASS)', function () {
  this.timeout(200_000);
  let cluster: LocalCluster;
  let redis: RunningRedis;
  let src: Redis;

  before(async () => {
    redis = await startRedis();
    src = new Redis({ port: redis.port, host: '127.0.0.1' });
    await loadStrings(src, 'k:', 300);
    cluster = await LocalCluster.start({ shards: 1, replicas: 0, env: { IRIS_REQUIRE_PASS: 'dpw' } });
  });

  after(async () => {
    src?.disconnect();
    await redis?.stop();
    await cluster?.destroy();
  });

  it('IRISDB_PASSWORD authenticates the default user on RESP and the bulk route (HTTP Basic)', async () => {
    const base = { ...process.env };
    delete base.IRISDB_USER;
    const r = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${redis.port}`, '--json'],
      { timeoutMs: 120_000, env: { ...base, IRISDB_PASSWORD: 'dpw' } });
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as { copied: number; writes: { bulk: number; set: number; refused: number }; verify: { mismatches: string[] } };
    expect(report.copied).to.equal(300);
    expect(report.writes).to.deep.equal({ bulk: 300, set: 0, refused: 0 });
    expect(report.verify.mismatches).to.deep.equal([]);
  });
});
