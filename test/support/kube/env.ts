/**
 * The one entry point of the e2e suite. With KUBECONFIG set (a kind cluster,
 * or any other) the suite runs against that cluster; otherwise it starts the
 * local environment once per test process: a real control plane
 * (control-plane.ts) and the test kubelet, torn down by stopKubeEnv() (the
 * e2e specs register it as a root-level after hook).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { run, runChecked, type RunResult } from '../run.js';
import { kubeBinaries } from './binaries.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { TestKubelet } from './kubelet/kubelet.js';
import { KubeClient } from '../../../operator/kube/client.js';

export interface PodEndpoint {
  host: string;
  port: number;
  close(): void;
}

export interface KubeEnv {
  readonly mode: 'local' | 'external';
  readonly kubeconfig: string;
  /** The operator's own API client (operator/kube/client.ts), as the kubeconfig's user. */
  readonly rest: KubeClient;
  readonly kubectlPath: string;
  /** The helm binary: $IRIS_HELM, else the cached one locally and helm from PATH for an external cluster. */
  readonly helmPath: string;
  /** Local mode only: the control plane and kubelet, for introspection. */
  readonly local?: { controlPlane: ControlPlane; kubelet: TestKubelet };
  /** How long getting the environment ready took. */
  readonly readyMs: number;
  /** Runs kubectl against the environment; rejects with its stderr on failure. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Runs kubectl and resolves with its exit code and output, whatever the code. */
  kubectlResult(args: string[], input?: string): Promise<RunResult>;
  /** Reaches a pod's port from the test process: its pod IP locally, `kubectl port-forward` elsewhere. */
  podEndpoint(namespace: string, pod: string, port: number): Promise<PodEndpoint>;
  /** The pod's container logs, for failure messages. */
  podLogs(namespace: string, pod: string): Promise<string>;
}

let current: Promise<KubeEnv> | undefined;
let stopper: (() => Promise<void>) | undefined;

/** The environment, started on first use. */
export function kubeEnv(): Promise<KubeEnv> {
  current ??= create().catch((err: unknown) => {
    current = undefined;
    throw err;
  });
  return current;
}

/** Tears the local environment down (no-op for an external cluster or when never started). */
export async function stopKubeEnv(): Promise<void> {
  const s = stopper;
  stopper = undefined;
  current = undefined;
  if (s !== undefined) await s();
}

/** kubectl against the environment; no deadline (a `kubectl wait` takes what it takes). */
function kubectlTools(kubectlPath: string, kubeconfig: string): Pick<KubeEnv, 'kubectl' | 'kubectlResult'> {
  const opts = { env: { ...process.env, KUBECONFIG: kubeconfig }, timeoutMs: 0, name: 'kubectl' };
  return {
    kubectlResult: (args, input) => run(kubectlPath, args, { ...opts, input }),
    kubectl: (args, input) => runChecked(kubectlPath, args, { ...opts, input }),
  };
}

async function create(): Promise<KubeEnv> {
  const t0 = Date.now();
  const external = process.env.KUBECONFIG;
  if (external !== undefined && external !== '' && process.env.IRIS_KUBE_LOCAL !== '1') return createExternal(external, t0);

  const controlPlane = await startControlPlane();
  const { rest, kubeconfig, bins } = controlPlane;
  const kubelet = new TestKubelet({
    rest, stateDir: path.join(controlPlane.stateDir, 'kubelet'), apiHost: '127.0.0.1', apiPort: controlPlane.apiserverPort,
  });
  try {
    await kubelet.start();
  } catch (err) {
    await controlPlane.stop();
    throw err;
  }
  stopper = async () => {
    await kubelet.stop();
    await controlPlane.stop();
  };
  const readyMs = Date.now() - t0;
  process.stderr.write(`[kube-env] local control plane ready in ${(controlPlane.startMs / 1000).toFixed(1)} s, with kubelet ${(readyMs / 1000).toFixed(1)} s; state in ${controlPlane.stateDir}\n`);
  return {
    mode: 'local', kubeconfig, rest, kubectlPath: bins.kubectl, helmPath: process.env.IRIS_HELM ?? bins.helm, local: { controlPlane, kubelet }, readyMs,
    ...kubectlTools(bins.kubectl, kubeconfig),
    async podEndpoint(namespace, pod, port) {
      const p = await rest.get<{ status?: { podIP?: string } }>(`/api/v1/namespaces/${namespace}/pods/${pod}`);
      const ip = p.status?.podIP;
      if (ip === undefined) throw new Error(`pod ${namespace}/${pod} has no IP yet`);
      return { host: ip, port, close() {} };
    },
    async podLogs(namespace, pod) {
      const dir = kubelet.logDir(namespace, pod);
      if (dir === undefined || !fs.existsSync(dir)) return `(no logs for ${namespace}/${pod})`;
      return fs.readdirSync(dir).map((f) => `== ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8').slice(-4000)}`).join('\n');
    },
  };
}

async function createExternal(kubeconfig: string, t0: number): Promise<KubeEnv> {
  const rest = await KubeClient.fromFile(kubeconfig);
  await rest.get('/version').catch((err: unknown) => {
    throw new Error(`KUBECONFIG=${kubeconfig} is set but its cluster does not answer (${err instanceof Error ? err.message : String(err)}); unset it to use the local environment`);
  });
  let kubectlPath = process.env.IRIS_KUBECTL ?? 'kubectl';
  if (process.env.IRIS_KUBECTL === undefined) {
    try {
      kubectlPath = (await kubeBinaries()).kubectl;
    } catch {
      /* kubectl from PATH */
    }
  }
  stopper = async () => rest.close();
  return {
    mode: 'external', kubeconfig, rest, kubectlPath, helmPath: process.env.IRIS_HELM ?? 'helm', readyMs: Date.now() - t0,
    ...kubectlTools(kubectlPath, kubeconfig),
    podEndpoint: (namespace, pod, port) => portForward(kubectlPath, kubeconfig, namespace, pod, port),
    async podLogs(namespace, pod) {
      const r = await run(kubectlPath, ['logs', '-n', namespace, pod, '--all-containers', '--tail=100'], { env: { ...process.env, KUBECONFIG: kubeconfig }, timeoutMs: 0 })
        .catch(() => ({ code: null, stdout: '', stderr: '' }));
      return r.code === 0 ? r.stdout : r.stderr;
    },
  };
}

function portForward(kubectlPath: string, kubeconfig: string, namespace: string, pod: string, port: number): Promise<PodEndpoint> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlPath, ['port-forward', '-n', namespace, `pod/${pod}`, `:${port}`, '--address', '127.0.0.1'], {
      env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`kubectl port-forward to ${pod}:${port} did not start: ${out}`)); }, 30000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ host: '127.0.0.1', port: Number(m[1]), close: () => child.kill() });
      }
    });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`kubectl port-forward exited with ${code}: ${out}`)); });
  });
}
