/**
 * ACL users on a local cluster (2 shards × 1 replica): every node reads the
 * same aclfile (`irisctl local up --aclfile`, copied to DIR/users.acl). Two tenants through ioredis Cluster and the cluster-wide HTTP
 * scan see only their keys; ACL SETUSER on one node is refused with how
 * users are managed; an aclfile edit reaches every node; after a kill -9
 * failover the promoted replica knows the same users.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Cluster, Redis } from 'ioredis';
import { LocalCluster } from '../support/local-cluster.js';
import { waitFor } from '../support/wait.js';

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('ACL on a local cluster: one aclfile for every node, tenancy, failover', function () {
  this.timeout(300_000);
  let cluster: LocalCluster | undefined;
  let aclfile: string;
  const clients: Array<Redis | Cluster> = [];

  const tenant = async (user: string, pass: string): Promise<Cluster> => {
    const c = new Cluster([{ host: '127.0.0.1', port: await cluster!.seedPort() }], {
      redisOptions: { username: user, password: pass, enableReadyCheck: false }, maxRedirections: 64, retryDelayOnTryAgain: 50, retryDelayOnClusterDown: 100,
    });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  const nodeClient = (port: number, user: string, pass: string): Redis => {
    const c = new Redis({ port, host: '127.0.0.1', username: user, password: pass, enableReadyCheck: false, maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };

  before(async function () {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-acl-cluster-'));
    aclfile = path.join(dir, 'users.acl');
    fs.writeFileSync(aclfile, [
      'user alice on >apw ~tenant-a:* +@all -@dangerous +keys',
      'user bob on >bpw ~tenant-b:* +@all -@dangerous +keys',
      '',
    ].join('\n'), { mode: 0o600 });
    cluster = await LocalCluster.start({ shards: 2, replicas: 1, extraArgs: ['--aclfile', aclfile] });
    // irisctl local up copied it into the cluster directory: that copy is the one every node reads.
    aclfile = path.join(cluster.dir, 'users.acl');
    expect(fs.statSync(aclfile).mode & 0o777).to.equal(0o600);
  });
  after(async function () {
    for (const c of clients) c.disconnect();
    await cluster?.destroy();
  });

  it('two tenants see only their own keys on every primary (SCAN, KEYS) and through the cluster-wide HTTP scan', async function () {
    const alice = await tenant('alice', 'apw');
    const bob = await tenant('bob', 'bpw');
    for (let i = 0; i < 30; i++) {
      await alice.set(`tenant-a:${i}`, `a${i}`);
      await bob.set(`tenant-b:${i}`, `b${i}`);
    }
    expect(await alice.get('tenant-a:7')).to.equal('a7');
    expect(await alice.get('tenant-b:7').catch((e: Error) => e.message)).to.equal('NOPERM this user has no permissions to access one of the keys used as arguments');
    const st = await cluster!.status();
    for (const [user, pass, mine] of [['alice', 'apw', 'tenant-a:'], ['bob', 'bpw', 'tenant-b:']] as const) {
      const seen: string[] = [];
      for (const s of st.shards) {
        const primary = s.nodes.find((n) => n.name === s.primary)!;
        const c = nodeClient(primary.port!, user, pass);
        const keys = await c.keys('*');
        let cursor = '0';
        const scanned: string[] = [];
        do {
          const [next, page] = await c.scan(cursor, 'COUNT', 50);
          scanned.push(...page);
          cursor = next;
        } while (cursor !== '0');
        expect(scanned.sort(), `${user} SCAN on ${primary.name}`).to.deep.equal(keys.sort());
        seen.push(...keys);
      }
      expect(seen.length, `${user} keys over all primaries`).to.equal(30);
      expect(seen.filter((k) => !k.startsWith(mine))).to.deep.equal([]);
      const httpUrl = st.shards[1]!.nodes[0]!.httpUrl!;
      const items: string[] = [];
      let next: string | null = '';
      do {
        const res = await fetch(`${httpUrl}/v1/scan?values=false&limit=7${next === '' ? '' : `&cursor=${encodeURIComponent(next!)}`}`, { headers: { authorization: basic(user, pass) } });
        expect(res.status).to.equal(200);
        const body = (await res.json()) as { items: Array<{ key: string }>; cursor: string | null };
        items.push(...body.items.map((x) => x.key));
        next = body.cursor;
      } while (next !== null);
      expect(items.sort(), `${user} HTTP scan across the cluster`).to.deep.equal([...seen].sort());
    }
  });

  it('ACL SETUSER on one node is refused, saying how users are managed; an aclfile edit reaches every node', async function () {
    const st = await cluster!.status();
    const ports = st.shards.flatMap((s) => s.nodes.map((n) => n.port!));
    const any = new Redis({ port: ports[0]!, host: '127.0.0.1', enableReadyCheck: false });
    any.on('error', () => {});
    clients.push(any);
    expect(await any.call('ACL', 'SETUSER', 'mallory', 'on', '>x', '+@all', '~*').catch((e: Error) => e.message))
      .to.match(/^ERR IrisDB cluster: users are managed in the aclfile every node reads/);
    fs.appendFileSync(aclfile, 'user carol on >cpw ~tenant-c:* +@all\n');
    for (const port of ports) {
      const c = new Redis({ port, host: '127.0.0.1', enableReadyCheck: false });
      c.on('error', () => {});
      clients.push(c);
      await waitFor(`node on ${port} to load carol`, async () => ((await c.call('ACL', 'USERS')) as string[]).includes('carol'), { timeoutMs: 15_000, intervalMs: 100 });
    }
  });

  it('after a kill -9 failover the promoted replica serves the same users', async function () {
    const s0 = (await cluster!.status()).shards[0]!;
    const old = s0.primary;
    process.kill(await cluster!.pidOf(old), 'SIGKILL');
    await waitFor('shard-0 to promote its replica', async () => {
      const s = (await cluster!.status()).shards[0]!;
      return s.primary !== old && s.failover === null && s.nodes.find((n) => n.name === s.primary)?.role === 'primary';
    }, { timeoutMs: 90_000, intervalMs: 100 });
    await cluster!.waitReady(120_000);
    const alice = await tenant('alice', 'apw');
    const values = await Promise.all(Array.from({ length: 30 }, (_, i) => alice.get(`tenant-a:${i}`)));
    expect(values).to.deep.equal(Array.from({ length: 30 }, (_, i) => `a${i}`));
    expect(await alice.get('tenant-b:1').catch((e: Error) => e.message)).to.match(/^NOPERM/);
    const s = (await cluster!.status()).shards[0]!;
    const promoted = s.nodes.find((n) => n.name === s.primary)!;
    const carol = nodeClient(promoted.port!, 'carol', 'cpw');
    expect(await carol.call('ACL', 'WHOAMI')).to.equal('carol');
  });
});
