/**
 * The local platform: every node is a child process on 127.0.0.1 with its
 * data under D/nodes/<name> and its ports from its index (layout.ts), like
 * a kubelet for one machine. The registry (D/local.json) records each
 * node's index before it is spawned and its pid once it runs, so a
 * controller that restarts adopts the nodes still running instead of
 * starting duplicates.
 */
import type { NodePlacement } from './netns-placement.js';
import fs from 'node:fs';
import { AdminApiError, AdminClient } from '../../common/admin-client.js';
import type { Logger } from '../../common/logger.js';
import type { NodeEndpoint, Platform, PlatformNode } from '../platform/types.js';
import { checkBasePort, checkNodeName, clusterPaths, lowestFreeIndex, nodeDataDir, nodeLogFile, nodePorts, plainPortBesideTls, type ClusterPaths } from './layout.js';
import { LOCAL_STATE_VERSION, LocalStateFile, readLocalState, type LocalNodeRecord, type LocalState } from './local-state.js';
import { isAlive } from '../../common/process-alive.js';
import { localNodeFetch, localTlsNodeArgs, type LocalTlsFiles } from './tls-files.js';
import { localAuditFile } from '../audit/controller-audit.js';
import { DEFAULT_RESTART_POLICY, findNodeProcesses, isNodeCommand, NodeProcess, readCmdline, type RestartPolicy } from './node-process.js';

export interface ProcessPlatformOptions {
  /** The cluster directory D. */
  readonly dir: string;
  readonly basePort: number;
  /** The cluster-internal admin token (layout.ts readOrCreateToken). */
  readonly token: string;
  /** Absolute path of dist/node/main.js. */
  readonly nodeMain: string;
  /** Extra flags for every node, e.g. ['--min-sync-replicas', '1']. */
  readonly nodeArgs?: readonly string[];
  readonly logger: Logger;
  readonly restartBackoffMs?: { readonly initial: number; readonly max: number };
  /** How long start() waits for a recorded node's HTTP API to confirm its name before deciding (default 3 s). */
  readonly adoptTimeoutMs?: number;
  /** local.json, shared with whoever else writes it in this process (`local up`); default: its own. */
  readonly stateFile?: LocalStateFile;
  /** SIGTERM → SIGKILL grace when stopping a node (default 10 s). */
  readonly stopGraceMs?: number;
  /** `local up --tls`: every node serves RESP over TLS only, with these files (tls-files.ts). */
  readonly tls?: LocalTlsFiles;
  /** Test-only: node k runs in a network namespace at its address (netns-placement.ts); null/absent: 127.0.0.1. */
  readonly placement?: (index: number) => NodePlacement | null;
}

export class LocalPlatformError extends Error {
  constructor(message: string, readonly node?: string) {
    super(message);
    this.name = 'LocalPlatformError';
  }
}

const HOST = '127.0.0.1';

interface Entry {
  readonly shard: string;
  readonly index: number;
  readonly proc: NodeProcess;
}

export class ProcessPlatform implements Platform {
  /** Paths under the cluster directory; its real path once start() has run (node command lines are matched against it). */
  private paths: ClusterPaths;
  private basePort: number;
  private readonly policy: RestartPolicy;
  private readonly adoptTimeoutMs: number;
  private readonly stopGraceMs: number;
  private readonly stateFile: LocalStateFile;
  private readonly entries = new Map<string, Entry>();
  /** ensureNode calls in flight, so concurrent calls for one name share one spawn. */
  private readonly pending = new Map<string, Promise<NodeEndpoint>>();
  private readonly listeners: Array<(name: string) => void> = [];
  private starting: Promise<void> | null = null;
  /** Set by stopAll() and detach(): nothing starts a node again until start(). */
  private stopped = false;

  constructor(private readonly opts: ProcessPlatformOptions) {
    this.paths = clusterPaths(opts.dir);
    this.basePort = checkBasePort(opts.basePort);
    const b = opts.restartBackoffMs;
    this.policy = b === undefined ? DEFAULT_RESTART_POLICY : { ...DEFAULT_RESTART_POLICY, initialMs: b.initial, maxMs: b.max };
    this.adoptTimeoutMs = opts.adoptTimeoutMs ?? 3000;
    this.stopGraceMs = opts.stopGraceMs ?? 10_000;
    this.stateFile = opts.stateFile ?? new LocalStateFile(opts.dir);
  }

  /**
   * Loads D/local.json: nodes still running (really that node: same command
   * line, and its admin API answers with its name) are adopted; the others
   * are started again. Idempotent; again after stopAll() it restarts them.
   */
  start(): Promise<void> {
    this.stopped = false;
    if (this.starting === null) {
      this.starting = this.load().catch((err: unknown) => {
        this.starting = null;
        throw err;
      });
    }
    return this.starting;
  }

  async ensureNode(name: string, shard: string): Promise<NodeEndpoint> {
    checkNodeName(name);
    this.checkNotStopped();
    await this.start();
    const inFlight = this.pending.get(name);
    if (inFlight !== undefined) return inFlight;
    const existing = this.entries.get(name);
    if (existing !== undefined) {
      if (existing.shard !== shard) throw new LocalPlatformError(`node ${name} belongs to ${existing.shard}, not ${shard}`, name);
      // Running, restarting after a crash (back-off), or held by stopNode: left alone.
      return this.endpointOf(existing);
    }
    const p = this.create(name, shard).finally(() => this.pending.delete(name));
    this.pending.set(name, p);
    return p;
  }

  async deleteNode(name: string): Promise<void> {
    checkNodeName(name);
    if (!this.stopped) await this.start();
    await this.pending.get(name)?.catch(() => undefined);
    const entry = this.entries.get(name);
    await entry?.proc.stop(this.stopGraceMs);
    // Data first, then the entry: a crash in between leaves an entry to delete again, never a stray data dir a new node would inherit.
    await fs.promises.rm(nodeDataDir(this.paths.dir, name), { recursive: true, force: true });
    if (entry !== undefined) {
      this.entries.delete(name);
      await this.persist();
      this.opts.logger.info('deleted node', { node: name });
    }
  }

  /** Stops a node gracefully and starts it again on the same data. */
  async restartNode(name: string): Promise<void> {
    await this.stopNode(name);
    await this.startNode(name);
  }

  /** Stops a node (graceful, then forced); it stays stopped until startNode(). For fault tests. */
  async stopNode(name: string): Promise<void> {
    await this.entry(name).proc.stop(this.stopGraceMs);
    await this.persist();
  }

  /** Starts a node stopped by stopNode (one waiting out its crash back-off keeps waiting). */
  async startNode(name: string): Promise<NodeEndpoint> {
    this.checkNotStopped();
    const entry = this.entry(name);
    entry.proc.start();
    await this.persist();
    return this.endpointOf(entry);
  }

  /** Stops every node (SIGTERM, SIGKILL after the grace); data and registry stay, so start() resumes. */
  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.pending.values()].map((p) => p.catch(() => undefined)));
    await Promise.all([...this.entries.values()].map((e) => e.proc.stop(this.stopGraceMs)));
    this.starting = null;
    await this.persist();
  }

  /** Stops supervising (no restarts, no polling) and leaves the nodes running, as a killed controller would. */
  detach(): void {
    this.stopped = true;
    for (const e of this.entries.values()) e.proc.detach();
  }

  nodes(): readonly PlatformNode[] {
    return [...this.entries].map(([name, e]) => ({
      name,
      shard: e.shard,
      endpoint: this.endpointOf(e),
      running: e.proc.running,
      restarts: e.proc.restarts,
      lastExitAt: e.proc.lastExitAt,
    }));
  }

  onNodeExit(listener: (name: string) => void): void {
    this.listeners.push(listener);
  }

  /** The node's process id, or null when it is not running (for kill -9 / SIGSTOP fault tests). */
  pidOf(name: string): number | null {
    return this.entries.get(name)?.proc.pid ?? null;
  }

  private checkNotStopped(): void {
    if (this.stopped) throw new LocalPlatformError('the local platform is stopped: call start() first');
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (e === undefined) throw new LocalPlatformError(`no node named ${name}`, name);
    return e;
  }

  private endpointOf(e: Pick<Entry, 'index'>): NodeEndpoint {
    const p = nodePorts(this.basePort, e.index);
    const host = this.opts.placement?.(e.index)?.host ?? HOST;
    // `local up --tls`: the nodes serve HTTPS only (--tls-http).
    const httpUrl = `${this.opts.tls !== undefined ? 'https' : 'http'}://${host}:${p.httpPort}`;
    // --tls-keep-plain: the map's port is the plain one and tlsPort the TLS one, so each kind of client is sent to its own.
    if (this.opts.tls?.keepPlain === true) return { host, port: plainPortBesideTls(this.basePort, e.index), tlsPort: p.port, busPort: p.busPort, httpUrl };
    return { host, port: p.port, busPort: p.busPort, httpUrl };
  }

  private async create(name: string, shard: string): Promise<NodeEndpoint> {
    const index = lowestFreeIndex([...this.entries.values()].map((e) => e.index));
    const entry: Entry = { shard, index, proc: this.newProcess(name, index) };
    this.entries.set(name, entry);
    // The index is on disk before the process exists, so a restarted controller finds both.
    await this.persist();
    this.checkNotStopped();
    entry.proc.start();
    await this.persist();
    return this.endpointOf(entry);
  }

  private newProcess(name: string, index: number): NodeProcess {
    const ports = nodePorts(this.basePort, index);
    const dataDir = nodeDataDir(this.paths.dir, name);
    const placed = this.opts.placement?.(index) ?? null;
    const args = [
      this.opts.nodeMain,
      '--node-name', name,
      ...(this.opts.tls === undefined ? ['--port', String(ports.port)] : localTlsNodeArgs(this.opts.tls, ports.port, this.opts.tls.keepPlain === true ? plainPortBesideTls(this.basePort, index) : 0)),
      '--http-port', String(ports.httpPort),
      '--bus-port', String(ports.busPort),
      '--bind', placed?.host ?? HOST,
      '--data-dir', dataDir,
      // A cluster member: no keys served and not ready until this controller pushes the map (issue #13).
      '--cluster-enabled', 'yes',
      '--audit-log-file', localAuditFile(this.paths.dir, name),
      ...(this.opts.nodeArgs ?? []),
    ];
    // The token goes in the environment, not argv: /proc/<pid>/cmdline is world-readable, environ is not.
    const env = { ...process.env, IRIS_ADMIN_TOKEN: this.opts.token };
    return new NodeProcess(
      { name, args, env, dataDir, logFile: nodeLogFile(this.paths.dir, name), ...(placed !== null ? { launcher: ['ip', 'netns', 'exec', placed.netns] } : {}) },
      this.policy,
      {
        changed: () => void this.persist().catch((err: Error) => this.opts.logger.error('could not write local.json', { err: err.message })),
        exited: (n) => this.notifyExit(n),
      },
      this.opts.logger,
    );
  }

  private notifyExit(name: string): void {
    for (const l of this.listeners) {
      try {
        l(name);
      } catch (err) {
        this.opts.logger.error('onNodeExit listener failed', { node: name, err: (err as Error).message });
      }
    }
  }

  private async load(): Promise<void> {
    await fs.promises.mkdir(this.paths.nodesDir, { recursive: true });
    await fs.promises.mkdir(this.paths.logsDir, { recursive: true });
    // One spelling of the directory however it was reached (symlinks), so adoption recognises nodes by command line.
    this.paths = clusterPaths(await fs.promises.realpath(this.paths.dir));
    const state = await readLocalState(this.paths.dir);
    const records = Object.entries(state?.nodes ?? {});
    if (state !== null && state.basePort !== this.basePort) this.changeBasePort(state);
    // Node processes under D/nodes found by command line: catches one spawned just before a crash, before its pid was recorded.
    const found = findNodeProcesses(this.paths.nodesDir);
    await Promise.all(records.map(async ([name, rec]) => {
      let entry = this.entries.get(name);
      if (entry === undefined) {
        entry = { shard: rec.shard, index: rec.index, proc: this.newProcess(name, rec.index) };
        this.entries.set(name, entry);
      }
      if (entry.proc.running) return;
      const candidates = new Set<number>([...(rec.pid !== null ? [rec.pid] : []), ...found.filter((f) => f.name === name).map((f) => f.pid)]);
      for (const pid of candidates) {
        if (await this.isOurNode(pid, name, this.endpointOf(entry))) {
          entry.proc.adopt(pid, pid === rec.pid && rec.startedAt !== null ? rec.startedAt : Date.now());
          return;
        }
      }
      entry.proc.start();
    }));
    // Nodes this instance knows but the file no longer lists (it was replaced): started too.
    for (const e of this.entries.values()) if (!e.proc.running) e.proc.start();
    await this.persist();
  }

  /** A different base port is fine when no recorded node still runs (the controller re-resolves addresses); otherwise refuse. */
  private changeBasePort(state: LocalState): void {
    const alive = Object.entries(state.nodes).filter(([, r]) => r.pid !== null && isAlive(r.pid)).map(([n]) => n);
    if (alive.length > 0) {
      throw new LocalPlatformError(`the cluster in ${this.paths.dir} runs on base port ${state.basePort} (nodes ${alive.join(', ')} are up); use that base port or stop it first`);
    }
    this.opts.logger.warn('base port changed: nodes get new ports', { from: state.basePort, to: this.basePort });
  }

  /**
   * Whether `pid` is node `name`: alive, its command line (where /proc
   * shows it) names the node and its data directory, and its admin API
   * answers with the name. Guards against a pid reused by another process.
   */
  private async isOurNode(pid: number, name: string, endpoint: NodeEndpoint): Promise<boolean> {
    if (!isAlive(pid)) return false;
    const args = readCmdline(pid);
    if (args !== null && !isNodeCommand(args, name, nodeDataDir(this.paths.dir, name))) return false;
    const answer = await this.askName(endpoint.httpUrl);
    if (answer !== null) {
      if (answer !== name) this.opts.logger.warn('pid alive but its port answers as another node: not adopting', { node: name, pid, answer });
      return answer === name;
    }
    // Silent (still starting, or paused): the command line is proof enough; without /proc there is none.
    if (args !== null) this.opts.logger.warn('adopting a node that does not answer yet', { node: name, pid });
    return args !== null;
  }

  /** The node name the admin API at `httpUrl` reports, '' if it answers but refuses us, null if it never answers. */
  private async askName(httpUrl: string): Promise<string | null> {
    const client = new AdminClient(httpUrl, this.opts.token, 1000, localNodeFetch(this.opts.tls));
    const deadline = Date.now() + this.adoptTimeoutMs;
    for (let attempt = 0; attempt < 1000; attempt++) {
      try {
        return (await client.replication()).name;
      } catch (err) {
        // HTTP answered but refused (another token, no admin API): not one of ours.
        if (err instanceof AdminApiError && err.status !== 503) return '';
      }
      if (Date.now() >= deadline) return null;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  }

  /** Writes the nodes as they are now to local.json, keeping the controller entry `local up` wrote. */
  private persist(): Promise<LocalState> {
    const nodes: Record<string, LocalNodeRecord> = {};
    return this.stateFile.update((current) => {
      // Read at write time, so queued writes always carry the latest pids.
      for (const [name, e] of this.entries) nodes[name] = { shard: e.shard, index: e.index, pid: e.proc.pid, startedAt: e.proc.startedAt };
      return { version: LOCAL_STATE_VERSION, basePort: this.basePort, nodes, controller: current?.controller ?? null };
    });
  }
}
