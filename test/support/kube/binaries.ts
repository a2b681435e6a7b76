/**
 * Where the control-plane binaries are: $IRIS_KUBE_BIN if set, otherwise
 * whatever scripts/kube-binaries.sh prints (it builds them on first use and
 * only checks a stamp afterwards).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root, from dist/test/support/kube. */
export const REPO_ROOT = path.resolve(here, '../../../..');

export interface KubeBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  helm: string;
}

function fromDir(dir: string): KubeBinaries {
  const b = (n: string): string => path.join(dir, n);
  const bins: KubeBinaries = {
    dir, etcd: b('etcd'), kubeApiserver: b('kube-apiserver'), kubeControllerManager: b('kube-controller-manager'),
    kubectl: b('kubectl'), helm: b('helm'),
  };
  for (const [k, v] of Object.entries(bins)) {
    if (k !== 'dir' && !fs.existsSync(v)) throw new Error(`${v} is missing: run scripts/kube-binaries.sh`);
  }
  return bins;
}

let cached: Promise<KubeBinaries> | undefined;

export function kubeBinaries(): Promise<KubeBinaries> {
  cached ??= locate();
  return cached;
}

async function locate(): Promise<KubeBinaries> {
  const fromEnv = process.env.IRIS_KUBE_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return fromDir(fromEnv);
  const script = path.join(REPO_ROOT, 'scripts/kube-binaries.sh');
  // stderr passes through: a cold build reports its progress (and takes as long as it takes).
  const r = await run('bash', [script], { stderr: 'inherit', timeoutMs: 0 });
  if (r.code !== 0) throw new Error(`${script} exited with ${r.code}`);
  const out = r.stdout;
  const dir = out.trim().split('\n').pop() ?? '';
  return fromDir(dir);
}
