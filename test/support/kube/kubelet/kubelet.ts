/**
 * The test kubelet: one Ready node whose pods are local processes. It binds
 * every pending pod to itself (there is no scheduler), provisions volumes for
 * PVCs, and runs a PodWorker per pod bound to it. See
 * docs/testing-kubernetes.md for what it does and does not do.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { TEST_BACKOFF, type BackoffPolicy } from './backoff.js';
import { defaultImageTable, type ImageEntry } from './images.js';
import { IpPool } from './ip-pool.js';
import { registerNode, type NodeHeartbeat } from './node.js';
import { PodWorker, type KubeletContext } from './pod-worker.js';
import { Provisioner } from './provisioner.js';
import { REPO_ROOT } from '../binaries.js';
import { Informer } from '../../../../operator/kube/informer.js';
import { sinkLogger } from '../harness-logger.js';
import { KubeApiError } from '../../../../operator/kube/errors.js';
import type { KubeClient } from '../../../../operator/kube/client.js';
import type { KubeObject } from '../objects.js';
import { PODS, resourcePath } from '../../../../operator/kube/paths.js';

export interface KubeletOptions {
  rest: KubeClient;
  /** Root for pod directories, logs and volumes. */
  stateDir: string;
  apiHost: string;
  apiPort: number;
  nodeName?: string;
  /** First three octets of the pod network, default 127.0.100 (IRIS_KUBE_POD_NET). */
  podNetwork?: string;
  images?: ImageEntry[];
  backoff?: BackoffPolicy;
  log?: (msg: string, err?: unknown) => void;
}

export class TestKubelet {
  readonly nodeName: string;
  readonly hostIP = '127.0.0.1';
  private readonly workers = new Map<string, PodWorker>();
  private readonly binding = new Set<string>();
  private readonly logDirs = new Map<string, string>();
  private readonly ctx: KubeletContext;
  private readonly pods: Informer<KubeObject>;
  private readonly provisioner: Provisioner;
  private heartbeat: NodeHeartbeat | undefined;
  private stopped = false;

  constructor(private readonly o: KubeletOptions) {
    this.nodeName = o.nodeName ?? 'irisdb-test-node';
    const log = o.log ?? ((msg: string, err?: unknown) => {
      process.stderr.write(`[test-kubelet] ${msg}${err !== undefined ? `: ${err instanceof Error ? err.message : String(err)}` : ''}\n`);
    });
    this.ctx = {
      rest: o.rest, nodeName: this.nodeName, hostIP: this.hostIP,
      ipPool: new IpPool(o.podNetwork ?? process.env.IRIS_KUBE_POD_NET ?? '127.0.100'),
      podsRoot: path.join(o.stateDir, 'pods'),
      images: o.images ?? defaultImageTable(REPO_ROOT, process.execPath),
      backoff: o.backoff ?? TEST_BACKOFF,
      apiHost: o.apiHost, apiPort: o.apiPort, log,
    };
    this.provisioner = new Provisioner(o.rest, path.join(o.stateDir, 'volumes'), this.nodeName, log);
    this.pods = new Informer(o.rest, { path: resourcePath(PODS), logger: sinkLogger((e) => log(`pod watch: ${e.message}`, e.error)), maxBackoffMs: 5000 });
    this.pods.onEvent((type, pod) => this.onPod(type, pod as unknown as V1Pod));
  }

  async start(): Promise<void> {
    await fs.mkdir(this.ctx.podsRoot, { recursive: true });
    this.heartbeat = await registerNode(this.o.rest, this.nodeName, this.hostIP);
    await this.provisioner.start();
    await this.pods.start();
  }

  /** Stops every pod (SIGTERM, short grace) and the loops; leaves API objects as they are. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pods.stop();
    this.provisioner.stop();
    await this.heartbeat?.stop();
    await Promise.all([...this.workers.values()].map((w) => w.removed()));
  }

  /** Where a pod's container logs are (kept after the pod is gone, until the environment stops). */
  logDir(namespace: string, name: string): string | undefined {
    return this.logDirs.get(`${namespace}/${name}`);
  }

  /** The worker running a pod, by namespace/name (tests inspect IPs and PIDs). */
  worker(namespace: string, name: string): PodWorker | undefined {
    for (const w of this.workers.values()) if (w.name === `${namespace}/${name}`) return w;
    return undefined;
  }

  private onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: V1Pod): void {
    if (this.stopped) return;
    const uid = pod.metadata?.uid ?? '';
    if (type === 'DELETED') {
      void this.workers.get(uid)?.removed();
      return;
    }
    const nodeName = pod.spec?.nodeName ?? '';
    if (nodeName === '') {
      void this.bind(pod);
      return;
    }
    if (nodeName !== this.nodeName) return;
    const existing = this.workers.get(uid);
    if (existing !== undefined) {
      existing.update(pod);
      return;
    }
    const phase = pod.status?.phase;
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    if (terminal && pod.metadata?.deletionTimestamp === undefined) return;
    const w = new PodWorker(this.ctx, pod, (done) => this.workers.delete(done.uid));
    this.workers.set(uid, w);
    this.logDirs.set(w.name, w.logDir);
    void w.run();
  }

  private async bind(pod: V1Pod): Promise<void> {
    const md = pod.metadata ?? {};
    const uid = md.uid ?? '';
    if (md.deletionTimestamp !== undefined || this.binding.has(uid)) return;
    const scheduler = pod.spec?.schedulerName ?? 'default-scheduler';
    if (scheduler !== 'default-scheduler') return;
    this.binding.add(uid);
    try {
      await this.o.rest.create(resourcePath(PODS, md.namespace ?? 'default', md.name, 'binding'), {
        apiVersion: 'v1', kind: 'Binding',
        metadata: { name: md.name, namespace: md.namespace, uid },
        target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName },
      });
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.statusCode === 409 || err.statusCode === 404))) this.ctx.log(`binding ${md.namespace}/${md.name} failed`, err);
      this.binding.delete(uid);
      return;
    }
    // Keep the uid briefly: the watch may still deliver the unbound version.
    setTimeout(() => this.binding.delete(uid), 60000).unref();
  }
}
