/**
 * `irisctl local down`: stops a local cluster from another terminal. The
 * controller, if it runs, is asked to stop (it stops its nodes in order);
 * nodes left running anyway (the controller had been kill -9'd) are
 * terminated directly. Data and registry stay: the next `local up`
 * resumes. Safe to run twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { clusterPaths, nodeDataDir } from './layout.js';
import { LocalStateFile, readLocalState, type LocalState } from './local-state.js';
import { isAlive } from '../../common/process-alive.js';
import { findNodeProcesses, isNodeCommand, readCmdline, signalPid, terminatePid, waitGone } from './node-process.js';

export interface LocalDownResult {
  /** A live controller was found and stopped. */
  readonly controllerStopped: boolean;
  /** Nodes this call had to stop itself (not those the controller stopped). */
  readonly nodesStopped: string[];
}

/** timeoutMs: how long the controller, then each node, gets to exit before SIGKILL (default 20 s). */
export async function localDown(clusterDir: string, opts: { timeoutMs?: number } = {}): Promise<LocalDownResult> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  // Nodes were started with the directory's real path on their command line.
  const dir = await fs.promises.realpath(clusterDir).catch(() => clusterPaths(clusterDir).dir);
  const state = await readLocalState(dir);
  if (state === null) return { controllerStopped: false, nodesStopped: [] };

  let controllerStopped = false;
  const c = state.controller;
  if (c !== null && c.pid !== process.pid && isAlive(c.pid) && looksLikeNode(c.pid)) {
    signalPid(c.pid, 'SIGTERM');
    signalPid(c.pid, 'SIGCONT');
    if (!(await waitGone(c.pid, timeoutMs))) {
      // The pid only: the controller may lead the user's shell job (a pipeline to tee...), unlike a node's own group.
      signalPid(c.pid, 'SIGKILL');
      await waitGone(c.pid, 5000);
    }
    controllerStopped = true;
  }

  // Read again: a controller that stopped cleanly has recorded its nodes stopped.
  const after = (await readLocalState(dir)) ?? state;
  const targets = new Map<number, string>();
  for (const [name, rec] of Object.entries(after.nodes)) {
    if (rec.pid === null || !isAlive(rec.pid)) continue;
    const args = readCmdline(rec.pid);
    // Where /proc shows the command line, a reused pid is told apart from the node.
    if (args === null || isNodeCommand(args, name, nodeDataDir(dir, name))) targets.set(rec.pid, name);
  }
  // Nodes running but not recorded (spawned just before a controller crash).
  for (const f of findNodeProcesses(clusterPaths(dir).nodesDir)) targets.set(f.pid, f.name);
  await Promise.all([...targets.keys()].map((pid) => terminatePid(pid, timeoutMs)));

  await new LocalStateFile(dir).update((current) => cleared(current ?? after));
  return { controllerStopped, nodesStopped: [...new Set(targets.values())].sort() };
}

function cleared(s: LocalState): LocalState {
  const nodes = Object.fromEntries(Object.entries(s.nodes).map(([n, r]) => [n, { ...r, pid: null, startedAt: null }]));
  return { ...s, nodes, controller: null };
}

/** A reused pid is rarely a Node.js process; where /proc cannot tell, trust the record. */
function looksLikeNode(pid: number): boolean {
  const args = readCmdline(pid);
  return args === null || args.length === 0 || path.basename(args[0]!).startsWith('node') || args[0] === process.execPath;
}
