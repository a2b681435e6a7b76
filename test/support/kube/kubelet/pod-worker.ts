/**
 * The life of one pod on the test node: a loopback pod IP, volumes, init
 * containers in order, then the containers under supervision; status
 * reported to the API server as it changes; and on deletion the graceful
 * stop (preStop, SIGTERM, grace period, SIGKILL) followed by the final
 * delete that removes the object, as the kubelet does.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { BackoffPolicy } from './backoff.js';
import { Container, ContainerConfigError } from './container.js';
import { envReferences, expand, resolveEnv } from './env.js';
import { imageRepository, resolveCommand, type ImageEntry } from './images.js';
import type { IpPool } from './ip-pool.js';
import type { ContainerProcessSpec, Mount } from './process.js';
import { buildPodStatus, type WireCondition } from './status.js';
import { refreshVolumes, setUpVolumes, VolumeNotReady } from './volumes.js';
import { KubeApiError } from '../../../../operator/kube/errors.js';
import type { KubeClient } from '../../../../operator/kube/client.js';
import { coreResource } from '../objects.js';
import { PODS, resourcePath } from '../../../../operator/kube/paths.js';

export interface KubeletContext {
  rest: KubeClient;
  nodeName: string;
  hostIP: string;
  ipPool: IpPool;
  podsRoot: string;
  images: readonly ImageEntry[];
  backoff: BackoffPolicy;
  /** Host and port pods use to reach the API server (in-cluster config). */
  apiHost: string;
  apiPort: number;
  log(msg: string, err?: unknown): void;
}

type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** How often Secret and ConfigMap volumes are compared with their objects (the real kubelet: its sync period, about a minute). */
const VOLUME_REFRESH_MS = 1000;

export class PodWorker {
  private pod: V1Pod;
  readonly uid: string;
  private readonly dir: string;
  private readonly podIP: string;
  private readonly startTime = new Date().toISOString();
  private initContainers: Container[] = [];
  private containers: Container[] = [];
  private initPending = true;
  private initFailed = false;
  private volumes = new Map<string, string>();
  private terminating: Promise<void> | undefined;
  private gone = false;
  private statusDirty = false;
  private statusWriting: Promise<void> | undefined;
  private waitingMessage: { reason: string; message: string } | undefined;
  private volumeRefresh: NodeJS.Timeout | undefined;

  constructor(private readonly k: KubeletContext, pod: V1Pod, private readonly onDone: (w: PodWorker) => void) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    const md = pod.metadata ?? {};
    this.dir = path.join(k.podsRoot, `${md.namespace ?? 'default'}_${md.name ?? ''}_${this.uid}`);
    // Synchronously, so a deletion that arrives before run() finds everything in place.
    const existing = pod.status?.podIP;
    this.podIP = existing !== undefined && k.ipPool.reserve(existing) ? existing : k.ipPool.allocate();
    this.makeContainers();
  }

  get name(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }
  get ip(): string | undefined {
    return this.podIP;
  }
  get logDir(): string {
    return path.join(this.dir, 'logs');
  }
  /** PIDs of the running containers, by name (tests use it to see a new process). */
  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.containers.map((c) => [c.view.name, c.pid]));
  }

  private get restartPolicy(): RestartPolicy {
    return (this.pod.spec?.restartPolicy ?? 'Always') as RestartPolicy;
  }

  private get graceMs(): number {
    const md = this.pod.metadata;
    const s = md?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, s) * 1000;
  }

  /** A newer version of the pod object arrived. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp !== undefined) void this.terminate();
  }

  async run(): Promise<void> {
    try {
      await fs.mkdir(this.logDir, { recursive: true });
      if (this.pod.metadata?.deletionTimestamp !== undefined || this.terminating !== undefined) return void this.terminate();
      this.markDirty();
      await this.setUpVolumes();
      if (this.terminating !== undefined) return;
      this.refreshVolumesPeriodically();
      for (const c of this.initContainers) {
        const code = await c.run();
        if (this.terminating !== undefined) return;
        if (code !== 0) {
          this.initFailed = true;
          this.markDirty();
          return;
        }
      }
      this.initPending = false;
      this.markDirty();
      await Promise.all(this.containers.map((c) => c.run()));
      this.markDirty();
    } catch (err) {
      this.k.log(`pod ${this.name}: worker failed`, err);
    }
  }

  private makeContainers(): void {
    const mk = (spec: V1Container, init: boolean): Container => new Container({
      spec, init, podUid: this.uid, podIP: this.podIP!, restartPolicy: this.restartPolicy,
      backoff: this.k.backoff, terminationGraceMs: (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000,
      prepare: () => this.prepare(spec),
      onChange: () => this.markDirty(),
    });
    this.initContainers = (this.pod.spec?.initContainers ?? []).map((c) => mk(c, true));
    this.containers = (this.pod.spec?.containers ?? []).map((c) => mk(c, false));
    this.initPending = this.initContainers.length > 0;
  }

  private async setUpVolumes(): Promise<void> {
    for (;;) {
      try {
        this.volumes = await setUpVolumes({ rest: this.k.rest, pod: this.pod, podDir: this.dir, podIP: this.podIP!, hostIP: this.k.hostIP });
        this.waitingMessage = undefined;
        return;
      } catch (err) {
        if (!(err instanceof VolumeNotReady) && !(err instanceof KubeApiError)) throw err;
        this.waitingMessage = { reason: 'ContainerCreating', message: err.message };
        this.markDirty();
        await new Promise((r) => setTimeout(r, 500));
        if (this.terminating !== undefined || this.gone) return;
      }
    }
  }

  private async fetchData(kind: 'configmaps' | 'secrets', names: Set<string>): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    const ns = this.pod.metadata?.namespace ?? 'default';
    for (const name of names) {
      const obj = await this.k.rest.find<{ data?: Record<string, string> }>(resourcePath(coreResource(kind), ns, name));
      if (obj === null) continue;
      const data = obj.data ?? {};
      out.set(name, kind === 'secrets'
        ? Object.fromEntries(Object.entries(data).map(([key, v]) => [key, Buffer.from(v, 'base64').toString('utf8')]))
        : data);
    }
    return out;
  }

  private async prepare(spec: V1Container): Promise<ContainerProcessSpec> {
    const refs = envReferences(spec);
    const { env, errors } = resolveEnv(this.pod, spec, {
      podIP: this.podIP!, hostIP: this.k.hostIP,
      configMaps: await this.fetchData('configmaps', refs.configMaps),
      secrets: await this.fetchData('secrets', refs.secrets),
    });
    if (errors.length > 0) throw new ContainerConfigError('CreateContainerConfigError', errors.join('; '));
    const cmd = resolveCommand(spec, this.k.images);
    if ('error' in cmd) throw new ContainerConfigError('ErrImagePull', cmd.error);
    const md = this.pod.metadata ?? {};
    const home = path.join(this.dir, 'home');
    await fs.mkdir(home, { recursive: true });
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: home,
      HOSTNAME: this.pod.spec?.hostname ?? md.name ?? '',
      KUBERNETES_SERVICE_HOST: this.k.apiHost,
      KUBERNETES_SERVICE_PORT: String(this.k.apiPort),
      KUBERNETES_SERVICE_PORT_HTTPS: String(this.k.apiPort),
    };
    // No network namespace: a storage node that binds every address would
    // take its ports on all pod IPs, so it binds its own unless told otherwise.
    if (imageRepository(spec.image ?? '').startsWith('irisdb/')) base.IRIS_BIND = this.podIP!;
    const fullEnv = { ...base, ...env };
    const mounts: Mount[] = [];
    for (const vm of spec.volumeMounts ?? []) {
      const src = this.volumes.get(vm.name);
      if (src === undefined) throw new ContainerConfigError('CreateContainerConfigError', `volume mount ${vm.name}: no such volume`);
      const sub = vm.subPath !== undefined && vm.subPath !== '' ? vm.subPath : vm.subPathExpr !== undefined ? expand(vm.subPathExpr, fullEnv) : '';
      const source = sub === '' ? src : path.join(src, sub);
      if (!source.startsWith(src)) throw new ContainerConfigError('CreateContainerConfigError', `volume mount ${vm.name}: subPath escapes the volume`);
      if (sub !== '') await fs.mkdir(source, { recursive: true }).catch(() => undefined);
      mounts.push({ source, target: vm.mountPath, readOnly: vm.readOnly === true });
    }
    let cwd = this.dir;
    if (spec.workingDir !== undefined) cwd = spec.workingDir;
    await fs.access(cwd).catch(() => { cwd = this.dir; });
    const image = this.k.images.find((e) => e.repository === imageRepository(spec.image ?? ''));
    return {
      argv: cmd.argv.map((a) => expand(a, fullEnv)),
      keep: image?.root === undefined ? [] : [image.root],
      env: fullEnv,
      mounts,
      cwd,
      logFile: path.join(this.logDir, `${spec.name}.log`),
    };
  }

  private markDirty(): void {
    this.statusDirty = true;
    if (this.statusWriting !== undefined || this.gone) return;
    this.statusWriting = (async () => {
      // Coalesce bursts of changes into one write.
      await new Promise((r) => setTimeout(r, 20));
      while (this.statusDirty && !this.gone) {
        this.statusDirty = false;
        try {
          await this.writeStatus();
        } catch (err) {
          // 404: deleted; 422 may be the failed uid test: the name now belongs to a new pod.
          if (err instanceof KubeApiError && (err.statusCode === 404 || (err.statusCode === 422 && !(await this.stillOurs())))) {
            this.gone = true;
            break;
          }
          this.k.log(`pod ${this.name}: status update failed`, err);
          this.statusDirty = true;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      this.statusWriting = undefined;
    })();
  }

  private async stillOurs(): Promise<boolean> {
    const md = this.pod.metadata ?? {};
    try {
      const current = await this.k.rest.find<V1Pod>(resourcePath(PODS, md.namespace ?? 'default', md.name));
      return current?.metadata?.uid === this.uid;
    } catch {
      return true; // unknown: keep retrying
    }
  }

  /** Resolves once every status change so far has been written. */
  async flushStatus(): Promise<void> {
    while (this.statusWriting !== undefined) await this.statusWriting;
  }

  private async writeStatus(): Promise<void> {
    const views = (cs: Container[]): Container['view'][] => cs.map((c) => {
      if (c.view.state.kind === 'waiting' && c.view.state.reason === 'ContainerCreating' && this.waitingMessage !== undefined) {
        return { ...c.view, state: { kind: 'waiting', ...this.waitingMessage } };
      }
      return c.view;
    });
    const status = buildPodStatus({
      restartPolicy: this.restartPolicy,
      podIP: this.podIP,
      hostIP: this.k.hostIP,
      startTime: this.startTime,
      initPending: this.initPending,
      initFailed: this.initFailed,
      initContainers: views(this.initContainers),
      containers: views(this.containers),
      previousConditions: (this.pod.status?.conditions ?? []) as unknown as WireCondition[],
      now: new Date().toISOString(),
    });
    const md = this.pod.metadata ?? {};
    // JSON patch with a uid test: a recreated pod of the same name is never touched.
    const ops: unknown[] = [{ op: 'test', path: '/metadata/uid', value: this.uid }];
    for (const [key, value] of Object.entries(status)) ops.push({ op: 'add', path: `/status/${key}`, value });
    const updated = await this.k.rest.request<V1Pod>('PATCH', resourcePath(PODS, md.namespace ?? 'default', md.name, 'status'), {
      body: ops, contentType: 'application/json-patch+json',
    });
    this.pod = { ...this.pod, status: updated.status };
  }

  /** Graceful deletion; ends with the final delete of the pod object. */
  terminate(): Promise<void> {
    this.terminating ??= (async () => {
      const grace = this.graceMs;
      await Promise.all([...this.initContainers, ...this.containers].map((c) => c.stop(grace)));
      this.markDirty();
      await this.flushStatus();
      const md = this.pod.metadata ?? {};
      if (!this.gone) {
        try {
          await this.k.rest.delete(resourcePath(PODS, md.namespace ?? 'default', md.name), {
            apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: this.uid },
          });
        } catch (err) {
          if (!(err instanceof KubeApiError && (err.statusCode === 404 || err.statusCode === 409))) this.k.log(`pod ${this.name}: final delete failed`, err);
        }
      }
      this.finish();
    })();
    return this.terminating;
  }

  /** The object is gone from the API (force delete): stop quickly, write nothing more. */
  removed(): Promise<void> {
    this.gone = true;
    this.pod = { ...this.pod, metadata: { ...this.pod.metadata, deletionGracePeriodSeconds: Math.min(this.graceMs / 1000, 2) } };
    return this.terminate();
  }

  /** As the kubelet's sync loop (about a minute there; faster here): Secret and ConfigMap volumes follow their objects. */
  private refreshVolumesPeriodically(): void {
    let busy = false;
    this.volumeRefresh = setInterval(() => {
      if (busy || this.terminating !== undefined) return;
      busy = true;
      refreshVolumes({ rest: this.k.rest, pod: this.pod, podDir: this.dir, podIP: this.podIP!, hostIP: this.k.hostIP })
        .catch((err: unknown) => this.k.log(`pod ${this.name}: volume refresh failed`, err))
        .finally(() => { busy = false; });
    }, VOLUME_REFRESH_MS);
    this.volumeRefresh.unref();
  }

  private finish(): void {
    clearInterval(this.volumeRefresh);
    this.gone = true;
    if (this.podIP !== undefined) this.k.ipPool.release(this.podIP);
    this.onDone(this);
  }
}
