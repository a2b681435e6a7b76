/**
 * The real cert-manager for the e2e tests of spec.tls.certManager: its
 * cert-manager.io CRDs (from the published module) installed on the
 * harness's API server, and its certificate and issuer controllers
 * (tools/cert-manager over github.com/cert-manager/cert-manager's own
 * controller packages) running against it as a local process. Both come
 * from scripts/cert-manager.sh, built once into a cache outside the repo.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../run.js';
import { waitFor } from '../wait.js';
import { REPO_ROOT } from './binaries.js';
import { startDaemon, type Daemon } from './daemon.js';
import type { KubeEnv } from './env.js';

export interface CertManagerBuild {
  readonly controller: string;
  readonly crdFiles: readonly string[];
}

let built: Promise<CertManagerBuild> | undefined;

/** What scripts/cert-manager.sh built ($IRIS_CERT_MANAGER_DIR overrides), building it on first use. */
export function certManagerBuild(): Promise<CertManagerBuild> {
  built ??= (async () => {
    let dir = process.env.IRIS_CERT_MANAGER_DIR ?? '';
    if (dir === '') {
      const script = path.join(REPO_ROOT, 'scripts/cert-manager.sh');
      // stderr passes through: a cold build reports its progress.
      const r = await run('bash', [script], { stderr: 'inherit', timeoutMs: 0 });
      if (r.code !== 0) throw new Error(`${script} exited with ${r.code}`);
      dir = r.stdout.trim().split('\n').pop() ?? '';
    }
    const controller = path.join(dir, 'bin', 'cert-manager-controller');
    const crdDir = path.join(dir, 'crds');
    if (!fs.existsSync(controller) || !fs.existsSync(crdDir)) throw new Error(`${dir} has no bin/cert-manager-controller or crds/: run scripts/cert-manager.sh`);
    return { controller, crdFiles: fs.readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(crdDir, f)) };
  })();
  return built;
}

const CRD_NAMES = ['certificates', 'certificaterequests', 'issuers', 'clusterissuers'].map((p) => `${p}.cert-manager.io`);

/** Whether the API server serves cert-manager.io/v1 certificates. */
export async function certManagerServed(env: KubeEnv): Promise<boolean> {
  const list = await env.rest.find<{ resources?: Array<{ name?: string }> }>('/apis/cert-manager.io/v1');
  return list?.resources?.some((r) => r.name === 'certificates') ?? false;
}

/** Applies cert-manager's CRDs (server-side: they are too large for a last-applied annotation) and waits until they are served. */
export async function installCertManagerCrds(env: KubeEnv): Promise<void> {
  const { crdFiles } = await certManagerBuild();
  for (const f of crdFiles) await env.kubectl(['apply', '--server-side', '--force-conflicts', '-f', f]);
  await waitFor('cert-manager\'s CRDs to be served', () => certManagerServed(env), { timeoutMs: 60_000, intervalMs: 200 });
}

/** Deletes cert-manager's CRDs (and so every object of theirs), leaving the API server as it was. */
export async function uninstallCertManagerCrds(env: KubeEnv): Promise<void> {
  await env.kubectl(['delete', 'crd', '--ignore-not-found', '--wait=false', ...CRD_NAMES]);
}

export interface RunningCertManager {
  readonly daemon: Daemon;
  stop(): Promise<void>;
}

/** Starts cert-manager's controllers against the environment (local harness: the admin kubeconfig, one process, no leader election). */
export async function startCertManager(env: KubeEnv): Promise<RunningCertManager> {
  const { controller } = await certManagerBuild();
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-cert-manager-'));
  const daemon = startDaemon('cert-manager', controller, ['--kubeconfig', env.kubeconfig], path.join(logDir, 'cert-manager.log'));
  const stop = async (): Promise<void> => {
    await daemon.stop(5_000);
    fs.rmSync(logDir, { recursive: true, force: true });
  };
  try {
    await waitFor('cert-manager\'s controllers to start', () => {
      if (!daemon.isAlive()) throw new Error(`cert-manager exited:\n${daemon.tail()}`);
      return daemon.tail(100_000).includes('cert-manager controllers started');
    }, { timeoutMs: 60_000, intervalMs: 200 });
  } catch (err) {
    await stop(); // the error carries the log's tail
    throw err;
  }
  return { daemon, stop };
}
