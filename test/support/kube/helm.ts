/**
 * The Helm chart (helm/irisdb) through the real helm binary: the one place
 * the e2e suite renders and installs it (the chart spec, and the operator
 * specs' Deployment, ServiceAccount and RBAC, which come only from
 * `helm template`). helm gets config, cache and data directories of its own,
 * so nothing of the user's helm setup leaks in.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { run, runChecked, type RunResult } from '../run.js';
import { REPO_ROOT } from './binaries.js';

export const CHART = path.join(REPO_ROOT, 'helm/irisdb');

/** One object of rendered manifests. */
export interface Rendered {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

export interface Helm {
  /** Runs helm against the cluster; resolves with its exit code and output, whatever the code. */
  run(args: string[]): Promise<RunResult>;
  /** Runs helm; rejects with its stderr unless it exits with 0. */
  ok(args: string[]): Promise<string>;
  /** `helm template <release> helm/irisdb --namespace <namespace> ...extra`: the manifests' text. */
  template(release: string, namespace: string, extra?: string[]): Promise<string>;
  /** Removes helm's private directories. */
  close(): void;
}

export function openHelm(bin: string, kubeconfig: string): Helm {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-helm-'));
  const env = {
    ...process.env, KUBECONFIG: kubeconfig,
    HELM_CONFIG_HOME: path.join(home, 'config'), HELM_CACHE_HOME: path.join(home, 'cache'), HELM_DATA_HOME: path.join(home, 'data'),
  };
  // No deadline: `helm install` waits on the API server as long as it takes.
  const opts = { cwd: REPO_ROOT, env, timeoutMs: 0, name: 'helm' };
  const ok = (args: string[]): Promise<string> => runChecked(bin, args, opts);
  return {
    run: (args) => run(bin, args, opts),
    ok,
    template: (release, namespace, extra = []) => ok(['template', release, CHART, '--namespace', namespace, ...extra]),
    close: () => fs.rmSync(home, { recursive: true, force: true }),
  };
}

/** The objects of a multi-document YAML text (empty documents dropped). */
export function parseManifests(text: string): Rendered[] {
  return loadAll(text).filter((d): d is Rendered => typeof d === 'object' && d !== null);
}
