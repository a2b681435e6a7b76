/**
 * `irisctl --kube [-n NS] CLUSTER import --from redis://...` (issue #19):
 * the local import (run-import.ts) into an IrisCluster on Kubernetes. The
 * nodes' addresses come from the operator's record in the resource's status
 * (its cluster map: each pod's announced address, RESP and HTTP ports), so
 * irisctl must run where the pods are reachable (inside the cluster, or a
 * network that routes to pod addresses). The checkpoint lives in a state
 * directory per IrisCluster, since there is no cluster directory.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import type { IrisCluster } from '../kube/iris-cluster.js';
import type { ImportCommand } from '../import/import-args.js';
import { targetNodesOfMap, type TargetNodes } from '../import/target.js';
import { CliError } from './errors.js';
import type { KubeClusterRef } from './kube-target.js';
import { recordOf } from './kube-view.js';
import type { CliIo } from './output.js';
import { runImport } from './run-import.js';

/** $XDG_STATE_HOME/irisdb/import/NS.CLUSTER (default ~/.local/state/...). Pure given env and home. */
export function kubeCheckpointDir(namespace: string, cluster: string, env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
  const state = env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : path.join(home, '.local', 'state');
  return path.join(state, 'irisdb', 'import', `${namespace}.${cluster}`);
}

/** The nodes an import writes to, from the IrisCluster's record. Pure. */
export function importNodesOf(cr: IrisCluster, label: string): TargetNodes {
  const map = recordOf(cr)?.map ?? null;
  if (map === null) throw new CliError(`${label} has no cluster map in its status yet: wait until it is Ready (irisctl --kube ${cr.metadata.name ?? ''} status)`);
  return targetNodesOfMap(map);
}

export async function runKubeImport(ref: KubeClusterRef, cmd: ImportCommand, io: CliIo): Promise<number> {
  if (cmd.follow) throw new CliError('irisctl --kube import --follow: not available on Kubernetes yet (the initial copy is); run --follow against the nodes from a machine that reaches them');
  const checkpointDir = kubeCheckpointDir(ref.namespace, ref.name);
  await fs.mkdir(checkpointDir, { recursive: true, mode: 0o700 });
  io.stderr.write(`irisctl: importing into ${ref.label}; checkpoint in ${checkpointDir}\n`);
  return runImport(cmd, io, { checkpointDir, nodes: async () => importNodesOf(await ref.get(), ref.label) });
}
