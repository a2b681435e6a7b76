/**
 * The audit log end to end: a real node with --audit-log-file (RESP AUTH,
 * ACL SETUSER, CONFIG SET, FLUSHALL, HTTP Basic, the admin token), a
 * restart that continues the chain, `irisctl audit verify` on the real file
 * and on copies with one record edited, removed or two swapped; then a
 * local cluster whose controller records a failover asked through the
 * control API (and a request with a wrong token).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';
import { IRISCTL, LocalCluster } from '../support/local-cluster.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { RawBusPeer } from '../support/raw-bus.js';
import { FrameType } from '../../node/replication/frames.js';

interface Rec { seq: number; event: string; user: string | null; remote: string | null; outcome: string; detail: Record<string, unknown>; source: string; time: string }

const records = (file: string): Rec[] => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Rec);
const verify = (...args: string[]) => run(process.execPath, [IRISCTL, 'audit', 'verify', ...args]);
const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('audit log: hash-chained records of authentications and admin actions', function () {
  this.timeout(240_000);
  let dir: string;
  let file: string;
  let node: RunningNode | undefined;
  let cluster: LocalCluster | undefined;
  const ADMIN = 'a'.repeat(40);

  before(async function () {
    dir = await makeTempDir('irisdb-audit-');
    file = path.join(dir, 'audit', 'node.log');
    node = await startNode({ args: ['--require-pass', 'pw', '--audit-log-file', file, '--admin-token', ADMIN, '--node-name', 'audited'] });
  });
  after(async function () {
    await node?.stop();
    await cluster?.destroy();
  });

  it('records each audited action once, with who, from where, what and the outcome; never a password', async function () {
    const bad = new Redis({ port: node!.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false });
    await bad.connect();
    await bad.auth('wrong').then(() => expect.fail('AUTH with a wrong password succeeded'), (e: Error) => expect(e.message).to.match(/WRONGPASS/));
    await bad.auth('pw');
    await bad.call('ACL', 'SETUSER', 'bob', 'on', '>bobsecret', '~*', '+@all');
    await bad.call('CONFIG', 'SET', 'slowlog-max-len', '77');
    await bad.set('k', 'v');
    await bad.flushall();
    bad.disconnect();
    expect((await fetch(`${node!.url}/v1/kv/k`, { headers: { authorization: basic('default', 'nope') } })).status).to.equal(401);
    expect((await fetch(`${node!.url}/v1/kv/k`, { headers: { authorization: basic('default', 'pw') } })).status).to.equal(404);
    expect((await fetch(`${node!.url}/admin/replication`, { headers: { authorization: 'Bearer wrong' } })).status).to.equal(401);

    const rs = await waitFor('the audit records of every action', () => {
      const r = fs.existsSync(file) ? records(file) : [];
      return r.some((x) => x.detail.via === 'admin') && r.length >= 8 ? r : null;
    });
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    const resp = (command: string) => rs.filter((r) => r.detail.command === command && r.detail.via === undefined);
    const auths = resp('AUTH');
    expect(auths.map((r) => [r.user, r.outcome])).to.deep.equal([['default', 'failure'], ['default', 'success']]);
    expect(auths[0]!.remote).to.match(/^127\.0\.0\.1:\d+$/);
    expect(resp('ACL SETUSER')).to.have.length(1);
    expect(resp('ACL SETUSER')[0]).to.deep.include({ event: 'acl', user: 'default', outcome: 'success', source: 'audited' });
    expect(resp('ACL SETUSER')[0]!.detail.rules).to.deep.equal(['on', '>(redacted)', '~*', '+@all']);
    expect(resp('CONFIG SET')).to.have.length(1);
    expect(resp('CONFIG SET')[0]!.detail.parameters).to.deep.equal({ 'slowlog-max-len': '77' });
    expect(resp('FLUSHALL')).to.have.length(1);
    expect(rs.filter((r) => r.detail.command === 'SET')).to.have.length(0);
    const http = rs.filter((r) => r.detail.via === 'http');
    expect(http.map((r) => [r.user, r.outcome])).to.deep.equal([['default', 'failure'], ['default', 'success']]);
    const admin = rs.filter((r) => r.detail.via === 'admin');
    expect(admin.map((r) => [r.event, r.outcome, r.detail.path])).to.deep.equal([['auth', 'failure', '/admin/replication']]);
    expect(rs.map((r) => r.seq)).to.deep.equal(rs.map((_r, i) => i + 1));
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.to.contain('bobsecret');
    expect(text).not.to.contain('"pw"');
  });

  it('a restart continues the chain; irisctl audit verify passes on the real file', async function () {
    const before = records(file).length;
    expect(await node!.stop()).to.equal(0);
    node = await node!.restart();
    const c = new Redis({ port: node.port, host: '127.0.0.1', password: 'pw', maxRetriesPerRequest: 0 });
    await c.ping();
    c.disconnect();
    const rs = await waitFor('the AUTH after the restart', () => {
      const r = records(file);
      return r.length > before ? r : null;
    });
    expect(rs[before]!.seq).to.equal(before + 1);
    const ok = await verify(file);
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain(`${rs.length} records (seq 1..${rs.length}), chain intact`);
  });

  it('names the first bad record of a copy with one record edited, one removed, or two swapped', async function () {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    expect(lines.length).to.be.greaterThan(4);
    const check = async (name: string, changed: string[], line: number, seq: number) => {
      const copy = path.join(dir, `${name}.log`);
      fs.writeFileSync(copy, `${changed.join('\n')}\n`);
      const r = await verify(copy);
      expect(r.code, `${name}: ${r.stdout}`).to.equal(1);
      expect(r.stdout, name).to.contain(`chain broken at line ${line} (seq ${seq})`);
    };
    const edited = [...lines];
    edited[2] = edited[2]!.replace(/"outcome":"(success|failure)"/, (_m, o: string) => `"outcome":"${o === 'success' ? 'failure' : 'success'}"`);
    await check('edited', edited, 3, 3);
    await check('removed', [...lines.slice(0, 1), ...lines.slice(2)], 2, 3);
    const swapped = [...lines];
    [swapped[1], swapped[3]] = [swapped[3]!, swapped[1]!];
    await check('swapped', swapped, 2, 4);
  });

  it('--audit-writes records each write command with its first key, never its value; a bus peer without the secret is recorded', async function () {
    const wfile = path.join(dir, 'audit', 'writes.log');
    const w = await startNode({ args: ['--audit-log-file', wfile, '--audit-writes', 'yes', '--admin-token', ADMIN, '--node-name', 'writes'] });
    try {
      const c = new Redis({ port: w.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      await c.set('wk', 'secret-value');
      await c.get('wk');
      await c.del('wk');
      c.disconnect();
      const peer = await RawBusPeer.connect(w.busPort);
      peer.send(FrameType.Hello, { name: 'intruder', epoch: 1 });
      await peer.waitClosed();
      const rs = await waitFor('the write and bus records', () => {
        const r = fs.existsSync(wfile) ? records(wfile) : [];
        return r.some((x) => x.detail.via === 'cluster bus') && r.filter((x) => x.event === 'write').length >= 2 ? r : null;
      });
      expect(rs.filter((r) => r.event === 'write').map((r) => [r.detail.command, r.detail.key, r.user, r.outcome])).to.deep.equal([
        ['SET', 'wk', 'default', 'success'], ['DEL', 'wk', 'default', 'success'],
      ]);
      expect(rs.filter((r) => r.detail.via === 'cluster bus').map((r) => [r.event, r.outcome])).to.deep.equal([['auth', 'failure']]);
      expect(fs.readFileSync(wfile, 'utf8')).not.to.contain('secret-value');
    } finally {
      await w.stop();
    }
  });

  it('the local controller records a failover asked through the control API, and a wrong token', async function () {
    cluster = await LocalCluster.start({ shards: 1, replicas: 1 });
    const s0 = (await cluster.status()).shards[0]!;
    await cluster.client.failover(s0.id);
    const res = await fetch(`${cluster.client.url}/scale`, { method: 'POST', headers: { authorization: 'Bearer wrong' }, body: '{"shards":2}' });
    expect(res.status).to.equal(401);
    const controllerLog = path.join(cluster.dir, 'audit', 'controller.log');
    const rs = await waitFor('the controller\'s audit records', () => {
      const r = fs.existsSync(controllerLog) ? records(controllerLog) : [];
      return r.some((x) => x.event === 'auth') ? r : null;
    });
    const failovers = rs.filter((r) => r.event === 'control' && r.detail.path === '/failover');
    expect(failovers).to.have.length(1);
    expect(failovers[0]).to.deep.include({ user: 'cluster-token', outcome: 'success', source: 'controller' });
    expect(failovers[0]!.detail).to.deep.include({ status: 202, body: { shard: s0.id } });
    expect(rs.filter((r) => r.event === 'auth').map((r) => [r.outcome, r.detail.path])).to.deep.equal([['failure', '/scale']]);
    for (const f of fs.readdirSync(path.join(cluster.dir, 'audit'))) {
      const r = await verify(path.join(cluster.dir, 'audit', f));
      expect(r.code, `${f}: ${r.stdout}`).to.equal(0);
    }
  });
});
