/**
 * The control loop (docs/architecture.md §5), platform-free: every heartbeat it observes
 * the nodes, then fails over dead primaries, carries changes of primary
 * forward, reconciles roles, bootstraps, publishes the map, advances the
 * rebalance under way and deletes nodes nobody lists. One tick at a time, so
 * steps never race each other; a node exit or a user request wakes it early.
 * User requests only record intent (committed), the loop carries it out.
 */
import { countSlots } from '../../common/cluster-map.js';
import type { Logger } from '../../common/logger.js';
import { initialState, newShard, resizeMembers } from '../core/initial-state.js';
import type { ClusterStatus } from '../core/observation.js';
import { rebalancePlan } from '../core/slot-plan.js';
import { validateSpec, type ClusterSpec } from '../core/spec.js';
import type { ControllerState, FailoverStage, RebalanceOp } from '../core/state.js';
import { buildStatus } from '../core/status-view.js';
import { ControlError, type ControlTarget, type RequestAccepted, type ScaleRequest } from '../control-api/types.js';
import type { Platform, StateStore } from '../platform/types.js';
import { ControllerContext, errorText, type ControllerEvent } from './context.js';
import { FailoverRunner } from './failover-runner.js';
import { Heartbeat } from './heartbeat.js';
import { Membership } from './membership.js';
import type { NodeApiFactory } from './node-api.js';
import type { FetchLike } from '../../common/node-fetch.js';
import { MapPublisher } from './publish.js';
import { RebalanceRunner } from './rebalance-runner.js';
import { RoleReconciler } from './roles.js';
import { SyncSetReconciler } from './sync-set.js';
import { allocateId } from './shard-update.js';
import { BackupRunner, type BackupDestinationOpener, type BackupRequest } from './backup-runner.js';
import type { Tracing } from '../../common/tracing/provider.js';
import { OperationTraces } from '../../common/tracing/operations.js';
import type { BackupRecord } from '../core/backup-state.js';
import { withRecoverability, type RecoverabilityWatcher } from './recoverability-watcher.js';

export interface ControllerOptions {
  readonly cluster: string;
  /** The spec for a new cluster; an existing one keeps its recorded spec (change it with scale). */
  readonly spec: ClusterSpec;
  readonly platform: Platform;
  readonly store: StateStore;
  readonly token: string;
  readonly logger: Logger;
  readonly now?: () => number;
  /** How the controller reaches a node's admin API (default: HTTP, node-api.ts httpNodeApi); tests pass fakes. */
  readonly nodeApi?: NodeApiFactory;
  /** How the controller's other node clients (backups) reach nodes (default: the global fetch; HTTPS with a private CA: common/node-fetch.ts). */
  readonly nodeFetch?: FetchLike;
  /** Test-only (FailoverRunnerOptions.holdStage): stop every change of primary before this stage. Never set in use. */
  readonly holdFailoverStage?: FailoverStage | null;
  /** Failovers and rebalances exported as traces (docs/tracing.md); the controller shuts it down on stop. */
  readonly tracing?: Tracing | null;
  /** Backups: the environment the runner reads S3 settings from (default process.env) and how it opens destinations (the Kubernetes operator injects a Secret's credentials). */
  readonly backupEnv?: NodeJS.ProcessEnv;
  readonly openBackupDestination?: BackupDestinationOpener;
}

export class Controller implements ControlTarget {
  private readonly heartbeat: Heartbeat;
  private readonly failovers: FailoverRunner;
  private readonly roles: RoleReconciler;
  private readonly syncSets: SyncSetReconciler;
  private readonly membership: Membership;
  private readonly publisher: MapPublisher;
  private readonly rebalancer: RebalanceRunner;
  private readonly backupRunner: BackupRunner;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private bootstrapProgress = { up: 0, ready: 0, total: 0 };
  private lastTickError: string | null = null;
  private readonly restarting = new Set<string>();
  private turn: Promise<void> = Promise.resolve();
  private ensuring = false;
  private recoverability: RecoverabilityWatcher | null = null;

  private constructor(readonly ctx: ControllerContext, holdFailoverStage: FailoverStage | null, backups: Pick<ControllerOptions, 'backupEnv' | 'openBackupDestination'> = {}) {
    this.heartbeat = new Heartbeat(ctx);
    this.failovers = new FailoverRunner(ctx, this.heartbeat, { holdStage: holdFailoverStage });
    this.roles = new RoleReconciler(ctx);
    this.syncSets = new SyncSetReconciler(ctx, this.heartbeat);
    this.membership = new Membership(ctx);
    this.publisher = new MapPublisher(ctx);
    this.rebalancer = new RebalanceRunner(ctx);
    this.backupRunner = new BackupRunner(ctx, backups.backupEnv ?? process.env, backups.openBackupDestination, (fn) => this.exclusive(fn));
    ctx.platform.onNodeExit(() => this.poke());
  }

  /** Loads the recorded state (or records a new cluster) and starts the loop. */
  static async start(opts: ControllerOptions): Promise<Controller> {
    const loaded = await opts.store.load();
    let state: ControllerState;
    if (loaded === null) {
      state = initialState(opts.cluster, validateSpec(opts.spec));
      await opts.store.save(state);
    } else {
      state = loaded;
    }
    const ctx = new ControllerContext(state, opts.platform, opts.store, opts.token, opts.logger, opts.now, opts.nodeApi, opts.nodeFetch);
    if (opts.tracing !== undefined && opts.tracing !== null) ctx.traces = new OperationTraces(opts.tracing, ctx.now());
    const c = new Controller(ctx, opts.holdFailoverStage ?? null, opts);
    ctx.event('Normal', loaded === null ? 'ClusterCreated' : 'ControllerStarted', loaded === null
      ? `new cluster ${state.cluster}: ${state.spec.shards} shards × ${state.spec.replicasPerShard + 1} nodes`
      : `resuming cluster ${state.cluster} from its recorded state${describeInFlight(state)}`);
    c.running = true;
    c.loopDone = c.loop();
    return c;
  }

  get state(): ControllerState {
    return this.ctx.state;
  }

  get events(): readonly ControllerEvent[] {
    return this.ctx.events;
  }

  onEvent(listener: (e: ControllerEvent) => void): void {
    this.ctx.onEvent(listener);
  }

  /** Reports the recoverability window read by `watcher` in status (a cluster that archives its log). */
  watchRecoverability(watcher: RecoverabilityWatcher): void {
    this.recoverability = watcher;
    watcher.start();
    // A new backup can move the window's start: read it again at once.
    this.onEvent((e) => void (e.reason === 'BackupCompleted' || e.reason === 'BackupDeleted' ? watcher.refresh() : undefined));
  }

  /** Stops the loop (nodes keep running; the platform stops them). */
  async stop(): Promise<void> {
    this.recoverability?.close();
    this.running = false;
    this.poke();
    await this.loopDone;
    await this.ctx.traces?.close().catch((err: unknown) => this.ctx.logger.warn('exporting the last spans failed', { err: errorText(err) }));
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const started = this.ctx.now();
      const errorsBefore = this.lastTickError;
      await this.tick();
      if (this.lastTickError === errorsBefore) this.lastTickError = null;
      if (!this.running) break;
      const wait = Math.max(0, this.ctx.state.spec.heartbeatMs - (this.ctx.now() - started));
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.wake = null;
          resolve();
        }, wait);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /**
   * One step at a time: a tick and the user requests take turns, so a
   * request never builds its state from a copy a tick is about to replace.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.then(() => undefined, () => undefined);
    return run;
  }

  private async tick(): Promise<void> {
    await this.exclusive(async () => {
      await this.step('heartbeat', () => this.heartbeat.round());
      await this.step('failover detection', () => this.failovers.detect());
      for (const s of this.ctx.state.shards) {
        if (s.failover !== null) await this.step(`failover of ${s.id}`, () => this.failovers.progress(s.id));
      }
      await this.step('roles', async () => { await this.roles.reconcile(); });
      await this.step('sync sets', () => this.syncSets.reconcile());
      if (this.ctx.state.map === null) await this.step('bootstrap', async () => { this.bootstrapProgress = await this.membership.bootstrap(); });
      await this.step('map publishing', () => this.publisher.publish());
      await this.step('rebalance', () => this.rebalancer.step());
      await this.step('map publishing', () => this.publisher.publish());
      await this.step('garbage collection', () => this.membership.collectGarbage());
      await this.step('backups', () => this.backupRunner.step());
    });
    // Outside the turn: creating nodes may wait for the platform (a pod being scheduled).
    if (!this.ensuring) {
      this.ensuring = true;
      void this.step('node creation', () => this.membership.ensureNodes()).finally(() => (this.ensuring = false));
    }
  }

  /** Runs one step; a failing step is logged and the others still run. */
  private async step(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const text = `${name}: ${errorText(err)}`;
      if (text !== this.lastTickError) this.ctx.logger.error('controller step failed', { step: name, error: errorText(err), stack: (err as Error).stack });
      this.lastTickError = text;
    }
  }

  // ---- Backups (control API /backups) ---------------------------------------------

  /** Records a new cluster backup; the loop runs it. */
  async createBackup(req: BackupRequest): Promise<BackupRecord> {
    const rec = await this.exclusive(() => this.backupRunner.create(req));
    this.poke();
    return rec;
  }

  get backups(): readonly BackupRecord[] {
    return this.backupRunner.backups;
  }

  backup(id: string): BackupRecord {
    return this.backupRunner.get(id);
  }

  deleteBackup(id: string): Promise<{ objects: number }> {
    return this.exclusive(() => this.backupRunner.delete(id));
  }

  /** Scheduled backups (`local up --backup-schedule`): recorded; the loop runs them. */
  async setBackupSchedule(s: { cron: string; destination: string; keep: number } | null): Promise<void> {
    await this.exclusive(() => this.backupRunner.setSchedule(s));
    this.poke();
  }

  // ---- ControlTarget ----------------------------------------------------------------

  status(): ClusterStatus {
    const s = withRecoverability(this.recoverability, buildStatus({
      state: this.ctx.state,
      observations: [...this.ctx.observations.values()],
      migration: this.ctx.state.operation?.migration != null ? this.rebalancer.current : null,
      now: this.ctx.now(),
    }));
    const extra: string[] = [];
    if (this.ctx.state.map === null) extra.push(`bootstrapping: ${this.bootstrapProgress.up} of ${this.bootstrapProgress.total} nodes answer, ${this.bootstrapProgress.ready} have their roles`);
    if (this.publisher.blocked !== null) extra.push(`map publishing stopped: ${this.publisher.blocked}`);
    if (this.lastTickError !== null) extra.push(`last controller error: ${this.lastTickError}`);
    for (const b of this.backupRunner.backups) {
      if (b.phase !== 'Running') continue;
      const done = b.shards.filter((x) => x.state === 'done').length;
      const keys = b.shards.reduce((n, x) => n + x.keys, 0);
      extra.push(`backup ${b.id} running: ${done}/${b.shards.length} shards done, ${keys} keys read (irisctl backup describe ${b.id})`);
    }
    return extra.length === 0 ? s : { ...s, messages: [...s.messages, ...extra] };
  }

  async failover(shard: string): Promise<RequestAccepted> {
    const id = await this.exclusive(() => this.failovers.requestFailover(shard));
    this.poke();
    return { id, message: `failover of ${shard} started` };
  }

  async switchover(shard: string, to?: string): Promise<RequestAccepted> {
    const id = await this.exclusive(() => this.failovers.requestSwitchover(shard, to));
    this.poke();
    return { id, message: `switchover of ${shard} started` };
  }

  scale(req: ScaleRequest): Promise<RequestAccepted> {
    return this.exclusive(() => this.scaleNow(req));
  }

  private async scaleNow(req: ScaleRequest): Promise<RequestAccepted> {
    if (req.shards === undefined && req.replicasPerShard === undefined) throw new ControlError('bad_request', 'give shards or replicasPerShard');
    const state = this.ctx.state;
    if (state.map === null) throw new ControlError('conflict', 'the cluster is still bootstrapping');
    const spec = { ...state.spec, ...(req.shards !== undefined ? { shards: req.shards } : {}), ...(req.replicasPerShard !== undefined ? { replicasPerShard: req.replicasPerShard } : {}) };
    try {
      validateSpec(spec);
    } catch (err) {
      throw new ControlError('bad_request', errorText(err));
    }
    if (req.shards !== undefined) this.noOperation();
    // Replicas first: the shards a scale-out adds get the new count.
    const replicas = req.replicasPerShard !== undefined ? await this.scaleReplicas(req.replicasPerShard, { ...state.spec, replicasPerShard: req.replicasPerShard }) : null;
    const shards = req.shards !== undefined ? await this.scaleShards(req.shards, { ...this.ctx.state.spec, shards: req.shards }) : null;
    this.poke();
    if (shards !== null && replicas !== null) return { id: shards.id, message: `${replicas.message}; ${shards.message}` };
    return (shards ?? replicas)!;
  }

  rebalance(): Promise<RequestAccepted> {
    return this.exclusive(() => this.rebalanceNow());
  }

  private async rebalanceNow(): Promise<RequestAccepted> {
    const state = this.ctx.state;
    if (state.map === null) throw new ControlError('conflict', 'the cluster is still bootstrapping');
    this.noOperation();
    const shardsAfter = state.shards.filter((s) => !s.leaving).map((s) => s.id);
    const moves = rebalancePlan(state.map, shardsAfter);
    if (moves.length === 0) return { id: '', message: 'the slots are already balanced' };
    return this.beginOperation(`rebalance over ${shardsAfter.length} shards`, 'migrate', shardsAfter, moves, state, state.spec);
  }

  private noOperation(): void {
    const op = this.ctx.state.operation;
    if (op !== null) throw new ControlError('conflict', `${op.id} (${op.reason}) is under way: wait for it to finish`);
  }

  private async scaleShards(n: number, spec: ClusterSpec): Promise<RequestAccepted> {
    this.noOperation();
    const state = this.ctx.state;
    const active = state.shards.filter((s) => !s.leaving);
    if (n === active.length) return { id: '', message: `the cluster already has ${n} shards` };
    const reason = `scale shards ${active.length} → ${n}`;
    if (n > active.length) {
      let nextIndex = Math.max(-1, ...state.shards.map((s) => s.index)) + 1;
      const added = Array.from({ length: n - active.length }, () => newShard(state.cluster, nextIndex++, state.spec.replicasPerShard, state.spec.minSyncReplicas));
      const shards = [...state.shards, ...added];
      return this.beginOperation(reason, 'add', [...active, ...added].map((s) => s.id), [], { ...state, shards }, spec);
    }
    // The highest-numbered shards leave, as a StatefulSet scales down.
    const keep = [...active].sort((a, b) => a.index - b.index).slice(0, n).map((s) => s.id);
    const shards = state.shards.map((s) => (keep.includes(s.id) ? s : { ...s, leaving: true }));
    const moves = rebalancePlan(state.map!, keep);
    return this.beginOperation(reason, 'migrate', keep, moves, { ...state, shards }, spec);
  }

  private async beginOperation(reason: string, stage: RebalanceOp['stage'], shardsAfter: string[], moves: RebalanceOp['moves'], base: ControllerState, spec: ClusterSpec): Promise<RequestAccepted> {
    const { id, state } = allocateId(base, 'op');
    const now = this.ctx.now();
    const operation: RebalanceOp = {
      kind: 'rebalance', id, reason, stage, shardsAfter, moves, done: 0, migration: null,
      keysMoved: 0, bytesMoved: 0, startedAt: now, updatedAt: now, error: null,
    };
    await this.ctx.commit({ ...state, spec, operation });
    this.ctx.event('Normal', 'RebalanceStarted', `${reason} (${id}): ${stage === 'add' ? 'starting the new shards' : `${moves.length} migrations, ${moves.reduce((x, m) => x + countSlots(m.slots), 0)} slots`}`, { id });
    return { id, message: reason };
  }

  private async scaleReplicas(replicas: number, spec: ClusterSpec): Promise<RequestAccepted> {
    const state = this.ctx.state;
    if (state.shards.some((s) => s.failover !== null)) throw new ControlError('conflict', 'a change of primary is under way: wait for it to finish');
    const shards = state.shards.map((s) => ({ ...s, members: resizeMembers(state.cluster, s, replicas) }));
    await this.ctx.commit({ ...state, spec, shards });
    const message = `replicas per shard ${state.spec.replicasPerShard} → ${replicas}`;
    this.ctx.event('Normal', 'ReplicasScaled', `${message}: new replicas join each primary's sync set once caught up; removed ones are deleted once no primary waits for them`);
    return { id: '', message };
  }

  /**
   * Changes how the cluster replicates and detects failures. The sync-set
   * reconciler moves every shard's guarantee to the new minSyncReplicas in
   * its safe order; nodes learn their --min-sync-replicas from the platform
   * (a rollout on Kubernetes; the next start locally).
   */
  updateSettings(settings: Partial<Pick<ClusterSpec, 'minSyncReplicas' | 'dataDurability' | 'heartbeatMs' | 'failureThreshold'>>): Promise<RequestAccepted> {
    return this.exclusive(async () => {
      const state = this.ctx.state;
      const spec = { ...state.spec, ...settings };
      try {
        validateSpec(spec);
      } catch (err) {
        throw new ControlError('bad_request', errorText(err));
      }
      if (JSON.stringify(spec) === JSON.stringify(state.spec)) return { id: '', message: 'settings unchanged' };
      await this.ctx.commit({ ...state, spec });
      const message = `settings changed: ${Object.entries(settings).map(([k, v]) => `${k}=${String(v)}`).join(', ')}`;
      this.ctx.event('Normal', 'SettingsChanged', message);
      return { id: '', message };
    });
  }

  async restartNode(node: string): Promise<RequestAccepted> {
    const shard = this.ctx.state.shards.find((s) => s.members.includes(node));
    if (shard === undefined) throw new ControlError('not_found', `no node ${node} in the cluster`);
    if (this.restarting.has(node)) throw new ControlError('conflict', `${node} is already being restarted`);
    if (shard.currentPrimary === node && shard.members.length > 1) {
      // Graceful: the primary hands its role over first, so no write waits on a stopped primary.
      const id = await this.exclusive(() => this.failovers.requestSwitchover(shard.id, undefined, `before a graceful restart of ${node}`));
      this.poke();
      this.restarting.add(node);
      void this.restartAfterSwitchover(node, shard.id, id).finally(() => this.restarting.delete(node));
      return { id, message: `${node} hands the primary role of ${shard.id} over (${id}), then restarts` };
    }
    this.restarting.add(node);
    void this.restartNow(node).finally(() => this.restarting.delete(node));
    return { id: '', message: `${node} restarts` };
  }

  private async restartAfterSwitchover(node: string, shardId: string, id: string): Promise<void> {
    const deadline = this.ctx.now() + 120_000;
    while (this.running && this.ctx.now() < deadline) {
      const s = this.ctx.state.shards.find((x) => x.id === shardId);
      if (s === undefined) return;
      if (s.failover === null) {
        if (s.currentPrimary !== node) return this.restartNow(node);
        this.ctx.event('Warning', 'RestartSkipped', `${node} not restarted: the switchover ${id} did not hand its role over (see earlier events)`, { node });
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async restartNow(node: string): Promise<void> {
    this.ctx.event('Normal', 'NodeRestarting', `${node} restarting`, { node });
    try {
      await this.ctx.platform.restartNode(node);
      this.ctx.event('Normal', 'NodeRestarted', `${node} restarted`, { node });
    } catch (err) {
      this.ctx.event('Warning', 'NodeRestartFailed', `${node}: restart failed: ${errorText(err)}`, { node });
    }
  }
}

function describeInFlight(state: ControllerState): string {
  const parts: string[] = [];
  for (const s of state.shards) if (s.failover !== null) parts.push(`${s.failover.kind} of ${s.id} at stage ${s.failover.stage}`);
  if (state.operation !== null) parts.push(`${state.operation.reason} at stage ${state.operation.stage} (${state.operation.done} of ${state.operation.moves.length} migrations)`);
  return parts.length === 0 ? '' : `; resuming ${parts.join(', ')}`;
}
