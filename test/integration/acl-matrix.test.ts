/**
 * Every port and endpoint class of one node × {no credentials, wrong
 * credentials, right credentials, a restricted user}: rejected, rejected
 * and logged in ACL LOG, allowed, allowed only within its key pattern. Two
 * tenants with disjoint key patterns check every read and list path (RESP
 * and HTTP). Users from --aclfile survive a restart; ACL SAVE writes it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { SseParser, type ChangeEvent } from '../../common/change-feed-client.js';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';
import { keySlot } from '../../common/slot.js';
import { RawRespClient } from '../support/resp-client.js';

const ADMIN = 'admin-token-for-acl-test';
const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const ACLFILE = [
  'user alice on >apw ~tenant-a:* &tenant-a:* +@all -@dangerous +keys',
  'user bob on >bpw ~tenant-b:* &tenant-b:* +@all -@dangerous +keys',
  '',
].join('\n');

type Creds = 'none' | 'wrong' | 'right' | 'alice';
const HEADERS: Record<Creds, Record<string, string>> = {
  none: {},
  wrong: { authorization: basic('default', 'nope') },
  right: { authorization: basic('default', 'secret') },
  alice: { authorization: 'Bearer alice:apw' },
};

/** Change events from the start of the log until `n` arrived or `last` was seen. */
async function changesFor(node: RunningNode, headers: Record<string, string>, n: number, last?: string): Promise<{ status: number; keys: string[] }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 10_000);
  const res = await fetch(`${node.url}/v1/changes?from=earliest`, { headers, signal: ac.signal });
  const keys: string[] = [];
  try {
    if (res.status !== 200 || res.body === null) return { status: res.status, keys };
    const parser = new SseParser();
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    while (keys.length < n && (last === undefined || !keys.includes(last))) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const m of parser.push(dec.decode(value, { stream: true }))) {
        if (m.event === 'change') keys.push((JSON.parse(m.data) as ChangeEvent).key ?? '');
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return { status: res.status, keys };
}

describe('ACL: every port × credentials, and tenancy (one node)', function () {
  this.timeout(120_000);
  let node: RunningNode;
  let dir: string;
  let aclfile: string;
  const clients: Redis[] = [];
  const connect = (username?: string, password?: string): Redis => {
    const c = new Redis({ port: node.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, enableReadyCheck: false, retryStrategy: () => null, ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };

  before(async function () {
    dir = await makeTempDir('irisdb-acl-');
    aclfile = path.join(dir, 'users.acl');
    fs.writeFileSync(aclfile, ACLFILE, { mode: 0o600 });
    node = await startNode({ args: ['--require-pass', 'secret', '--aclfile', aclfile, '--admin-token', ADMIN] });
  });
  after(async function () {
    for (const c of clients) c.disconnect();
    await node?.stop();
  });

  it('RESP: NOAUTH without credentials, WRONGPASS (logged) with wrong ones, served with right ones, NOPERM outside the pattern', async function () {
    const raw = await RawRespClient.connect(node.port);
    try {
      const text = async (...argv: string[]): Promise<string> => (await raw.call(argv)).toString().trim();
      expect(await text('GET', 'tenant-a:1')).to.equal('-NOAUTH Authentication required.');
      expect(await text('AUTH', 'default', 'nope')).to.equal('-WRONGPASS invalid username-password pair or user is disabled.');
      expect(await text('AUTH', 'alice', 'bpw')).to.equal('-WRONGPASS invalid username-password pair or user is disabled.');
      expect(await text('AUTH', 'secret')).to.equal('+OK');
      expect(await text('SET', 'tenant-b:0', 'by-default')).to.equal('+OK');
      const log = await text('ACL', 'LOG');
      expect(log).to.include('auth').and.include('alice');
    } finally {
      raw.close();
    }
    const alice = connect('alice', 'apw');
    await alice.connect();
    expect(await alice.call('ACL', 'WHOAMI')).to.equal('alice');
    expect(await alice.set('tenant-a:1', 'a1')).to.equal('OK');
    expect(await alice.get('tenant-b:0').catch((e: Error) => e.message)).to.equal('NOPERM this user has no permissions to access one of the keys used as arguments');
    expect(await alice.call('FLUSHALL').catch((e: Error) => e.message)).to.equal("NOPERM this user has no permissions to run the 'flushall' command");
    expect(await alice.publish('tenant-b:news', 'x').catch((e: Error) => e.message)).to.match(/^NOPERM .*channels/);
  });

  it('HTTP KV, batch, scan, change feed: 401 without or with wrong credentials (logged), 200 with right ones, 403 outside the pattern', async function () {
    const kv = (c: Creds, method: string, key: string, body?: string) =>
      fetch(`${node.url}/v1/kv/${encodeURIComponent(key)}`, { method, headers: { ...HEADERS[c], ...(body !== undefined ? { 'content-type': 'application/octet-stream' } : {}) }, ...(body !== undefined ? { body } : {}) });
    const batch = (c: Creds, key: string) => fetch(`${node.url}/v1/kv:batch`, {
      method: 'POST', headers: { ...HEADERS[c], 'content-type': 'application/json' }, body: JSON.stringify({ ops: [{ op: 'get', key }] }),
    });
    const scan = (c: Creds) => fetch(`${node.url}/v1/scan?values=false`, { headers: HEADERS[c] });
    for (const c of ['none', 'wrong'] as const) {
      expect((await kv(c, 'GET', 'tenant-a:1')).status, `GET ${c}`).to.equal(401);
      expect((await kv(c, 'PUT', 'tenant-a:9', 'x')).status, `PUT ${c}`).to.equal(401);
      expect((await kv(c, 'DELETE', 'tenant-a:1')).status, `DELETE ${c}`).to.equal(401);
      expect((await batch(c, 'tenant-a:1')).status, `batch ${c}`).to.equal(401);
      expect((await scan(c)).status, `scan ${c}`).to.equal(401);
      expect((await changesFor(node, HEADERS[c], 1)).status, `changes ${c}`).to.equal(401);
    }
    expect((await kv('right', 'GET', 'tenant-b:0')).status).to.equal(200);
    expect((await kv('right', 'PUT', 'tenant-b:2', 'b2')).status).to.equal(200);
    expect((await batch('right', 'tenant-a:1')).status).to.equal(200);
    expect((await kv('alice', 'GET', 'tenant-a:1')).status).to.equal(200);
    expect((await kv('alice', 'PUT', 'tenant-a:2', 'a2')).status).to.equal(200);
    const denied = await kv('alice', 'GET', 'tenant-b:0');
    expect(denied.status).to.equal(403);
    expect(((await denied.json()) as { error: { code: string; message: string } }).error).to.deep.include({
      code: 'forbidden', message: 'NOPERM this user has no permissions to access one of the keys used as arguments',
    });
    expect((await kv('alice', 'PUT', 'tenant-b:3', 'x')).status).to.equal(403);
    expect((await kv('alice', 'DELETE', 'tenant-b:0')).status).to.equal(403);
    expect((await batch('alice', 'tenant-b:0')).status).to.equal(403);
    const admin = connect('default', 'secret');
    await admin.connect();
    const log = (await admin.call('ACL', 'LOG')) as unknown[][];
    expect(log.some((e) => e.includes('key') && e.includes('alice') && e.includes('tenant-b:3'))).to.equal(true);
    expect(log.some((e) => e.includes('auth') && String(e[e.length - 1]).includes('http='))).to.equal(true);
  });

  it('/admin takes its token only; /metrics and the probes stay open', async function () {
    const admin = (h: Record<string, string>) => fetch(`${node.url}/admin/replication/status`, { headers: h });
    expect((await admin({})).status).to.equal(401);
    expect((await admin({ authorization: 'Bearer nope' })).status).to.equal(401);
    expect((await admin(HEADERS.alice)).status).to.equal(401);
    expect((await admin({ authorization: `Bearer ${ADMIN}` })).status).to.not.equal(401);
    expect((await fetch(`${node.url}/metrics`)).status).to.equal(200);
    expect((await fetch(`${node.url}/healthz`)).status).to.equal(200);
  });

  it('two tenants see only their own keys on every read and list path (RESP and HTTP)', async function () {
    const admin = connect('default', 'secret');
    await admin.connect();
    await admin.flushall();
    const alice = connect('alice', 'apw');
    const bob = connect('bob', 'bpw');
    await Promise.all([alice.connect(), bob.connect()]);
    for (let i = 0; i < 20; i++) {
      await alice.set(`tenant-a:${i}`, `a${i}`);
      await bob.set(`tenant-b:${i}`, `b${i}`);
    }
    for (const [user, c, mine, other] of [['alice', alice, 'tenant-a:', 'tenant-b:'], ['bob', bob, 'tenant-b:', 'tenant-a:']] as const) {
      const keys = (await c.keys('*')).sort();
      expect(keys, `${user} KEYS`).to.have.length(20);
      expect(keys.every((k) => k.startsWith(mine))).to.equal(true);
      const scanned: string[] = [];
      let cursor = '0';
      do {
        const [next, page] = await c.scan(cursor, 'COUNT', 7);
        scanned.push(...page);
        cursor = next;
      } while (cursor !== '0');
      expect(scanned.sort(), `${user} SCAN`).to.deep.equal(keys);
      expect(await c.dbsize(), `${user} DBSIZE`).to.equal(20);
      for (let i = 0; i < 10; i++) expect((await c.randomkey())!.startsWith(mine), `${user} RANDOMKEY`).to.equal(true);
      const slot = keySlot(Buffer.from(`${other}3`));
      expect(await c.call('CLUSTER', 'COUNTKEYSINSLOT', slot), `${user} COUNTKEYSINSLOT`).to.equal(0);
      expect(await c.call('CLUSTER', 'GETKEYSINSLOT', slot, 100), `${user} GETKEYSINSLOT`).to.deep.equal([]);
      expect(await c.exists(`${other}3`).catch((e: Error) => e.message)).to.match(/^NOPERM/);
      expect(await c.call('TYPE', `${other}3`).catch((e: Error) => e.message)).to.match(/^NOPERM/);
      expect(await c.call('DUMP', `${other}3`).catch((e: Error) => e.message)).to.match(/^NOPERM/);
      expect(await c.call('COPY', `${other}3`, `${mine}copy`).catch((e: Error) => e.message)).to.match(/^NOPERM/);
      expect(await c.call('RENAME', `${mine}3`, `${other}x`).catch((e: Error) => e.message)).to.match(/^NOPERM/);
      const auth = { authorization: user === 'alice' ? basic('alice', 'apw') : 'Bearer bob:bpw' };
      const res = await fetch(`${node.url}/v1/scan`, { headers: auth });
      const body = (await res.json()) as { items: Array<{ key: string; value: string }> };
      expect(body.items.map((x) => x.key).sort(), `${user} HTTP scan`).to.deep.equal(keys);
      // From the start of the log: the earlier tests' writes and FLUSHALL (a 'clear' event, no key) come first.
      const feed = await changesFor(node, auth, 1000, `${mine}19`);
      const feedKeys = feed.keys.filter((k) => k !== '');
      expect(feedKeys.length, `${user} change feed`).to.be.at.least(20);
      expect(feedKeys.filter((k) => !k.startsWith(mine)), `${user} change feed keys`).to.deep.equal([]);
    }
    expect(await admin.dbsize()).to.equal(40);
  });

  it('a subscriber whose user loses the channel is disconnected, as Redis does', async function () {
    const sub = connect('alice', 'apw');
    await sub.connect();
    await sub.subscribe('tenant-a:news');
    const ended = new Promise<void>((resolve) => sub.once('end', () => resolve()));
    const admin = connect('default', 'secret');
    await admin.connect();
    const other = connect('alice', 'apw');
    await other.connect();
    expect(await admin.call('ACL', 'SETUSER', 'alice', 'resetchannels')).to.equal('OK');
    await ended;
    // A connection of the same user that subscribes to nothing stays.
    expect(await other.call('ACL', 'WHOAMI')).to.equal('alice');
    expect(await other.publish('tenant-a:news', 'x').catch((e: Error) => e.message)).to.match(/^NOPERM .*channels/);
    expect(await admin.call('ACL', 'SETUSER', 'alice', '&tenant-a:*')).to.equal('OK');
  });

  it('ACL SETUSER + ACL SAVE survive a kill -9 and restart; an edited aclfile applies without one', async function () {
    const admin = connect('default', 'secret');
    await admin.connect();
    expect(await admin.call('ACL', 'SETUSER', 'carol', 'on', '>cpw', '~tenant-c:*', '+@all')).to.equal('OK');
    expect(await admin.call('ACL', 'SAVE')).to.equal('OK');
    expect(fs.statSync(aclfile).mode & 0o777).to.equal(0o600);
    for (const c of clients.splice(0)) c.disconnect();
    // ACL SAVE wrote the file before answering: even a kill -9 keeps carol.
    await node.kill9();
    node = await node.restart();
    const carol = connect('carol', 'cpw');
    await carol.connect();
    expect(await carol.set('tenant-c:1', 'x')).to.equal('OK');
    expect(await carol.set('tenant-a:1', 'x').catch((e: Error) => e.message)).to.match(/^NOPERM/);
    // Rotation: a second password added in the file, then the first removed; the node reloads it by itself.
    fs.writeFileSync(aclfile, fs.readFileSync(aclfile, 'utf8').replace(/^user carol .*$/m, 'user carol on >cpw2 ~tenant-c:* +@all'));
    const deadline = Date.now() + 10_000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      const c = new Redis({ port: node.port, host: '127.0.0.1', username: 'carol', password: 'cpw2', lazyConnect: true, retryStrategy: () => null });
      c.on('error', () => {});
      ok = await c.connect().then(() => true, () => false);
      c.disconnect();
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ok, 'carol authenticates with the new password after the file changed').to.equal(true);
    const raw = await RawRespClient.connect(node.port);
    expect((await raw.call(['AUTH', 'carol', 'cpw'])).toString()).to.match(/^-WRONGPASS/);
    raw.close();
  });
});
