/**
 * Both clients (clients/ts, clients/go) against a local cluster with RESP
 * over TLS only (`irisctl local up --tls`, the cluster's own CA) and ACL
 * users (`--aclfile`), issue #19: a user's commands on its keys succeed over
 * TLS with its password, another tenant's key is the node's NOPERM (not
 * retried), a wrong password is refused; strong reads over RESP
 * (IRIS.CONSISTENCY strong) per call and as the client's default. The Go
 * side runs clients/go/tls_acl_test.go from the cached test binary. The
 * import's bulk load over HTTPS checks ACLs per row, and `irisctl import`
 * reaches such a cluster over TLS (RESP and HTTPS, trusting DIR/tls/ca.crt).
 */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { IrisClient, IrisClientError } from '../../clients/ts/src/index.js';
import { keySlot } from '../../common/slot.js';
import { encodeRows } from '../../node/replication/row-codec.js';
import { Cluster, Redis } from 'ioredis';
import { compareAll, loadStrings } from '../support/import-fixture.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { startRedis } from '../support/redis-server.js';
import { run } from '../support/run.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('clients over TLS with ACL users, strong reads over RESP (3 × 1, --tls, --aclfile)', function () {
  this.timeout(400_000);
  let cluster: LocalCluster;
  let caFile: string;
  let seeds: { host: string; port: number }[];
  const clients: IrisClient[] = [];

  function client(password: string, extra: Partial<ConstructorParameters<typeof IrisClient>[0]> = {}): IrisClient {
    const c = new IrisClient({
      nodes: seeds, username: 'alice', password, tls: { ca: fs.readFileSync(caFile) },
      commandTimeoutMs: 5000, connectTimeoutMs: 5000, ...extra,
    });
    clients.push(c);
    return c;
  }

  before(async () => {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-clients-tls-'));
    const aclfile = path.join(dir, 'users.acl');
    fs.writeFileSync(aclfile, 'user alice on >apw ~tenant-a:* +@all\n', { mode: 0o600 });
    cluster = await LocalCluster.start({ shards: 3, replicas: 1, extraArgs: ['--tls', '--aclfile', aclfile] });
    caFile = path.join(cluster.dir, 'tls', 'ca.crt');
    seeds = (await cluster.seedPorts()).map((port) => ({ host: '127.0.0.1', port }));
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.destroy();
  });

  it('TypeScript: TLS + ACL user, NOPERM not retried, wrong password refused, strong reads over RESP', async () => {
    const alice = client('apw');
    expect(await alice.set('tenant-a:ts', 'v1')).to.equal(true);
    expect(await alice.get('tenant-a:ts')).to.equal('v1');

    const denied = await alice.set('tenant-b:ts', 'x').catch((e: unknown) => e);
    expect(denied).to.be.instanceOf(IrisClientError);
    expect((denied as IrisClientError).message).to.match(/NOPERM/);
    expect((denied as IrisClientError).attempts).to.equal(1);

    // Per call, and the wrapping itself: the read inside runs at the strong level, the connection is back at default after.
    expect(await alice.get('tenant-a:ts', { consistency: 'strong' })).to.equal('v1');
    expect(await alice.command('iris.consistency', [], { kind: 'read', consistency: 'strong', keyIndex: null })).to.equal('strong');
    expect(await alice.command('iris.consistency', [], { kind: 'read', keyIndex: null })).to.equal('default');
    const strong = client('apw', { readConsistency: 'strong' });
    expect(await strong.get('tenant-a:ts')).to.equal('v1');
    await alice.set('tenant-a:{m}1', 'm1');
    expect(await strong.mget(['tenant-a:{m}1', 'tenant-a:{m}2'])).to.deep.equal(['m1', null]);

    // A wrong password: the first call may time out while ioredis retries the connection; then calls fail at once naming the refusal.
    const wrong = client('nope', { deadlineMs: 3000 });
    let refused: unknown = await wrong.get('tenant-a:ts').catch((e: unknown) => e);
    if (!/WRONGPASS/.test(String((refused as Error).message))) refused = await wrong.get('tenant-a:ts').catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(IrisClientError);
    expect((refused as IrisClientError).message).to.match(/refused the client's credentials: WRONGPASS/);
    expect((refused as IrisClientError).outcome).to.equal('not-applied');
  });

  it("the import's bulk load (PUT /v1/kv:import) over HTTPS checks each row as SET for the ACL user", async () => {
    const st = await cluster.status();
    const shard = st.shards[0]!;
    const primary = shard.nodes.find((n) => n.name === shard.primary)!;
    const url = new URL(primary.httpUrl!);
    const served = (k: string): boolean => shard.slots.some(([a, b]) => keySlot(k) >= a && keySlot(k) <= b);
    const find = (prefix: string): string => {
      for (let i = 0; ; i++) if (served(`${prefix}${i}`)) return `${prefix}${i}`;
    };
    const mine = find('tenant-a:bulk');
    const theirs = find('tenant-b:bulk');
    const body = (key: string): Buffer => encodeRows([{ key: Buffer.from(key), value: Buffer.from('x'), flags: 0, version: 0, expiresAt: null }]);
    const put = (key: string, auth: string): Promise<number> => new Promise((resolve, reject) => {
      const req = https.request({
        host: url.hostname, port: Number(url.port), method: 'PUT', path: '/v1/kv:import', ca: fs.readFileSync(caFile),
        headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}`, 'content-type': 'application/octet-stream', 'x-iris-forwarded': '1' },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body(key));
    });
    expect(url.protocol).to.equal('https:');
    expect(await put(mine, 'alice:apw')).to.equal(200);
    expect(await put(theirs, 'alice:apw')).to.equal(403);
    expect(await put(mine, 'alice:nope')).to.equal(401);
    const alice = client('apw');
    expect(await alice.get(mine)).to.equal('x');
  });

  it('irisctl import into this TLS-only cluster: RESP and the bulk load over TLS, trusting DIR/tls/ca.crt', async () => {
    const redis = await startRedis();
    const src = new Redis({ port: redis.port, host: '127.0.0.1' });
    const dst = new Cluster([seeds[0]!], { redisOptions: { tls: { ca: fs.readFileSync(caFile) }, enableReadyCheck: false }, slotsRefreshTimeout: 5000 });
    dst.on('error', () => {});
    try {
      const n = 3000;
      await loadStrings(src, 'imp:', n);
      const r = await run(process.execPath, [IRISCTL, 'import', '--dir', cluster.dir, '--from', `redis://127.0.0.1:${redis.port}`, '--json'], { timeoutMs: 180_000 });
      expect(r.code, r.stderr).to.equal(0);
      const report = JSON.parse(r.stdout) as { copied: number; writes: { bulk: number; set: number; refused: number }; verify: { mismatches: string[] } };
      expect(report.copied).to.equal(n);
      expect(report.writes).to.deep.equal({ bulk: n, set: 0, refused: 0 });
      expect(report.verify.mismatches).to.deep.equal([]);
      const all = await compareAll(src, dst, 'imp:', 15_000);
      expect(all.checked).to.equal(n);
      expect(all.differences.slice(0, 5)).to.deep.equal([]);
    } finally {
      src.disconnect();
      dst.disconnect();
      await redis.stop();
    }
  });

  it('Go: the same against the cached go test binary', async () => {
    const built = await run('bash', [path.join(repo, 'clients/go/test-binary.sh')], { timeoutMs: 300_000 });
    expect(built.code, built.stderr).to.equal(0);
    const bin = built.stdout.trim().split('\n').pop()!;
    const env = {
      ...process.env,
      IRISDB_TLS_TEST_NODES: seeds.map((s) => `${s.host}:${s.port}`).join(','),
      IRISDB_TLS_TEST_CA: caFile, IRISDB_TLS_TEST_USER: 'alice', IRISDB_TLS_TEST_PASS: 'apw',
    };
    const res = await run(bin, ['-test.v', '-test.count=1', '-test.run', '^TestTLSACLAndStrongReads$', '-test.timeout', '120s'], { env, cwd: path.join(repo, 'clients/go'), timeoutMs: 150_000 });
    expect(res.code, `${res.stdout}\n${res.stderr}`).to.equal(0);
    expect(res.stdout).to.include('--- PASS: TestTLSACLAndStrongReads');
  });
});
