/**
 * `irisctl --kube [-n NS] CLUSTER import --from redis://...` and `export
 * --to FILE` (issue #19): the local import (run-import.ts) and export
 * (run-export.ts) against an IrisCluster on Kubernetes. The nodes'
 * addresses come from the operator's record in the resource's status (its
 * cluster map: each pod's announced address, RESP and HTTP ports), so
 * irisctl must run where the pods are reachable (inside the cluster, or a
 * network that routes to pod addresses); the CA (spec.tls) and the default
 * user's password (spec.auth) from the cluster's Secrets or the flags
 * (kube-import-target.ts). The import's checkpoint lives in a state
 * directory per IrisCluster, since there is no cluster directory.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import type { IrisCluster } from '../kube/iris-cluster.js';
import type { ExportCommand, ImportCommand } from '../import/import-args.js';
import type { TargetNodes, TargetPlace } from '../import/target.js';
import { kubeDefaultCredentials, kubeTargetNodes, resolveKubeCa } from './kube-import-target.js';
import type { KubeClusterRef } from './kube-target.js';
import type { CliIo } from './output.js';
import { runImport } from './run-import.js';
import { runExport } from './run-export.js';

/** $XDG_STATE_HOME/irisdb/import/NS.CLUSTER (default ~/.local/state/...). Pure given env and home. */
export function kubeCheckpointDir(namespace: string, cluster: string, env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
  const state = env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : path.join(home, '.local', 'state');
  return path.join(state, 'irisdb', 'import', `${namespace}.${cluster}`);
}

/** The nodes of an IrisCluster without spec.tls, from its record. Pure. */
export function importNodesOf(cr: IrisCluster, label: string): TargetNodes {
  return kubeTargetNodes(cr, label, null);
}

/** The IrisCluster as the place an import writes to or an export reads from (read once, when first asked). */
export function kubeTargetPlace(ref: KubeClusterRef, cacert: string | null): TargetPlace {
  let cr: Promise<IrisCluster> | null = null;
  const resource = (): Promise<IrisCluster> => (cr ??= ref.get());
  const secrets = (name: string) => ref.findSecret(name);
  return {
    nodes: async () => {
      const c = await resource();
      const ca = await resolveKubeCa(c, cacert, secrets, (f) => fs.readFileSync(f, 'utf8'));
      return kubeTargetNodes(c, ref.label, ca);
    },
    defaultCredentials: async () => kubeDefaultCredentials(await resource(), secrets),
  };
}

export async function runKubeImport(ref: KubeClusterRef, cmd: ImportCommand, io: CliIo): Promise<number> {
  const checkpointDir = kubeCheckpointDir(ref.namespace, ref.name);
  await fs.promises.mkdir(checkpointDir, { recursive: true, mode: 0o700 });
  io.stderr.write(`irisctl: importing into ${ref.label}; checkpoint in ${checkpointDir}\n`);
  return runImport(cmd, io, { checkpointDir, ...kubeTargetPlace(ref, cmd.cacert) });
}

export async function runKubeExport(ref: KubeClusterRef, cmd: ExportCommand, io: CliIo): Promise<number> {
  io.stderr.write(`irisctl: exporting ${ref.label}\n`);
  return runExport(cmd, io, kubeTargetPlace(ref, cmd.cacert));
}
