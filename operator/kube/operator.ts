/**
 * The operator process: shared caches (IrisClusters, and the pods and
 * StatefulSets labelled app.kubernetes.io/name=irisdb) over every watched
 * namespace, Lease leader election, and one ClusterRunner per IrisCluster
 * while this instance leads. Losing the lease stops every cluster's
 * controller at once (the nodes keep running) and the elector keeps trying
 * to get it back. A cluster being deleted has its controller stopped; the
 * garbage collector removes what it owned (owner references).
 */
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.js';
import type { DashboardSource } from '../dashboard/view.js';
import { ClusterRunner } from './cluster-runner.js';
import type { KubeClient } from './client.js';
import type { OperatorConfig } from './config.js';
import { errorText } from './errors.js';
import { Informer, type InformerEvent } from './informer.js';
import { clusterKey, type IrisCluster } from './iris-cluster.js';
import { LeaderElector } from './leader-election.js';
import type { OperatorMetrics } from './metrics.js';
import { APP_NAME, LABEL_INSTANCE, LABEL_NAME } from './names.js';
import { IRISCLUSTERS, PODS, STATEFULSETS, resourcePath } from './paths.js';
import { isDeleting } from './pod-facts.js';
import { markDeleting } from './reconcile/status.js';

/** The caches of one watched namespace (or of all of them). */
interface Scope {
  /** undefined: every namespace. */
  readonly namespace: string | undefined;
  readonly clusters: Informer<IrisCluster>;
  readonly pods: Informer<V1Pod>;
  readonly statefulSets: Informer<V1StatefulSet>;
}

export interface OperatorOptions {
  readonly config: OperatorConfig;
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly metrics: OperatorMetrics;
  /** Lease timing (tests shorten it). */
  readonly lease?: { readonly durationSeconds?: number; readonly renewDeadlineMs?: number; readonly retryPeriodMs?: number };
}

export class Operator {
  private readonly scopes: Scope[] = [];
  private readonly runners = new Map<string, ClusterRunner>();
  private readonly elector: LeaderElector;
  private leading = false;
  private stopped = false;
  /** Runner changes, one at a time. */
  private sync: Promise<void> = Promise.resolve();

  constructor(private readonly o: OperatorOptions) {
    const { config, client, logger } = o;
    const namespaces: (string | undefined)[] = config.watchNamespaces.length === 0 ? [undefined] : [...config.watchNamespaces];
    const labelSelector = `${LABEL_NAME}=${APP_NAME}`;
    for (const ns of namespaces) {
      const scope: Scope = {
        namespace: ns,
        clusters: new Informer<IrisCluster>(client, { path: resourcePath(IRISCLUSTERS, ns), logger }),
        pods: new Informer<V1Pod>(client, { path: resourcePath(PODS, ns), labelSelector, logger }),
        statefulSets: new Informer<V1StatefulSet>(client, { path: resourcePath(STATEFULSETS, ns), labelSelector, logger }),
      };
      scope.clusters.onEvent((_t: InformerEvent, c) => {
        this.syncRunners();
        this.runners.get(clusterKey(c))?.poke();
      });
      scope.pods.onEvent((type, pod, old) => this.runnerOf(pod)?.observePod(type, pod, old));
      scope.statefulSets.onEvent((_t: InformerEvent, sts) => this.runnerOf(sts)?.observeStatefulSet());
      this.scopes.push(scope);
    }
    this.elector = new LeaderElector(client, {
      namespace: config.namespace, name: config.leaderElectionId, identity: config.identity, logger,
      leaseDurationSeconds: o.lease?.durationSeconds, renewDeadlineMs: o.lease?.renewDeadlineMs, retryPeriodMs: o.lease?.retryPeriodMs,
      onStartedLeading: () => {
        this.leading = true;
        this.syncRunners();
      },
      onStoppedLeading: () => {
        this.leading = false;
        this.syncRunners();
      },
      onLeadershipChange: (v) => o.metrics.leader.set(v ? 1 : 0),
    });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The clusters whose controller runs here (none on a standby), by namespace/name, for the web dashboard. */
  dashboardSources(): ReadonlyMap<string, DashboardSource> {
    const out = new Map<string, DashboardSource>();
    for (const [key, r] of this.runners) {
      const s = r.dashboardSource;
      if (s !== null) out.set(key, s);
    }
    return out;
  }

  /** Fills the caches, then starts electing. */
  async start(): Promise<void> {
    const all = this.scopes.flatMap((s) => [s.clusters.start(), s.pods.start(), s.statefulSets.start()]);
    await Promise.all(all);
    this.o.logger.info('caches synced', { namespaces: this.o.config.watchNamespaces.length === 0 ? 'all' : this.o.config.watchNamespaces.join(',') });
    this.elector.start();
  }

  /** Stops every controller, then releases the lease (a standby takes over at once), then the caches. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.leading = false;
    this.syncRunners();
    await this.sync;
    await this.elector.stop();
    for (const s of this.scopes) {
      s.clusters.stop();
      s.pods.stop();
      s.statefulSets.stop();
    }
  }

  private runnerOf(obj: { metadata?: { namespace?: string; labels?: Record<string, string> } }): ClusterRunner | undefined {
    const instance = obj.metadata?.labels?.[LABEL_INSTANCE];
    if (instance === undefined) return undefined;
    return this.runners.get(`${obj.metadata?.namespace ?? ''}/${instance}`);
  }

  private scopeOf(namespace: string): Scope | undefined {
    return this.scopes.find((s) => s.namespace === undefined || s.namespace === namespace);
  }

  /** Brings the runners in line with the caches and leadership (queued: one change at a time). */
  private syncRunners(): void {
    this.sync = this.sync.then(() => this.doSync()).catch((err: unknown) => {
      this.o.logger.error('updating cluster controllers failed', { error: errorText(err) });
    });
  }

  private async doSync(): Promise<void> {
    const want = new Map<string, IrisCluster>();
    if (this.leading && !this.stopped) {
      for (const s of this.scopes) for (const c of s.clusters.list()) if (!isDeleting(c)) want.set(clusterKey(c), c);
    }
    // Stop first (all at once: losing the lease must halt every controller together).
    const stopping: Promise<void>[] = [];
    for (const [key, r] of this.runners) {
      const c = want.get(key);
      if (c !== undefined && c.metadata.uid === r.uid) continue;
      this.runners.delete(key);
      stopping.push(r.stop());
    }
    await Promise.all(stopping);
    // Deleted in the foreground (dependents first): say so while the garbage collector works.
    if (this.leading && !this.stopped) {
      for (const s of this.scopes) for (const c of s.clusters.list()) if (isDeleting(c) && c.status?.phase !== 'Deleting') await markDeleting(this.o.client, c, this.o.logger);
    }
    for (const [key, c] of want) {
      if (this.runners.has(key)) continue;
      const ns = c.metadata.namespace ?? '';
      const scope = this.scopeOf(ns);
      if (scope === undefined) continue;
      const r = new ClusterRunner({
        client: this.o.client, namespace: ns, name: c.metadata.name ?? '', uid: c.metadata.uid ?? '',
        identity: this.o.config.identity, logger: this.o.logger, metrics: this.o.metrics, caDays: this.o.config.caDays,
        clusters: scope.clusters, pods: scope.pods, statefulSets: scope.statefulSets,
      });
      this.runners.set(key, r);
      r.start();
      this.o.logger.info('managing cluster', { cluster: key });
    }
    this.o.metrics.managedClusters.set(this.runners.size);
  }
}
