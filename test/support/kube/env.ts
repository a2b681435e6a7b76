/**
 * The one entry point of the e2e suite. With KUBECONFIG set (a kind cluster,
 * or any other) the suite runs against that cluster; otherwise it starts the
 * local environment once per test process: a real control plane
 * (control-plane.ts) and the test kubelet, torn down by stopKubeEnv() (the
 * e2e specs register it as a root-level after hook).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { kubeBinaries } from './binaries.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { TestKubelet } from './kubelet/kubelet.js';
import { KubeRest } from './rest.js';

const run = promisify(execFile);

export interface PodEndpoint {
  host: string;
  port: number;
  close(): void;
}

export interface KubeEnv {
  readonly mode: 'local' | 'external';
  readonly kubeconfig: string;
  readonly rest: KubeRest;
  readonly kubectlPath: string;
  /** Local mode only: the control plane and kubelet, for introspection. */
  readonly local?: { controlPlane: ControlPlane; kubelet: TestKubelet };
  /** How long getting the environment ready took. */
  readonly readyMs: number;
  /** Runs kubectl against the environment; rejects with its stderr on failure. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Runs kubectl and resolves with its exit code and output, whatever the code. */
  kubectlResult(args: string[], input?: string): Promise<KubectlResult>;
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

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kubectlRaw(kubectlPath: string, kubeconfig: string): KubeEnv['kubectlResult'] {
  return (args, input) => new Promise((resolve, reject) => {
    const child = spawn(kubectlPath, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    // 'close', not 'exit': the process can exit before its output has been read (an empty "no" from auth can-i).
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

function kubectlRunner(raw: KubeEnv['kubectlResult']): KubeEnv['kubectl'] {
  return async (args, input) => {
    const r = await raw(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited with ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
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
  const kubectlResult = kubectlRaw(bins.kubectl, kubeconfig);
  process.stderr.write(`[kube-env] local control plane ready in ${(controlPlane.startMs / 1000).toFixed(1)} s, with kubelet ${(readyMs / 1000).toFixed(1)} s; state in ${controlPlane.stateDir}\n`);
  return {
    mode: 'local', kubeconfig, rest, kubectlPath: bins.kubectl, local: { controlPlane, kubelet }, readyMs,
    kubectlResult, kubectl: kubectlRunner(kubectlResult),
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
  const rest = await KubeRest.fromFile(kubeconfig);
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
  const kubectlResult = kubectlRaw(kubectlPath, kubeconfig);
  const kubectl = kubectlRunner(kubectlResult);
  stopper = async () => rest.close();
  return {
    mode: 'external', kubeconfig, rest, kubectlPath, readyMs: Date.now() - t0, kubectl, kubectlResult,
    podEndpoint: (namespace, pod, port) => portForward(kubectlPath, kubeconfig, namespace, pod, port),
    async podLogs(namespace, pod) {
      return (await run(kubectlPath, ['logs', '-n', namespace, pod, '--all-containers', '--tail=100'], { env: { ...process.env, KUBECONFIG: kubeconfig } })
        .catch((e: { stderr?: string }) => ({ stdout: e.stderr ?? '' }))).stdout;
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
