/**
 * Fakes for unit tests of the controller (test/unit/operator-controller-*):
 * an in-memory StateStore, and a FakeCluster that is both the Platform and
 * every node's admin API (through its NodeApiFactory). Fake nodes behave as
 * the real ones do where the controller relies on it: setRole refuses an
 * older epoch and a promotion at the same epoch, a new term starts at every
 * promotion, a replica streams (copies the primary's log) only from an
 * answering primary at its epoch or above, and a primary reports its
 * streaming replicas. A killed or paused node does not answer.
 */
import { AdminApiError } from '../../common/admin-client.js';
import type { ClusterMap, MapNode, SlotRange } from '../../common/cluster-map.js';
import type { ImportRecord, MigrationList, MigrationStatus } from '../../common/migration.js';
import type { PeerAddress, ReplicationStatus, RoleRequest, Term } from '../../common/replication.js';
import { silentLogger } from '../../common/logger.js';
import { ControllerContext, type ControllerEvent } from '../../operator/controller/context.js';
import { FailoverRunner } from '../../operator/controller/failover-runner.js';
import { Heartbeat } from '../../operator/controller/heartbeat.js';
import type { NodeAdminApi, NodeApiFactory } from '../../operator/controller/node-api.js';
import { MapPublisher } from '../../operator/controller/publish.js';
import { RebalanceRunner } from '../../operator/controller/rebalance-runner.js';
import { RoleReconciler } from '../../operator/controller/roles.js';
import { SyncSetReconciler } from '../../operator/controller/sync-set.js';
import { initialState } from '../../operator/core/initial-state.js';
import { bootstrapMap } from '../../operator/core/slot-plan.js';
import { type ClusterSpec, DEFAULT_SPEC, validateSpec } from '../../operator/core/spec.js';
import type { ControllerState, FailoverStage, ShardState } from '../../operator/core/state.js';
import type { NodeEndpoint, Platform, PlatformNode, StateStore } from '../../operator/platform/types.js';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** A StateStore in memory; keeps every saved state (the controller's durable history). */
export class MemoryStateStore implements StateStore {
  readonly saved: ControllerState[] = [];
  /** Called with every state as it is saved (a test notes what the nodes had been told by then). */
  onSave: ((state: ControllerState) => void) | null = null;
  /** A save this says yes to fails, as if the controller died right before it (the state stays as it was). */
  crashBefore: ((state: ControllerState) => boolean) | null = null;

  constructor(initial: ControllerState | null = null) {
    if (initial !== null) this.saved.push(clone(initial));
  }

  async load(): Promise<ControllerState | null> {
    const last = this.saved[this.saved.length - 1];
    return last === undefined ? null : clone(last);
  }

  /** A save failed as a crash (whoever caught the error, the controller is gone). */
  crashed = false;

  /** Saves work again (for the controller started after the crash). */
  revive(): void {
    this.crashBefore = null;
    this.crashed = false;
  }

  /** Every save after the first `n` fails, as if the controller died right after its n-th save. */
  crashAfterSaves(n: number): void {
    this.crashBefore = () => this.saved.length >= n;
  }

  async save(state: ControllerState): Promise<void> {
    if (this.crashBefore?.(state) === true) {
      this.crashed = true;
      throw new Error('fake crash: the controller died before this save');
    }
    this.saved.push(clone(state));
    this.onSave?.(state);
  }

  get last(): ControllerState {
    return this.saved[this.saved.length - 1]!;
  }
}

/** A clock a test moves by hand. */
export class FakeClock {
  constructor(public t = 1_000_000) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export class FakeNode {
  role: 'primary' | 'replica' = 'replica';
  epoch = 0;
  lastSeq = 0;
  history: Term[] = [];
  primary: PeerAddress | null = null;
  declared: string[] = [];
  map: ClusterMap | null = null;
  /** The process runs (the platform's view). */
  running = true;
  /** Answers its admin API (false: killed, or SIGSTOPped). */
  answering = true;
  /** Streams from its primary (false: its link is stuck, it falls behind). */
  streaming = true;
  loading = false;
  readonly roleRequests: RoleRequest[] = [];
  /** Epochs at which a setRole made it start a new term as primary (a promotion). */
  readonly promotedAt: number[] = [];
  readonly migrations = new Map<string, MigrationStatus>();
  readonly imports: ImportRecord[] = [];
  restarts = 0;
  private terms = 0;

  constructor(readonly name: string, readonly shard: string, readonly endpoint: NodeEndpoint) {}

  startTerm(epoch: number): void {
    this.history = [...this.history, { epoch, id: `${this.name}-t${++this.terms}`, firstSeq: this.lastSeq + 1 }];
  }
}

function conflict(message: string, reason: string): AdminApiError {
  return new AdminApiError(409, 'conflict', message, { reason });
}

export class FakeCluster implements Platform {
  readonly node = new Map<string, FakeNode>();
  private readonly exitListeners: Array<(name: string) => void> = [];
  private nextPort = 7000;
  /** The nodes' --min-sync-replicas (the spec's). */
  private readonly minSyncReplicas: number;

  /** Nodes for every member of `state`, at the roles it records, with its map installed. */
  constructor(state: ControllerState) {
    this.minSyncReplicas = state.spec.minSyncReplicas;
    for (const s of state.shards) {
      for (const m of s.members) {
        const n = this.add(m, s.id);
        n.epoch = s.epoch;
        if (m === s.currentPrimary) {
          n.role = 'primary';
          n.declared = [...s.sync.replicas];
          n.startTerm(s.epoch);
        }
      }
    }
    for (const s of state.shards) {
      for (const m of s.members.filter((x) => x !== s.currentPrimary)) this.get(m).primary = this.peer(s.currentPrimary);
    }
    for (const n of this.node.values()) n.map = state.map;
  }

  private add(name: string, shard: string): FakeNode {
    const port = this.nextPort++;
    const n = new FakeNode(name, shard, { host: '127.0.0.1', port, busPort: port + 10_000, httpUrl: `http://fake/${name}` });
    this.node.set(name, n);
    return n;
  }

  get(name: string): FakeNode {
    const n = this.node.get(name);
    if (n === undefined) throw new Error(`no fake node ${name}`);
    return n;
  }

  peer(name: string): PeerAddress {
    const n = this.get(name);
    return { name, host: n.endpoint.host, busPort: n.endpoint.busPort };
  }

  mapNodes(names: readonly string[]): MapNode[] {
    return names.map((name) => ({ name, host: this.get(name).endpoint.host, port: this.get(name).endpoint.port, busPort: this.get(name).endpoint.busPort }));
  }

  // ---- what a test does to the nodes -------------------------------------------------

  /** kill -9: the process is gone and the platform says so at once. */
  kill(name: string): void {
    const n = this.get(name);
    n.running = false;
    n.answering = false;
    for (const l of this.exitListeners) l(name);
  }

  /** SIGSTOP / SIGCONT: the process runs but does not answer. */
  pause(name: string): void {
    this.get(name).answering = false;
  }

  resume(name: string): void {
    this.get(name).answering = true;
  }

  /** `n` writes on the primary `name`; its streaming replicas get them. */
  write(name: string, n: number): void {
    const p = this.get(name);
    if (p.role !== 'primary' || !p.answering) throw new Error(`${name} takes no writes`);
    p.lastSeq += n;
    this.replicate();
  }

  /** Whether `r` streams from its primary now. */
  streams(r: FakeNode): boolean {
    if (r.role !== 'replica' || !r.answering || !r.streaming || r.primary === null) return false;
    const p = this.node.get(r.primary.name);
    return p !== undefined && p.answering && p.role === 'primary' && p.epoch >= r.epoch;
  }

  private replicate(): void {
    for (const r of this.node.values()) {
      if (!this.streams(r)) continue;
      const p = this.get(r.primary!.name);
      r.lastSeq = p.lastSeq;
      r.history = [...p.history];
    }
  }

  status(name: string): ReplicationStatus {
    this.replicate();
    const n = this.get(name);
    const replicas = n.role !== 'primary' ? [] : [...this.node.values()].filter((r) => this.streams(r) && r.primary!.name === name).map((r) => ({
      name: r.name, host: r.endpoint.host, port: r.endpoint.port, busPort: r.endpoint.busPort, connected: true, state: 'online' as const,
      ackedSeq: r.lastSeq, lagOps: n.lastSeq - r.lastSeq, lagMs: 0, fullSync: null,
    }));
    const link = n.role === 'replica' && n.primary !== null
      ? { ...n.primary, respHost: null, respPort: null, state: this.streams(n) ? 'streaming' as const : 'connecting' as const, lastError: null, fullSyncs: 0, partialSyncs: 0, loading: null }
      : null;
    return {
      name, role: n.role, epoch: n.epoch, lastSeq: n.lastSeq, history: n.history, minSyncReplicas: this.minSyncReplicas,
      effectiveMinSyncReplicas: Math.min(this.minSyncReplicas, n.declared.length), ackTimeoutMs: 1000, declaredReplicas: [...n.declared], replicas,
      primary: link, backlog: { firstSeq: 1, lastSeq: n.lastSeq }, pendingAcks: 0, loading: n.loading, declaredSeq: 0,
    };
  }

  /** PUT /admin/replication/role, as node/replication/manager.ts setRole. */
  setRole(name: string, req: RoleRequest): ReplicationStatus {
    const n = this.get(name);
    n.roleRequests.push(req);
    if (req.epoch < n.epoch) throw conflict(`epoch ${req.epoch} is older than this node's epoch ${n.epoch}`, 'stale_epoch');
    if (req.role === 'primary') {
      if (n.role === 'replica') {
        if (n.loading) throw conflict('loading a snapshot', 'loading');
        if (req.epoch === n.epoch) throw conflict(`promotion needs an epoch above ${n.epoch}`, 'same_epoch');
      }
      const newTerm = n.role !== 'primary' || n.epoch !== req.epoch;
      n.role = 'primary';
      n.epoch = req.epoch;
      n.primary = null;
      n.declared = [...(req.replicas ?? [])];
      if (newTerm) {
        n.startTerm(req.epoch);
        n.promotedAt.push(req.epoch);
      }
    } else {
      if (req.primary.name === name) throw conflict('a node cannot replicate from itself', 'invalid_role');
      n.role = 'replica';
      n.epoch = req.epoch;
      n.primary = req.primary;
      n.declared = [];
    }
    return this.status(name);
  }

  setClusterMap(name: string, map: ClusterMap, ifEpoch?: number): ClusterMap {
    const n = this.get(name);
    const have = n.map;
    if (ifEpoch !== undefined && (have?.epoch ?? 0) !== ifEpoch) throw conflict(`map epoch is ${have?.epoch ?? 0}, not ${ifEpoch}`, 'epoch_mismatch');
    if (have !== null && (have.epoch > map.epoch || (have.epoch === map.epoch && JSON.stringify(have) !== JSON.stringify(map)))) {
      throw conflict(`this node has map epoch ${have.epoch}`, 'stale_map');
    }
    n.map = map;
    return map;
  }

  startMigration(name: string, id: string, slots: readonly SlotRange[], targetShard: string): MigrationStatus {
    const n = this.get(name);
    if (n.migrations.has(id)) throw conflict(`migration ${id} exists`, 'exists');
    const st: MigrationStatus = {
      id, slots, source: name, target: '', targetShard, stage: 'copying', running: true, attempt: 1, keysCopied: 0, bytesCopied: 0,
      entriesForwarded: 0, keysDeleted: 0, backlogBytes: 0, startedAt: 0, updatedAt: 0, error: null,
    };
    n.migrations.set(id, st);
    return st;
  }

  migration(name: string, id: string): MigrationStatus {
    const st = this.get(name).migrations.get(id);
    if (st === undefined) throw new AdminApiError(404, 'not_found', `no migration ${id}`, { reason: 'not_found' });
    return st;
  }

  /** A test moves a migration on (as the nodes would, node to node). */
  setMigration(name: string, id: string, patch: Partial<MigrationStatus>): void {
    this.get(name).migrations.set(id, { ...this.migration(name, id), ...patch });
  }

  // ---- the admin API clients the controller gets -------------------------------------

  readonly nodeApi: NodeApiFactory = (httpUrl) => {
    const name = httpUrl.slice(httpUrl.lastIndexOf('/') + 1);
    const call = async <T>(fn: () => T): Promise<T> => {
      await Promise.resolve();
      if (!this.get(name).answering) throw new Error(`${name}: no answer (fake: the node is down or paused)`);
      return fn();
    };
    const api: NodeAdminApi = {
      baseUrl: httpUrl,
      replication: () => call(() => this.status(name)),
      setRole: (req) => call(() => this.setRole(name, req)),
      clusterMap: () => call(() => this.get(name).map),
      setClusterMap: (map, ifEpoch) => call(() => this.setClusterMap(name, map, ifEpoch)),
      start: (id, slots, target) => call(() => this.startMigration(name, id, slots, target)),
      list: () => call((): MigrationList => ({ migrations: [...this.get(name).migrations.values()], imports: [...this.get(name).imports] })),
      get: (id) => call(() => this.migration(name, id)),
      resume: (id) => call(() => {
        this.setMigration(name, id, { running: true });
        return this.migration(name, id);
      }),
    };
    return api;
  };

  // ---- Platform ------------------------------------------------------------------------

  async ensureNode(name: string, shard: string): Promise<NodeEndpoint> {
    const n = this.node.get(name) ?? this.add(name, shard);
    n.running = true;
    n.answering = true;
    return n.endpoint;
  }

  async restartNode(name: string): Promise<void> {
    const n = this.get(name);
    n.restarts++;
    n.running = true;
    n.answering = true;
  }

  async deleteNode(name: string): Promise<void> {
    this.node.delete(name);
  }

  nodes(): readonly PlatformNode[] {
    return [...this.node.values()].map((n) => ({ name: n.name, shard: n.shard, endpoint: n.endpoint, running: n.running, restarts: n.restarts, lastExitAt: null }));
  }

  onNodeExit(listener: (name: string) => void): void {
    this.exitListeners.push(listener);
  }
}

// ---- a controller's runners over the fakes ----------------------------------------------

/** A bootstrapped cluster: recorded state with its first map, and fake nodes at their roles with that map. */
export function bootstrappedCluster(spec: Partial<ClusterSpec> = {}): { state: ControllerState; cluster: FakeCluster } {
  const initial = initialState('c', validateSpec({ ...DEFAULT_SPEC, shards: 2, replicasPerShard: 2, minSyncReplicas: 1, heartbeatMs: 100, ...spec }));
  const cluster = new FakeCluster(initial);
  const names = initial.shards.flatMap((s) => s.members);
  const map = bootstrapMap(initial.shards.map((s) => ({ id: s.id, primary: s.currentPrimary, replicas: s.members.filter((m) => m !== s.currentPrimary) })), cluster.mapNodes(names), 1);
  for (const n of cluster.node.values()) n.map = map;
  return { state: { ...initial, map }, cluster };
}

export interface RigOptions {
  readonly holdStage?: FailoverStage | null;
}

/**
 * The controller's steps (controller.ts tick(), without node creation and
 * garbage collection) over a FakeCluster, built from what `store` holds: a
 * new rig on the same store is a restarted controller.
 */
export class ControllerRig {
  readonly ctx: ControllerContext;
  readonly heartbeat: Heartbeat;
  readonly failovers: FailoverRunner;
  readonly roles: RoleReconciler;
  readonly syncSets: SyncSetReconciler;
  readonly publisher: MapPublisher;
  readonly rebalancer: RebalanceRunner;
  readonly events: ControllerEvent[] = [];

  private constructor(state: ControllerState, readonly store: MemoryStateStore, readonly cluster: FakeCluster, readonly clock: FakeClock, opts: RigOptions) {
    this.ctx = new ControllerContext(state, cluster, store, 'token', silentLogger(), clock.now, cluster.nodeApi);
    this.ctx.onEvent((e) => this.events.push(e));
    this.heartbeat = new Heartbeat(this.ctx);
    this.failovers = new FailoverRunner(this.ctx, this.heartbeat, { holdStage: opts.holdStage ?? null });
    this.roles = new RoleReconciler(this.ctx);
    this.syncSets = new SyncSetReconciler(this.ctx, this.heartbeat);
    this.publisher = new MapPublisher(this.ctx);
    this.rebalancer = new RebalanceRunner(this.ctx);
  }

  /** A controller (re)started on what the store holds. */
  static async open(store: MemoryStateStore, cluster: FakeCluster, clock: FakeClock, opts: RigOptions = {}): Promise<ControllerRig> {
    const state = await store.load();
    if (state === null) throw new Error('nothing recorded');
    return new ControllerRig(state, store, cluster, clock, opts);
  }

  get state(): ControllerState {
    return this.ctx.state;
  }

  shard(id: string): ShardState {
    return this.ctx.state.shards.find((s) => s.id === id)!;
  }

  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }

  /** Errors of steps, as the controller logs them (a step that fails does not stop the others). */
  readonly errors: string[] = [];

  /** A save failed as a crash: this controller does nothing more. */
  dead = false;

  /** One tick, in the controller's order. */
  async tick(): Promise<void> {
    await this.step(() => this.heartbeat.round());
    await this.step(() => this.failovers.detect());
    for (const s of this.ctx.state.shards) if (s.failover !== null) await this.step(() => this.failovers.progress(s.id));
    await this.step(async () => { await this.roles.reconcile(); });
    await this.step(() => this.syncSets.reconcile());
    await this.step(() => this.publisher.publish());
    await this.step(() => this.rebalancer.step());
    await this.step(() => this.publisher.publish());
  }

  private async step(fn: () => Promise<void>): Promise<void> {
    if (this.dead) return;
    try {
      await fn();
    } catch (err) {
      if (!this.store.crashed) this.errors.push(err instanceof Error ? err.message : String(err));
    }
    if (this.store.crashed) this.dead = true;
  }

  /** Ticks until `done` holds (at most `max` ticks; the clock moves one heartbeat per tick). */
  async tickUntil(done: () => boolean, max = 20): Promise<void> {
    for (let i = 0; i < max && !done() && !this.dead; i++) {
      await this.tick();
      this.clock.advance(this.ctx.state.spec.heartbeatMs);
    }
    if (!done() && !this.dead) throw new Error(`not done after ${max} ticks; events: ${this.reasons().join(', ')}`);
  }
}
