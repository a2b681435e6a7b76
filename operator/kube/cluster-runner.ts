/**
 * Everything the operator runs for one IrisCluster while it leads: the
 * token Secret, the platform and state store, the platform-free Controller
 * (docs/architecture.md §5: the same core as the local cluster), and a reconcile pass
 * about once a second (sooner when a pod or StatefulSet of the cluster
 * changes) made of small steps: resources, scale, rollout, requests made
 * through the resource's annotation, role labels, status. Failover needs no step: the controller does it, told at once by
 * the platform when a pod goes. stop() halts the controller and fences its
 * state store; the nodes keep running.
 */
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.js';
import { Controller } from '../controller/controller.js';
import type { ControllerEvent } from '../controller/context.js';
import { controllerSource } from '../dashboard/controller-source.js';
import type { DashboardSource } from '../dashboard/view.js';
import { clusterNameRule, validClusterName } from '../core/naming.js';
import type { KubeClient } from './client.js';
import { OperatorError, errorText } from './errors.js';
import { EventRecorder, type RecordedEvent } from './events.js';
import type { Informer } from './informer.js';
import { clusterSpecOf, type IrisCluster } from './iris-cluster.js';
import { KubePlatform } from './kube-platform.js';
import type { OperatorMetrics } from './metrics.js';
import { LABEL_INSTANCE } from './names.js';
import { NOTHING, type StepContext, type StepReport } from './reconcile/context.js';
import { passPlan } from './reconcile/pass-plan.js';
import { UnsupportedStep } from './reconcile/unsupported.js';
import { ensureSurroundings, ensureToken, updateTemplates } from './reconcile/resources.js';
import { reconcileRoleLabels } from './reconcile/role-labels.js';
import { createTracing } from '../../common/tracing/provider.js';
import { tracingSettingsFromEnv } from '../../common/tracing/settings.js';
import { IRISDB_VERSION } from '../../common/version.js';
import { RequestStep } from './reconcile/requests.js';
import { lazyNodeFetch, ReencryptRequests } from './reconcile/reencrypt-request.js';
import { RolloutStep } from './reconcile/rollout.js';
import { SecurityStep } from './reconcile/security.js';
import { CA_DAYS } from './reconcile/tls-renewal.js';
import { ClusterCa, operatorNodeClients } from './reconcile/node-https.js';
import { ScaleStep } from './reconcile/scale.js';
import { StatusStep } from './reconcile/status.js';
import { sleep } from '../../common/abortable-sleep.js';
import { StatusStateStore } from './state-store.js';
import { BackupStep } from './backup/backup-step.js';
import { bootstrapSourceReady } from './backup/bootstrap-source.js';

export interface ClusterRunnerOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** This operator instance (Events' reportingInstance). */
  readonly identity: string;
  readonly logger: Logger;
  readonly metrics: OperatorMetrics;
  readonly clusters: Informer<IrisCluster>;
  readonly pods: Informer<V1Pod>;
  readonly statefulSets: Informer<V1StatefulSet>;
  /** Between reconcile passes (default 1 s). */
  readonly passIntervalMs?: number;
  /** Lifetime of a CA the operator makes for spec.tls (IRIS_OPERATOR_CA_DAYS; default 3650). */
  readonly caDays?: number;
}

/** Services and PDBs are checked again at least this often, even without a spec change. */
const SURROUNDINGS_EVERY_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export class ClusterRunner {
  private controller: Controller | null = null;
  private platform: KubePlatform | null = null;
  private store: StatusStateStore | null = null;
  private recorder: EventRecorder | null = null;
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private lastResource: IrisCluster;
  private surroundingsAt = 0;
  /** The spec generation and shard indexes the Services and PDBs were last made for. */
  private surroundingsKey = '';
  private lastSetupError: string | null = null;
  private readonly scale = new ScaleStep();
  private readonly rollout = new RolloutStep();
  private readonly status = new StatusStep();
  private readonly unsupported = new UnsupportedStep();
  /** The CA the node clients verify against: one per runner, so the security step's writes of ca.crt reach them at once. */
  private readonly ca: ClusterCa;
  private readonly requests = new RequestStep(new ReencryptRequests(lazyNodeFetch(() => operatorNodeClients(this.o.name, this.o.namespace, this.ca).nodeFetch)), () => this.o.caDays ?? CA_DAYS);
  private readonly security: SecurityStep;
  /** IrisBackup objects and spec.backup (issue #15). */
  private readonly backups: BackupStep;
  private readonly logger: Logger;

  constructor(private readonly o: ClusterRunnerOptions) {
    this.logger = o.logger.child({ namespace: o.namespace, cluster: o.name });
    this.backups = new BackupStep(o.identity);
    this.ca = new ClusterCa(o.client, () => this.resource());
    this.security = new SecurityStep(() => this.o.caDays ?? CA_DAYS, this.ca);
    const cr = o.clusters.get(o.namespace, o.name);
    if (cr === undefined) throw new OperatorError('not in the cache', `IrisCluster ${o.namespace}/${o.name}`);
    this.lastResource = cr;
  }

  get uid(): string {
    return this.o.uid;
  }

  /** What the web dashboard shows of this cluster; null until its controller runs. */
  get dashboardSource(): DashboardSource | null {
    return this.controller === null ? null : controllerSource(this.controller);
  }

  start(): void {
    this.loopDone = this.loop();
  }

  /** Stops the controller at once (the nodes keep running); a late state save is refused. */
  async stop(): Promise<void> {
    if (this.abort.signal.aborted) return this.loopDone;
    this.abort.abort();
    this.store?.fence('this operator stopped managing the cluster');
    this.platform?.close();
    this.poke();
    await this.loopDone;
    const c = this.controller;
    if (c !== null) {
      this.o.metrics.controllers.unwatch(c);
      const stopped = await Promise.race([c.stop().then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]);
      if (!stopped) this.logger.warn('the controller did not stop in time; abandoning it (its state store is fenced)');
    }
    this.logger.info('cluster controller stopped');
  }

  poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  observePod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: V1Pod, old: V1Pod | undefined): void {
    this.platform?.observePod(type, pod, old);
    this.poke();
  }

  observeStatefulSet(): void {
    this.platform?.observeStatefulSet();
    this.poke();
  }

  private resource(): IrisCluster {
    const cr = this.o.clusters.get(this.o.namespace, this.o.name);
    if (cr !== undefined && cr.metadata.uid === this.o.uid) this.lastResource = cr;
    return this.lastResource;
  }

  private event(e: RecordedEvent): void {
    if (this.recorder !== null) this.recorder.record(e);
    else new EventRecorder(this.o.client, () => this.resource(), this.o.identity, this.logger).record(e);
  }

  private async loop(): Promise<void> {
    for (let failures = 0; !this.abort.signal.aborted && this.controller === null; failures++) {
      try {
        await this.setup();
      } catch (err) {
        const text = errorText(err);
        if (text !== this.lastSetupError) {
          this.logger.error('starting the cluster controller failed; retrying', { error: text });
          this.event({ at: Date.now(), type: 'Warning', reason: 'ControllerStartFailed', message: text });
        }
        this.lastSetupError = text;
        await sleep(Math.min(500 * 2 ** Math.min(failures, 6), 30_000), this.abort.signal);
      }
    }
    while (!this.abort.signal.aborted) {
      const started = Date.now();
      await this.pass();
      const interval = this.o.passIntervalMs ?? 1000;
      // At least a quarter interval between passes, however many pod events arrive.
      await sleep(interval / 4, this.abort.signal);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void sleep(Math.max(0, interval - (Date.now() - started)), this.abort.signal).then(resolve);
      });
      this.wake = null;
    }
  }

  private async setup(): Promise<void> {
    const cr = this.resource();
    if (!validClusterName(this.o.name)) throw new OperatorError(`invalid name: ${clusterNameRule()}`, `IrisCluster ${this.o.namespace}/${this.o.name}`);
    const token = await ensureToken(this.o.client, cr);
    // spec.bootstrap.fromBackup: recorded before the first StatefulSet exists (waits for a Completed IrisBackup).
    if (!(await bootstrapSourceReady(this.o.client, cr, () => this.resource()))) throw new OperatorError('waiting for the bootstrap source to reach the cache', `IrisCluster ${this.o.namespace}/${this.o.name}`);
    const store = new StatusStateStore(this.o.client, this.o.namespace, this.o.name, this.o.uid);
    const platform = new KubePlatform({
      client: this.o.client, namespace: this.o.namespace, cluster: this.o.name,
      pods: this.o.pods, statefulSets: this.o.statefulSets, resource: () => this.resource(), logger: this.logger,
      members: (index) => {
        const c = this.controller;
        if (c === null) return null;
        return c.state.shards.find((s) => s.index === index)?.members ?? [];
      },
    });
    const recorder = new EventRecorder(this.o.client, () => this.resource(), this.o.identity, this.logger, (e) => {
      this.o.metrics.eventsTotal.inc({ reason: e.reason, type: e.type });
      if (e.reason === 'FailoverStarted') this.o.metrics.failoversTotal.inc({ namespace: this.o.namespace, cluster: this.o.name });
    });
    this.store = store;
    this.platform = platform;
    this.recorder = recorder;
    if (this.abort.signal.aborted) return;
    // Tracing (docs/tracing.md): OTEL_* / IRIS_OTEL_* in the operator's environment; the controller shuts it down.
    const traced = tracingSettingsFromEnv(process.env, 'irisdb-operator');
    // The backup Secret before the controller's first tick: a backup resumed from the record may finalize on it.
    await this.backups.prepare(this.o.client, this.o.namespace, cr)
      .then(() => this.backups.prepareRunning(this.o.client, this.o.namespace, this.o.name))
      .catch((err: unknown) => this.logger.warn('reading the backup Secret before the controller starts failed; the backups step retries', { error: errorText(err) }));
    const controller = await Controller.start({
      cluster: this.o.name, spec: clusterSpecOf(cr.spec), platform, store, token, logger: this.logger.child({ component: 'controller' }),
      tracing: traced === null ? null : createTracing(traced, { instance: `${this.o.namespace}/${this.o.name}`, version: IRISDB_VERSION }),
      backupEnv: this.backups.env, openBackupDestination: this.backups.credentials.opener,
      ...operatorNodeClients(this.o.name, this.o.namespace, this.ca),
    });
    if (this.abort.signal.aborted) {
      await controller.stop();
      return;
    }
    this.controller = controller;
    this.o.metrics.controllers.watch(controller, this.o.namespace);
    // Events of the start itself (ClusterCreated / ControllerStarted) came before anyone listened.
    for (const e of controller.events) recorder.record(e);
    controller.onEvent((e: ControllerEvent) => recorder.record(e));
    this.lastSetupError = null;
    this.logger.info('cluster controller started', { shards: controller.state.shards.length });
  }

  private context(controller: Controller, platform: KubePlatform): StepContext {
    const ns = this.o.namespace;
    const mine = (o: { metadata?: { namespace?: string; labels?: Record<string, string> } }): boolean =>
      o.metadata?.namespace === ns && o.metadata?.labels?.[LABEL_INSTANCE] === this.o.name;
    return {
      client: this.o.client, namespace: ns, cluster: this.o.name, logger: this.logger, metrics: this.o.metrics,
      resource: () => this.resource(), controller, platform,
      pods: () => this.o.pods.list().filter(mine),
      statefulSets: () => this.o.statefulSets.list().filter(mine),
      event: (e) => this.event({ at: Date.now(), ...e }),
    };
  }

  /** One reconcile pass: every step runs even if an earlier one failed. */
  private async pass(): Promise<void> {
    const controller = this.controller;
    const platform = this.platform;
    if (controller === null || platform === null) return;
    const ctx = this.context(controller, platform);
    const cr = this.resource();
    const plan = passPlan(cr.spec);
    let ok = true;
    const step = async (name: string, f: () => Promise<StepReport>): Promise<StepReport> => {
      try {
        return await f();
      } catch (err) {
        ok = false;
        this.logger.warn(`reconcile step ${name} failed`, { error: errorText(err) });
        return { progress: null, problem: `${name}: ${errorText(err)}` };
      }
    };
    const key = `${cr.metadata.generation ?? 0}|${controller.state.shards.map((s) => s.index).join(',')}`;
    const surroundings = await step('resources', async () => {
      if (key === this.surroundingsKey && Date.now() - this.surroundingsAt < SURROUNDINGS_EVERY_MS) return NOTHING;
      await ensureSurroundings(ctx);
      this.surroundingsKey = key;
      this.surroundingsAt = Date.now();
      return NOTHING;
    });
    // Before the pods need them: the aclfile (spec.auth) and TLS Secrets they mount.
    const security = await step('security', () => this.security.run(ctx));
    const templates = plan.templates ? await step('templates', () => updateTemplates(ctx)) : NOTHING;
    const scale = plan.scale ? await step('scale', () => this.scale.run(ctx)) : NOTHING;
    const rollout = plan.rollout ? await step('rollout', () => this.rollout.run(ctx)) : NOTHING;
    // A failover or switchover asked through the resource's annotation; runs when paused too (like failover itself).
    const requests = await step('requests', () => this.requests.run(ctx));
    const roles = await step('roles', () => reconcileRoleLabels(ctx));
    const backups = await step('backups', () => this.backups.run(ctx));
    const unsupported = this.unsupported.run(ctx);
    await this.status.run(ctx, { scale, rollout, other: [surroundings, security, templates, roles, requests, backups, plan.pausedReport, unsupported] });
    this.o.metrics.reconcileTotal.inc({ namespace: this.o.namespace, cluster: this.o.name, result: ok ? 'ok' : 'error' });
  }
}
