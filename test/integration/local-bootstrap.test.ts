/**
 * The local cluster as a new user meets it. `irisctl local up` bootstraps 3
 * shards × 1 replica: every slot served exactly once, `redis-cli --cluster
 * check` passes, ioredis Cluster reads and writes, `irisctl status` shows it.
 * And `npm start` itself: start, connect with `redis-cli -c`, write, Ctrl-C,
 * start again, read the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { slotOwners, type ClusterMap } from '../../common/cluster-map.js';
import { AdminClient } from '../../common/admin-client.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { localDown } from '../../operator/local/down.js';
import { IRISCTL, LocalCluster, freeBasePort } from '../support/local-cluster.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '../../..');

describe('local cluster: bootstrap with irisctl local up (3 shards × 1 replica)', function () {
  this.timeout(180_000);
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 1 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('assigns all 16384 slots, each to exactly one shard, on every node', async () => {
    const st = await cluster.status();
    expect(st.phase).to.equal('Ready');
    expect(st.slotsAssigned).to.equal(SLOT_COUNT);
    expect(st.shards).to.have.length(3);
    for (const s of st.shards) {
      expect(s.nodes).to.have.length(2);
      expect(s.nodes.filter((n) => n.role === 'primary').map((n) => n.name)).to.deep.equal([s.primary]);
      expect(s.nodes.every((n) => n.up)).to.equal(true);
      expect(s.slotCount).to.be.within(5461, 5462);
    }
    const token = (await fs.promises.readFile(path.join(cluster.dir, 'token'), 'utf8')).trim();
    const maps: ClusterMap[] = [];
    for (const n of st.shards.flatMap((s) => s.nodes)) {
      const m = await new AdminClient(n.httpUrl!, token).clusterMap();
      expect(m, n.name).to.not.equal(null);
      maps.push(m!);
    }
    expect(new Set(maps.map((m) => m.epoch)).size).to.equal(1);
    const owners = slotOwners(maps[0]!);
    expect(owners.every((o) => o >= 0)).to.equal(true);
  });

  it('passes redis-cli --cluster check', async () => {
    const r = await run('redis-cli', ['--cluster', 'check', `127.0.0.1:${await cluster.seedPort()}`], { timeoutMs: 60_000 });
    const out = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    expect(r.code, out + r.stderr).to.equal(0);
    expect(out).to.contain('[OK] All nodes agree about slots configuration.');
    expect(out).to.contain('[OK] All 16384 slots covered.');
    expect(out).to.not.match(/\[ERR\]|\[WARNING\]/);
  });

  it('serves ioredis Cluster writes and reads across every shard', async () => {
    const client = new Cluster([{ host: '127.0.0.1', port: await cluster.seedPort() }], { maxRedirections: 16 });
    client.on('error', () => {});
    try {
      const keys = Array.from({ length: 600 }, (_, i) => `boot:${i}`);
      expect((await Promise.all(keys.map((k) => client.set(k, `v-${k}`)))).every((r) => r === 'OK')).to.equal(true);
      const got = await Promise.all(keys.map((k) => client.get(k)));
      got.forEach((v, i) => expect(v).to.equal(`v-${keys[i]}`));
      const sizes = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
      expect(sizes).to.have.length(3);
      expect(sizes.every((n) => n > 100)).to.equal(true); // every shard took its share
    } finally {
      client.disconnect();
    }
  });

  it('shows the cluster with irisctl status (table and --json)', async () => {
    const table = await run(process.execPath, [IRISCTL, 'status', '--dir', cluster.dir], { timeoutMs: 30_000 });
    expect(table.code, table.stderr).to.equal(0);
    for (const s of ['shard-0', 'shard-1', 'shard-2', 'Ready']) expect(table.stdout).to.contain(s);
    const json = await run(process.execPath, [IRISCTL, 'status', '--dir', cluster.dir, '--json'], { timeoutMs: 30_000 });
    expect(json.code, json.stderr).to.equal(0);
    const st = JSON.parse(json.stdout) as { phase: string; slotsAssigned: number };
    expect(st).to.include({ phase: 'Ready', slotsAssigned: SLOT_COUNT });
  });

  // Issue #14 item 7: the cluster directory and the controller's log were world-readable (0755 / 0644).
  it('keeps the cluster directory, its logs and the controller log private to the user', async () => {
    const mode = async (p: string) => (await fs.promises.stat(p)).mode & 0o777;
    expect(await mode(cluster.dir), 'the cluster directory').to.equal(0o700);
    expect(await mode(path.join(cluster.dir, 'logs')), 'the logs directory').to.equal(0o700);
    expect(await mode(path.join(cluster.dir, 'logs', 'controller.log')), 'the controller log').to.equal(0o600);
  });

  // Issue #14 item 6: any local process could POST /failover or /scale.
  it('refuses the control API without the cluster token (curl), and irisctl sends it (--dir, or --url with --token-file)', async () => {
    const url = cluster.client.url;
    const tokenFile = path.join(cluster.dir, 'token');
    expect((await fs.promises.stat(tokenFile)).mode & 0o777, 'the token is readable by its owner only').to.equal(0o600);
    const before = await cluster.status();
    const anonymous = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', 'content-type: application/json', '-d', '{"shard":"shard-0"}', `${url}/failover`]);
    expect(anonymous.stdout).to.equal('401');
    const wrong = await run('curl', ['-s', '-H', `authorization: Bearer ${'0'.repeat(64)}`, `${url}/status`]);
    expect(JSON.parse(wrong.stdout)).to.deep.equal({ error: { code: 'unauthorized', message: 'the control API needs the cluster token (Authorization: Bearer <token>, from the cluster directory\'s token file): use irisctl' } });
    expect((await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${url}/healthz`])).stdout, '/healthz needs no token').to.equal('200');
    const after = await cluster.status();
    expect(after.shards.map((s) => [s.primary, s.epoch]), 'no failover happened').to.deep.equal(before.shards.map((s) => [s.primary, s.epoch]));

    const byUrl = await run(process.execPath, [IRISCTL, 'slots', '--url', url, '--token-file', tokenFile, '--json'], { timeoutMs: 30_000 });
    expect(byUrl.code, byUrl.stderr).to.equal(0);
    const noFile = await run(process.execPath, [IRISCTL, 'slots', '--url', url, '--token-file', path.join(cluster.dir, 'missing')], { timeoutMs: 30_000 });
    expect(noFile.code).to.equal(1);
    expect(noFile.stderr).to.contain(`no control API token at ${path.join(cluster.dir, 'missing')}`);
  });
});

describe('npm start, as a new user runs it', function () {
  this.timeout(600_000);
  let dir: string;
  let basePort: number;
  let proc: ChildProcess | null = null;

  before(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-npm-start-'));
    basePort = await freeBasePort();
  });

  after(async () => {
    if (proc !== null && proc.exitCode === null && proc.signalCode === null) {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch { /* already gone */ }
    }
    await localDown(dir).catch(() => undefined);
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  /** `npm start` in its own process group, as a terminal runs it; resolves with the port it says to connect to. */
  async function npmStart(): Promise<{ port: number; output: () => string }> {
    let out = '';
    const p = spawn('npm', ['start', '--', '--dir', dir, '--base-port', String(basePort)], { cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    // waitFor retries a probe that throws: an exit is returned, and thrown after.
    const port = await waitFor('npm start to print how to connect', () => {
      if (p.exitCode !== null || p.signalCode !== null) return -1;
      const m = /redis-cli -c -p (\d+)/.exec(out);
      return m === null ? null : Number(m[1]);
    }, { timeoutMs: 400_000, intervalMs: 200 });
    if (port === -1) throw new Error(`npm start exited with ${p.exitCode ?? p.signalCode}:\n${out.slice(-3000)}`);
    return { port, output: () => out };
  }

  /**
   * Ctrl-C in the terminal: SIGINT to the whole foreground process group.
   * Resolves with how npm ended: exit code 0, or killed by the SIGINT it
   * re-raises on itself once its script has finished (as npm does).
   */
  async function ctrlC(): Promise<string> {
    const p = proc!;
    const exited = new Promise<string>((r) => p.once('exit', (code, signal) => r(signal ?? `exit ${code}`)));
    process.kill(-p.pid!, 'SIGINT');
    return exited;
  }

  it('starts, takes writes from redis-cli -c, stops on Ctrl-C and resumes the same data', async () => {
    const first = await npmStart();
    expect(first.output()).to.contain('IrisDB is up');
    const keys = ['greeting', 'user:1', 'user:2', '{cart}:a', 'counter'];
    for (const k of keys) {
      const r = await run('redis-cli', ['-c', '-p', String(first.port), 'SET', k, `value of ${k}`]);
      expect(r.stdout.trim(), r.stderr).to.equal('OK');
    }
    expect((await run('redis-cli', ['-c', '-p', String(first.port), 'INCR', 'counter2'])).stdout.trim()).to.equal('1');
    expect(await ctrlC()).to.be.oneOf(['exit 0', 'SIGINT']);
    expect(first.output()).to.contain('stopped');
    // Every node process is gone with it; the data stays.
    const nodesDir = path.join(dir, 'nodes');
    expect(fs.readdirSync(nodesDir)).to.have.length(6);
    const local = JSON.parse(fs.readFileSync(path.join(dir, 'local.json'), 'utf8')) as { nodes: Record<string, { pid: number | null }>; controller: unknown };
    expect(local.controller).to.equal(null);
    expect(Object.values(local.nodes).map((n) => n.pid)).to.deep.equal([null, null, null, null, null, null]);
    const refused = await run('redis-cli', ['-p', String(first.port), 'PING']);
    expect(refused.stdout + refused.stderr).to.match(/refused|Could not connect/i);

    const second = await npmStart();
    expect(second.port).to.equal(first.port);
    for (const k of keys) {
      const r = await run('redis-cli', ['-c', '-p', String(second.port), 'GET', k]);
      expect(r.stdout.trim(), r.stderr).to.equal(`value of ${k}`);
    }
    expect((await run('redis-cli', ['-c', '-p', String(second.port), 'INCR', 'counter2'])).stdout.trim()).to.equal('2');
    expect(await ctrlC()).to.be.oneOf(['exit 0', 'SIGINT']);
  });
});
