/**
 * The local platform (operator/local/process-platform.ts, down.ts) with
 * real dist/node/main.js processes: a node is placed on its ports and
 * serves; kill -9 is seen at once and the node comes back on its data; a
 * second platform on the same directory (a restarted controller) adopts the
 * running node instead of starting a duplicate; deleteNode removes the
 * data; stopAll then start() resumes on the data; `local down` stops a
 * controller and nodes left orphaned by a dead one.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { silentLogger } from '../../common/logger.js';
import { localDown } from '../../operator/local/down.js';
import { CONTROL_OFFSET, clusterPaths, nodeDataDir, nodeLogFile, nodePorts, readOrCreateToken } from '../../operator/local/layout.js';
import { LocalStateFile, readLocalState, writeLocalState } from '../../operator/local/local-state.js';
import { isAlive } from '../../common/process-alive.js';
import { findNodeProcesses } from '../../operator/local/node-process.js';
import { ProcessPlatform } from '../../operator/local/process-platform.js';
import type { NodeEndpoint } from '../../operator/platform/types.js';
import { makeTempDir, NODE_MAIN } from '../support/node-process.js';
import { waitFor } from '../support/wait.js';

const A = 'iris-shard-0-0';
const B = 'iris-shard-0-1';
/** Node indexes the test may use (each needs its three ports free). */
const INDEXES = 3;

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A random base port in 20000..40000 whose node ports (and control port) are free. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    const ports = [base + CONTROL_OFFSET];
    for (let i = 0; i < INDEXES; i++) {
      const p = nodePorts(base, i);
      ports.push(p.port, p.httpPort, p.busPort);
    }
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free base port found in 50 attempts');
}

function client(ep: NodeEndpoint): Redis {
  return new Redis({ port: ep.port, host: ep.host, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
}

async function withClient<T>(ep: NodeEndpoint, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = client(ep);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function ready(ep: NodeEndpoint): Promise<boolean> {
  const res = await fetch(`${ep.httpUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
  return res !== null && res.status === 200;
}

describe('local platform: nodes as processes on loopback', function () {
  this.timeout(120_000);

  let dir: string;
  let basePort: number;
  let token: string;
  /** The platform currently supervising (stopped in after()). */
  let active: ProcessPlatform | null = null;
  let fakeController: ChildProcess | null = null;
  const exits: string[] = [];
  let epA: NodeEndpoint;

  function platform(): ProcessPlatform {
    const p = new ProcessPlatform({
      dir, basePort, token, nodeMain: NODE_MAIN, logger: silentLogger(),
      // No controller pushes a map here: the platform's --cluster-enabled yes is overridden (a later flag wins)
      // so the nodes serve standalone and the test can write to them.
      nodeArgs: ['--log-level', 'warn', '--cluster-enabled', 'no'], restartBackoffMs: { initial: 100, max: 1000 }, stopGraceMs: 5000,
    });
    p.onNodeExit((name) => exits.push(name));
    active = p;
    return p;
  }

  before(async () => {
    dir = await makeTempDir('irisdb-local-platform-');
    basePort = await freeBasePort();
    token = await readOrCreateToken(dir);
  });

  after(async () => {
    // Every process this suite started goes, even after a failure: the live platform's, then anything recorded or found under D/nodes.
    await active?.stopAll().catch(() => undefined);
    if (fakeController !== null && fakeController.exitCode === null && fakeController.signalCode === null) fakeController.kill('SIGKILL');
    await localDown(dir, { timeoutMs: 5000 }).catch(() => undefined);
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('ensureNode places a node on its ports; it answers PING and /healthz', async () => {
    const p = platform();
    await p.start();
    epA = await p.ensureNode(A, 'shard-0');
    const ports = nodePorts(basePort, 0);
    expect(epA).to.deep.equal({ host: '127.0.0.1', port: ports.port, busPort: ports.busPort, httpUrl: `http://127.0.0.1:${ports.httpPort}` });
    // Idempotent: the running node is left alone.
    const pid = p.pidOf(A);
    expect(pid).to.be.a('number');
    expect(await p.ensureNode(A, 'shard-0')).to.deep.equal(epA);
    expect(p.pidOf(A)).to.equal(pid);

    await waitFor('node A ready', () => ready(epA), { timeoutMs: 30_000 });
    expect(await withClient(epA, (r) => r.ping())).to.equal('PONG');
    const health = await fetch(`${epA.httpUrl}/healthz`);
    expect(health.status).to.equal(200);
    const state = await readLocalState(dir);
    expect(state!.basePort).to.equal(basePort);
    expect(state!.nodes[A]).to.include({ shard: 'shard-0', index: 0, pid });
    expect(fs.existsSync(nodeLogFile(dir, A))).to.equal(true);
    // The token is in the node's environment, not on its (world-readable) command line.
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.to.contain(token);
  });

  it('kill -9: onNodeExit fires and the node comes back on its data, restarts = 1', async () => {
    const p = active!;
    expect(await withClient(epA, (r) => r.set('survives', 'kill-9'))).to.equal('OK');
    const pid = p.pidOf(A)!;
    process.kill(pid, 'SIGKILL');
    await waitFor('onNodeExit for A', () => exits.includes(A));
    await waitFor('A restarted', () => { const q = p.pidOf(A); return q !== null && q !== pid; });
    await waitFor('A ready again', () => ready(epA), { timeoutMs: 30_000 });
    expect(await withClient(epA, (r) => r.get('survives'))).to.equal('kill-9');
    const node = p.nodes().find((n) => n.name === A)!;
    expect(node).to.include({ restarts: 1, running: true, shard: 'shard-0' });
    expect(node.lastExitAt).to.be.a('number');
    expect((await readLocalState(dir))!.nodes[A]!.pid).to.equal(p.pidOf(A));
  });

  it('a second platform on the same directory adopts the running node instead of starting another', async () => {
    const first = active!;
    const pid = first.pidOf(A)!;
    first.detach(); // the controller is gone; its node keeps running
    const second = platform();
    await second.start();
    expect(second.pidOf(A)).to.equal(pid);
    expect(await second.ensureNode(A, 'shard-0')).to.deep.equal(epA);
    expect(second.pidOf(A)).to.equal(pid);
    expect(findNodeProcesses(clusterPaths(dir).nodesDir).filter((f) => f.name === A).map((f) => f.pid)).to.deep.equal([pid]);

    // An adopted node is not our child: its exit is seen by polling, and it is restarted all the same.
    exits.length = 0;
    process.kill(pid, 'SIGKILL');
    await waitFor('onNodeExit for adopted A', () => exits.includes(A));
    await waitFor('adopted A restarted', () => { const q = second.pidOf(A); return q !== null && q !== pid; });
    await waitFor('A ready again', () => ready(epA), { timeoutMs: 30_000 });
    expect(await withClient(epA, (r) => r.get('survives'))).to.equal('kill-9');
    expect(second.nodes().find((n) => n.name === A)!.restarts).to.equal(1);
  });

  it('stopNode holds a node down until startNode', async () => {
    const p = active!;
    const epB = await p.ensureNode(B, 'shard-0');
    expect(epB.port).to.equal(nodePorts(basePort, 1).port);
    await waitFor('node B ready', () => ready(epB), { timeoutMs: 30_000 });
    const pid = p.pidOf(B)!;
    exits.length = 0;
    await p.stopNode(B);
    expect(isAlive(pid)).to.equal(false);
    expect(p.pidOf(B)).to.equal(null);
    expect(p.nodes().find((n) => n.name === B)!.running).to.equal(false);
    expect(exits).to.deep.equal([]); // asked to stop: not an exit to react to
    expect((await readLocalState(dir))!.nodes[B]!.pid).to.equal(null);
    // ensureNode leaves a node held by stopNode alone.
    await p.ensureNode(B, 'shard-0');
    expect(p.pidOf(B)).to.equal(null);
    await p.startNode(B);
    await waitFor('node B ready after startNode', () => ready(epB), { timeoutMs: 30_000 });
  });

  it('deleteNode stops the node and removes its data and entry, keeping its log', async () => {
    const p = active!;
    const pid = p.pidOf(B)!;
    await p.deleteNode(B);
    expect(isAlive(pid)).to.equal(false);
    expect(fs.existsSync(nodeDataDir(dir, B))).to.equal(false);
    expect(fs.existsSync(nodeLogFile(dir, B))).to.equal(true);
    expect(p.nodes().map((n) => n.name)).to.deep.equal([A]);
    expect(Object.keys((await readLocalState(dir))!.nodes)).to.deep.equal([A]);
    await p.deleteNode(B); // idempotent
  });

  it('stopAll stops every node; a new platform resumes them on their data', async () => {
    const p = active!;
    const pid = p.pidOf(A)!;
    await p.stopAll();
    expect(isAlive(pid)).to.equal(false);
    expect((await readLocalState(dir))!.nodes[A]).to.include({ pid: null, index: 0 });
    let refused: unknown = null;
    await p.ensureNode(A, 'shard-0').catch((err: unknown) => { refused = err; });
    expect(String(refused)).to.match(/stopped/);

    // The recorded pid now belongs to another process (pid reuse): it must be neither adopted nor signalled.
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await waitFor('stranger running', () => stranger.pid !== undefined && isAlive(stranger.pid));
      const st = (await readLocalState(dir))!;
      await writeLocalState(dir, { ...st, nodes: { ...st.nodes, [A]: { ...st.nodes[A]!, pid: stranger.pid!, startedAt: Date.now() } } });

      const next = platform();
      await next.start();
      expect(next.pidOf(A)).to.be.a('number').and.not.equal(stranger.pid);
      expect(isAlive(stranger.pid!)).to.equal(true);
    } finally {
      stranger.kill('SIGKILL');
    }
    await waitFor('A ready after resume', () => ready(epA), { timeoutMs: 30_000 });
    expect(await withClient(epA, (r) => r.get('survives'))).to.equal('kill-9');
    expect(active!.pidOf(A)).to.not.equal(null);
  });

  it('local down stops a live controller, then nodes it left behind; twice is harmless', async () => {
    const p = active!;
    const pid = p.pidOf(A)!;
    p.detach(); // as if the controller had been kill -9'd: its node is an orphan
    active = null;
    // A stand-in controller that exits on SIGTERM (the real one stops its nodes; this one does not, so down must).
    fakeController = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);"], { stdio: 'ignore' });
    await waitFor('stand-in controller running', () => fakeController!.pid !== undefined && isAlive(fakeController!.pid));
    await new LocalStateFile(dir).recordController({ pid: fakeController.pid!, url: 'http://127.0.0.1:1' }, basePort);

    const result = await localDown(dir, { timeoutMs: 10_000 });
    expect(result).to.deep.equal({ controllerStopped: true, nodesStopped: [A] });
    await waitFor('stand-in controller gone', () => fakeController!.exitCode !== null || fakeController!.signalCode !== null);
    expect(isAlive(pid)).to.equal(false);
    const state = await readLocalState(dir);
    expect(state!.controller).to.equal(null);
    expect(state!.nodes[A]).to.include({ pid: null, index: 0 });
    expect(fs.existsSync(path.join(nodeDataDir(dir, A)))).to.equal(true);

    expect(await localDown(dir, { timeoutMs: 5000 })).to.deep.equal({ controllerStopped: false, nodesStopped: [] });
  });
});
