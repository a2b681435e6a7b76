/**
 * A local cluster as a user runs it: `irisctl local up` (the compiled CLI)
 * as a child process on a temporary directory and a free range of loopback
 * ports, with the control API client, the nodes' pids from local.json (for
 * kill -9 / SIGSTOP faults) and the controller process itself (to kill and
 * restart it). Every process is cleaned up by destroy(), also after a
 * failure (localDown stops orphaned nodes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from 'ioredis';
import { AdminClient } from '../../common/admin-client.js';
import { countSlots, slotOwners, type ClusterMap } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { ControlClient } from '../../operator/control-api/client.js';
import { readControlToken } from '../../operator/cli/endpoint.js';
import type { ClusterStatus, NodeView } from '../../operator/core/observation.js';
import type { ControllerState } from '../../operator/core/state.js';
import { localDown } from '../../operator/local/down.js';
import { FileStateStore } from '../../operator/local/file-state-store.js';
import { readLocalState } from '../../operator/local/local-state.js';
import { slotBatches } from './slot-keys.js';
import { GiveUp, waitFor } from './wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/operator/cli/irisctl.js, from dist/test/support. */
export const IRISCTL = path.resolve(here, '../../operator/cli/irisctl.js');

export interface LocalClusterOptions {
  shards?: number;
  replicas?: number;
  minSyncReplicas?: number;
  heartbeatMs?: number;
  failureThreshold?: number;
  dataDurability?: 'required' | 'preferred';
  /** Reuse a directory (a restart); default a new temporary one. */
  dir?: string;
  basePort?: number;
  /** More `irisctl local up` flags on every start (e.g. --restore-from URL). */
  extraArgs?: readonly string[];
  /** More environment for the controller process on every start (e.g. AWS_* for an S3 restore). */
  env?: Readonly<Record<string, string>>;
}

export class LocalCluster {
  private proc: ChildProcess | null = null;
  private out = '';
  readonly client: ControlClient;

  private constructor(readonly dir: string, readonly basePort: number, private readonly opts: LocalClusterOptions) {
    // The token as irisctl reads it: the cluster directory's token file, read per request (the controller creates it after we spawn it).
    this.client = new ControlClient(`http://127.0.0.1:${basePort + 2000}`, () => readControlToken(path.join(dir, 'token')), 10_000);
  }

  /** Starts `irisctl local up` and waits until the cluster is Ready. */
  static async start(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
    const dir = opts.dir ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-local-')));
    const basePort = opts.basePort ?? (await freeBasePort());
    const c = new LocalCluster(dir, basePort, opts);
    try {
      c.spawnController();
      await c.waitReady(120_000);
    } catch (err) {
      await c.destroy();
      throw err;
    }
    return c;
  }

  /** Starts `irisctl local up` without waiting for anything (to watch the bootstrap itself); destroy() cleans up. */
  static async launch(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
    const dir = opts.dir ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-local-')));
    const c = new LocalCluster(dir, opts.basePort ?? (await freeBasePort()), opts);
    c.spawnController();
    return c;
  }

  /** Everything the controller process printed so far. */
  output(): string {
    return this.out;
  }

  /**
   * (Re)starts the controller process on the same directory; `env` adds variables to its environment,
   * `extraArgs` flags to `irisctl local up` (test-only switches such as --test-hold-failover-stage).
   */
  spawnController(env: Readonly<Record<string, string>> = {}, extraArgs: readonly string[] = []): void {
    const o = this.opts;
    const args = [IRISCTL, 'local', 'up', '--dir', this.dir, '--base-port', String(this.basePort),
      '--shards', String(o.shards ?? 3), '--replicas', String(o.replicas ?? 1)];
    if (o.minSyncReplicas !== undefined) args.push('--min-sync-replicas', String(o.minSyncReplicas));
    if (o.heartbeatMs !== undefined) args.push('--heartbeat-ms', String(o.heartbeatMs));
    if (o.failureThreshold !== undefined) args.push('--failure-threshold', String(o.failureThreshold));
    if (o.dataDurability !== undefined) args.push('--data-durability', o.dataDurability);
    args.push(...(o.extraArgs ?? []), ...extraArgs);
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(o.env ?? {}), ...env } });
    p.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc = p;
  }

  get controllerPid(): number | null {
    return this.proc?.pid ?? null;
  }

  async status(): Promise<ClusterStatus> {
    return this.client.status();
  }

  /** Ready, with no change of primary or rescale under way. */
  async waitReady(timeoutMs = 60_000): Promise<ClusterStatus> {
    return waitFor('the local cluster to be Ready and idle', async () => {
      if (this.proc !== null && this.proc.exitCode !== null) throw new GiveUp(`irisctl local up exited with ${this.proc.exitCode}:\n${this.out.slice(-3000)}`);
      const st = await this.status();
      return st.phase === 'Ready' && st.operation === null && st.shards.every((s) => s.failover === null) ? st : null;
    }, { timeoutMs, intervalMs: 100 });
  }

  /** The shard owning nothing but `id`, from the current status. */
  async shard(id: string): Promise<ClusterStatus['shards'][number]> {
    const st = await this.status();
    const s = st.shards.find((x) => x.id === id);
    if (s === undefined) throw new Error(`no shard ${id}`);
    return s;
  }

  async node(name: string): Promise<NodeView> {
    const st = await this.status();
    const n = st.shards.flatMap((s) => s.nodes).find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  /** A node's current pid, from the platform's registry. */
  async pidOf(name: string): Promise<number> {
    const st = await readLocalState(this.dir);
    const pid = st?.nodes[name]?.pid ?? null;
    if (pid === null) throw new Error(`${name} has no running process`);
    return pid;
  }

  /** Any node's RESP port, for a cluster client seed. */
  async seedPort(): Promise<number> {
    const st = await this.status();
    return st.shards[0]!.nodes[0]!.port!;
  }

  async seedPorts(): Promise<number[]> {
    const st = await this.status();
    return st.shards.flatMap((s) => s.nodes.map((n) => n.port!));
  }

  /** kill -9 the controller (its nodes keep running). */
  async killController(): Promise<void> {
    const p = this.proc;
    // A process killed by a signal has signalCode set and exitCode null: it must not be waited for again.
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }

  /** Ctrl-C: SIGINT to the controller, which stops every node; resolves with its exit code. */
  async stop(): Promise<number | null> {
    const p = this.proc;
    if (p === null || p.exitCode !== null) return p?.exitCode ?? null;
    const gone = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill('SIGINT');
    return gone;
  }

  /** The cluster-internal admin token (DIR/token). */
  async token(): Promise<string> {
    return (await fs.promises.readFile(path.join(this.dir, 'token'), 'utf8')).trim();
  }

  /** What the controller recorded (DIR/controller.json), read the way a restarted controller reads it. */
  async controllerState(): Promise<ControllerState | null> {
    return new FileStateStore(this.dir).load();
  }

  /** The cluster map every node of the current status has installed (GET /admin/cluster/map). */
  async nodeMaps(): Promise<Array<{ name: string; map: ClusterMap | null }>> {
    const st = await this.status();
    const token = await this.token();
    return Promise.all(st.shards.flatMap((s) => s.nodes).map(async (n) => {
      if (n.httpUrl === null) throw new Error(`${n.name} has no address`);
      return { name: n.name, map: await new AdminClient(n.httpUrl, token, 5000).clusterMap() };
    }));
  }

  /**
   * Why the slots are not spread evenly over exactly `shards` shards (empty
   * when they are): in the status, and in every node's installed map (one
   * epoch on all, every slot owned once, shard sizes within one slot).
   */
  async slotBalanceProblems(shards: number): Promise<string[]> {
    const problems: string[] = [];
    const st = await this.status();
    const counts = st.shards.map((s) => s.slotCount);
    if (st.shards.length !== shards) problems.push(`status lists ${st.shards.length} shards, not ${shards}`);
    if (st.slotsAssigned !== SLOT_COUNT) problems.push(`status: ${st.slotsAssigned} slots assigned`);
    if (Math.max(...counts) - Math.min(...counts) > 1) problems.push(`status: shard sizes ${counts.join(', ')}`);
    const maps = await this.nodeMaps();
    const epochs = new Set(maps.map((m) => m.map?.epoch ?? null));
    if (epochs.size !== 1 || epochs.has(null)) problems.push(`nodes' map epochs differ: ${maps.map((m) => `${m.name}@${m.map?.epoch ?? 'none'}`).join(', ')}`);
    for (const { name, map } of maps) {
      if (map === null) continue;
      if (map.epoch !== st.mapEpoch) problems.push(`${name} has map epoch ${map.epoch}, the controller published ${st.mapEpoch}`);
      const sizes = map.shards.map((s) => countSlots(s.slots));
      if (map.shards.length !== shards) problems.push(`${name}'s map has ${map.shards.length} shards`);
      if (Math.max(...sizes) - Math.min(...sizes) > 1) problems.push(`${name}'s map: shard sizes ${sizes.join(', ')}`);
      const unowned = slotOwners(map).filter((o) => o < 0).length;
      if (unowned > 0) problems.push(`${name}'s map leaves ${unowned} slots unowned`);
    }
    return problems;
  }

  /** The values of `keys` through a fresh ioredis Cluster client (auto-pipelined MGETs, one per slot); a failed MGET throws. */
  async getAll(keys: readonly string[]): Promise<Array<string | null>> {
    const client = new Cluster([{ host: '127.0.0.1', port: await this.seedPort() }], { enableAutoPipelining: true, maxRedirections: 64, retryDelayOnTryAgain: 50 });
    client.on('error', () => {});
    try {
      // One MGET per hash slot (about 2000 keys in flight): reading back 200k keys with a GET each was most of
      // a test's final check; MGET answers the same strings, in the order asked.
      const values = new Map<string, string | null>();
      for (const batch of slotBatches(keys)) {
        const replies = await Promise.all(batch.map((g) => client.mget(...g)));
        batch.forEach((g, j) => g.forEach((k, n) => values.set(k, replies[j]![n] ?? null)));
      }
      return keys.map((k) => values.get(k) ?? null);
    } finally {
      client.disconnect();
    }
  }

  /** Stops everything (also orphaned nodes) and removes the directory. */
  async destroy(): Promise<void> {
    await this.killController().catch(() => undefined);
    await localDown(this.dir).catch(() => undefined);
    if (this.opts.dir === undefined) await fs.promises.rm(this.dir, { recursive: true, force: true });
  }
}

/** A base port whose node, HTTP, control and bus ranges (the first 20 of each) are free. */
export async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 200) * 100;
    const ports = [];
    // base+3000+k: plain RESP beside TLS (`local up --tls --tls-keep-plain`).
    for (let k = 0; k < 20; k++) ports.push(base + k, base + 1000 + k, base + 3000 + k, base + 10_000 + k);
    ports.push(base + 2000);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error('no free base port range found');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
