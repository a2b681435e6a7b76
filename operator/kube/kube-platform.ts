/**
 * The Platform (operator/platform/types.ts) for one IrisCluster: a node is
 * pod `<cluster>-shard-<i>-<ordinal>` of StatefulSet `<cluster>-shard-<i>`.
 * Creating a node raises its StatefulSet's replicas; deleting one lowers
 * them (a StatefulSet only removes its highest ordinals, and its claim goes
 * with it by the retention policy) or deletes the whole StatefulSet once
 * its shard has no member left; restarting one deletes its pod. What the
 * platform knows of the nodes comes from the shared pod and StatefulSet
 * caches; a pod being deleted, or whose container stops, is reported at
 * once through onNodeExit (faster than missed heartbeats).
 */
import { setMaxListeners } from 'node:events';
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.js';
import { nodeName, parseNodeName, shardId } from '../core/naming.js';
import type { NodeEndpoint, Platform, PlatformNode } from '../platform/types.js';
import { statefulSet } from './build/statefulset.js';
import type { KubeClient } from './client.js';
import { OperatorError, errorText, isConflict, isNotFound } from './errors.js';
import type { Informer } from './informer.js';
import type { IrisCluster } from './iris-cluster.js';
import { parseStatefulSetName, statefulSetName } from './names.js';
import { PODS, STATEFULSETS, resourcePath } from './paths.js';
import { endpointOf, exitedBetween, isDeleting, lastExitOf, podRunning, restartsOf, timeMs } from './pod-facts.js';
import { sleep } from '../../common/abortable-sleep.js';

export interface KubePlatformOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly cluster: string;
  readonly pods: Informer<V1Pod>;
  readonly statefulSets: Informer<V1StatefulSet>;
  /** The IrisCluster as last seen (templates for new StatefulSets). */
  readonly resource: () => IrisCluster;
  /** The members the controller records for a shard, or null before it runs. */
  readonly members: (shardIndex: number) => readonly string[] | null;
  readonly logger: Logger;
  /** How long ensureNode and restartNode wait for a pod (default 120 s). */
  readonly placeTimeoutMs?: number;
}

const MAX_ATTEMPTS = 8;

export class KubePlatform implements Platform {
  private readonly listeners: Array<(name: string) => void> = [];
  private readonly waiters = new Set<() => void>();
  private readonly locks = new Map<number, Promise<unknown>>();
  /** Pod uids whose deletion was already reported. */
  private readonly reportedDeletion = new Set<string>();
  private readonly deletedAt = new Map<string, number>();
  private readonly abort = new AbortController();
  private readonly placeTimeoutMs: number;

  constructor(private readonly o: KubePlatformOptions) {
    this.placeTimeoutMs = o.placeTimeoutMs ?? 120_000;
    // Every wait listens on the one signal; many run at once (one per pod).
    setMaxListeners(0, this.abort.signal);
  }

  /** Stops waiting for anything (the controller stopped). */
  close(): void {
    this.abort.abort();
    this.notify();
  }

  // ---- Platform ---------------------------------------------------------------------

  async ensureNode(name: string, shard: string): Promise<NodeEndpoint> {
    this.checkOpen();
    const { shardIndex, ordinal } = this.parse(name);
    if (shard !== shardId(shardIndex)) throw new OperatorError(`belongs to ${shardId(shardIndex)}, not ${shard}`, `node ${name}`);
    await this.locked(shardIndex, () => this.scaleUpTo(shardIndex, ordinal + 1));
    const pod = await this.waitFor(`pod ${name} to get an IP`, () => {
      const p = this.pod(name);
      return p !== undefined && !isDeleting(p) && endpointOf(p) !== null ? p : null;
    });
    return endpointOf(pod)!;
  }

  async restartNode(name: string): Promise<void> {
    this.checkOpen();
    this.parse(name);
    const path = resourcePath(PODS, this.o.namespace, name);
    const pod = await this.o.client.find<V1Pod>(path);
    const uid = pod?.metadata?.uid;
    if (pod !== null && !isDeleting(pod)) {
      try {
        await this.o.client.delete(path, { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } });
      } catch (err) {
        // Gone already, or replaced by a new pod meanwhile: either way it restarted.
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
    await this.waitFor(`pod ${name} to be recreated`, () => {
      const p = this.pod(name);
      return p !== undefined && p.metadata?.uid !== uid && !isDeleting(p);
    });
  }

  async deleteNode(name: string): Promise<void> {
    this.checkOpen();
    const { shardIndex, ordinal } = this.parse(name);
    await this.locked(shardIndex, () => this.scaleDownFrom(shardIndex, ordinal, name));
  }

  nodes(): readonly PlatformNode[] {
    const out: PlatformNode[] = [];
    for (const sts of this.o.statefulSets.list()) {
      if (sts.metadata?.namespace !== this.o.namespace || isDeleting(sts)) continue;
      const index = parseStatefulSetName(this.o.cluster, sts.metadata?.name ?? '');
      if (index === null) continue;
      for (let ordinal = 0; ordinal < (sts.spec?.replicas ?? 0); ordinal++) {
        const name = nodeName(this.o.cluster, index, ordinal);
        const pod = this.pod(name);
        const exits = [pod === undefined ? null : lastExitOf(pod), this.deletedAt.get(name) ?? null].filter((t): t is number => t !== null);
        out.push({
          name,
          shard: shardId(index),
          endpoint: pod === undefined ? null : endpointOf(pod),
          running: pod !== undefined && podRunning(pod),
          restarts: pod === undefined ? 0 : restartsOf(pod),
          lastExitAt: exits.length === 0 ? null : Math.max(...exits),
        });
      }
    }
    return out;
  }

  onNodeExit(listener: (name: string) => void): void {
    this.listeners.push(listener);
  }

  // ---- cache events (from the cluster's runner) ---------------------------------------

  /** A pod of this cluster changed: report exits, wake waiters. */
  observePod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: V1Pod, old: V1Pod | undefined): void {
    const name = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid ?? '';
    if (parseNodeName(this.o.cluster, name) !== null) {
      let exited = false;
      if (type === 'DELETED') {
        exited = !this.reportedDeletion.has(uid);
        this.reportedDeletion.delete(uid);
      } else if (exitedBetween(old, pod) && !this.reportedDeletion.has(uid)) {
        exited = true;
        if (isDeleting(pod)) this.reportedDeletion.add(uid);
      }
      if (exited) {
        if (type === 'DELETED' || isDeleting(pod)) this.deletedAt.set(name, timeMs(pod.metadata?.deletionTimestamp) ?? Date.now());
        this.o.logger.info('node process exited', { node: name, how: type === 'DELETED' ? 'pod deleted' : isDeleting(pod) ? 'pod deleting' : 'container stopped' });
        for (const l of this.listeners) {
          try {
            l(name);
          } catch (err) {
            this.o.logger.error('onNodeExit listener failed', { node: name, error: errorText(err) });
          }
        }
      }
    }
    this.notify();
  }

  /** A StatefulSet of this cluster changed. */
  observeStatefulSet(): void {
    this.notify();
  }

  // ---- internals -----------------------------------------------------------------------

  /** A controller that was stopped (leadership lost, cluster deleted) changes nothing any more. */
  private checkOpen(): void {
    if (this.abort.signal.aborted) throw new OperatorError('the platform is closed: this operator no longer manages the cluster', `IrisCluster ${this.o.namespace}/${this.o.cluster}`);
  }

  private parse(name: string): { shardIndex: number; ordinal: number } {
    const p = parseNodeName(this.o.cluster, name);
    if (p === null) throw new OperatorError(`not a node name of cluster ${this.o.cluster}`, `node ${name}`);
    return p;
  }

  private pod(name: string): V1Pod | undefined {
    return this.o.pods.get(this.o.namespace, name);
  }

  private stsPath(index: number): string {
    return resourcePath(STATEFULSETS, this.o.namespace, statefulSetName(this.o.cluster, index));
  }

  /** Replicas the recorded members of a shard need: its highest ordinal + 1 (0 when none). */
  private neededReplicas(index: number): number | null {
    const members = this.o.members(index);
    if (members === null) return null;
    return Math.max(0, ...members.map((m) => (parseNodeName(this.o.cluster, m)?.ordinal ?? -1) + 1));
  }

  private async scaleUpTo(index: number, min: number): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      this.checkOpen();
      const cr = this.o.resource();
      if (isDeleting(cr)) throw new OperatorError('the cluster is being deleted: no new nodes', `IrisCluster ${this.o.namespace}/${this.o.cluster}`);
      const current = await this.o.client.find<V1StatefulSet>(this.stsPath(index));
      const wanted = Math.max(min, this.neededReplicas(index) ?? 0);
      try {
        if (current === null) {
          const created = await this.o.client.create<V1StatefulSet>(resourcePath(STATEFULSETS, this.o.namespace), statefulSet(cr, index, wanted));
          this.o.statefulSets.upsert(created);
          this.o.logger.info('StatefulSet created', { statefulSet: statefulSetName(this.o.cluster, index), replicas: wanted });
          return;
        }
        if (isDeleting(current)) {
          // Scaled in a moment ago: the new shard of the same index waits for the old set to go.
          await this.waitFor(`StatefulSet ${statefulSetName(this.o.cluster, index)} to finish deleting`, async () => (await this.o.client.find(this.stsPath(index))) === null);
          continue;
        }
        const replicas = current.spec?.replicas ?? 0;
        if (replicas >= min) return;
        const updated = await this.o.client.replace<V1StatefulSet>(this.stsPath(index), { ...current, spec: { ...current.spec!, replicas: Math.max(wanted, replicas) } });
        this.o.statefulSets.upsert(updated);
        this.o.logger.info('StatefulSet scaled up', { statefulSet: statefulSetName(this.o.cluster, index), from: replicas, to: updated.spec?.replicas });
        return;
      } catch (err) {
        if (!isConflict(err) && !(err instanceof Error && /AlreadyExists|already exists/.test(err.message))) throw err;
        this.o.logger.debug('StatefulSet changed meanwhile; trying again', { statefulSet: statefulSetName(this.o.cluster, index), attempt });
      }
    }
    throw new OperatorError(`could not scale up after ${MAX_ATTEMPTS} attempts (conflicts)`, `StatefulSet ${statefulSetName(this.o.cluster, index)}`);
  }

  private async scaleDownFrom(index: number, ordinal: number, name: string): Promise<void> {
    const stsName = statefulSetName(this.o.cluster, index);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      this.checkOpen();
      const current = await this.o.client.find<V1StatefulSet>(this.stsPath(index));
      if (current === null || isDeleting(current)) return;
      const needed = this.neededReplicas(index);
      if (needed === 0) {
        // The shard is gone: the set goes whole, its pods and (retention policy) their claims with it.
        await this.o.client.delete(this.stsPath(index), { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        this.o.logger.info('StatefulSet deleted: its shard has no member left', { statefulSet: stsName });
        return;
      }
      const replicas = current.spec?.replicas ?? 0;
      if (ordinal >= replicas) return;
      const target = needed ?? replicas - 1;
      if (ordinal < target) {
        throw new OperatorError(`cannot remove ${name}: a StatefulSet removes only its highest ordinals and ${nodeName(this.o.cluster, index, target - 1)} is still a member`, `StatefulSet ${stsName}`);
      }
      try {
        const updated = await this.o.client.replace<V1StatefulSet>(this.stsPath(index), { ...current, spec: { ...current.spec!, replicas: target } });
        this.o.statefulSets.upsert(updated);
        this.o.logger.info('StatefulSet scaled down', { statefulSet: stsName, from: replicas, to: target });
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    throw new OperatorError(`could not scale down after ${MAX_ATTEMPTS} attempts (conflicts)`, `StatefulSet ${stsName}`);
  }

  /** Runs `f` after every earlier call for the same shard (one StatefulSet change at a time). */
  private locked<T>(index: number, f: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(index) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(f);
    this.locks.set(index, next);
    void next.catch(() => undefined).finally(() => {
      if (this.locks.get(index) === next) this.locks.delete(index);
    });
    return next;
  }

  private notify(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  /** Polls `probe` on every cache change (and every second), until it answers or the deadline passes. */
  private async waitFor<T>(what: string, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>): Promise<T> {
    const deadline = Date.now() + this.placeTimeoutMs;
    while (!this.abort.signal.aborted) {
      const v = await probe();
      if (v !== null && v !== undefined && v !== false) return v;
      if (Date.now() >= deadline) break;
      await new Promise<void>((resolve) => {
        const wake = (): void => resolve();
        this.waiters.add(wake);
        void sleep(1000, this.abort.signal).then(() => {
          this.waiters.delete(wake);
          resolve();
        });
      });
    }
    throw new OperatorError(this.abort.signal.aborted ? `stopped while waiting for ${what}` : `timed out after ${this.placeTimeoutMs} ms waiting for ${what}`, `IrisCluster ${this.o.namespace}/${this.o.cluster}`);
  }
}
