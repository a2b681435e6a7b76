/**
 * `irisctl local up` (the cluster in the foreground until Ctrl-C) and
 * `irisctl local down`. The local platform is loaded only for these verbs,
 * so the other verbs start fast and do not depend on it.
 */
import path from 'node:path';
import type { Command } from './args.js';
import { CliError } from './errors.js';
import type { CliIo } from './output.js';
import { plural } from './text.js';

type LocalUpCommand = Extract<Command, { kind: 'local-up' }>;
type LocalDownCommand = Extract<Command, { kind: 'local-down' }>;

/**
 * Starts the cluster and stays until it stops: the first Ctrl-C/SIGTERM
 * (io.signal) stops it gracefully, whether it comes during startup or
 * after; 0 after a clean stop. A second signal is irisctl.ts's business.
 */
export async function runLocalUp(cmd: LocalUpCommand, io: CliIo, out: NodeJS.WritableStream): Promise<number> {
  const dir = path.resolve(cmd.dir);
  const { localUp } = await import('../local/up.js');
  const early = (): void => { io.stdout.write('stopping once the cluster has started (Ctrl-C again to exit at once)...\n'); };
  io.signal.addEventListener('abort', early, { once: true });
  const cluster = await userErrors(localUp({
    dir, out, basePort: cmd.basePort,
    shards: cmd.spec.shards, replicasPerShard: cmd.spec.replicasPerShard, minSyncReplicas: cmd.spec.minSyncReplicas,
    heartbeatMs: cmd.spec.heartbeatMs, failureThreshold: cmd.spec.failureThreshold, dataDurability: cmd.spec.dataDurability,
    holdFailoverStage: cmd.holdFailoverStage ?? null,
    ...(cmd.netnsPlacement !== undefined ? { netnsPlacement: cmd.netnsPlacement } : {}),
    ...(cmd.restore !== undefined ? { restore: cmd.restore } : {}),
    ...(cmd.archiveDestination !== undefined ? { archiveDestination: cmd.archiveDestination } : {}),
    ...(cmd.backupSchedule !== undefined ? { backupSchedule: cmd.backupSchedule } : {}),
    ...(cmd.tls === true ? { tls: true } : {}),
    ...(cmd.tlsKeepPlain === true ? { tlsKeepPlain: true } : {}),
    ...(cmd.aclfile !== undefined ? { aclfile: cmd.aclfile } : {}),
    ...(cmd.encryptionKeyFile !== undefined ? { encryptionKeyFile: cmd.encryptionKeyFile } : {}),
  })).finally(() => io.signal.removeEventListener('abort', early));
  let asked = false;
  // A failed stop() ends the wait too: `done` may never resolve then.
  let stopFailed: (err: unknown) => void = () => {};
  const failure = new Promise<never>((_resolve, reject) => { stopFailed = reject; });
  const stop = (): void => {
    if (asked) return;
    asked = true;
    io.stdout.write('stopping gracefully; Ctrl-C again exits at once\n');
    cluster.stop().catch(stopFailed);
  };
  if (io.signal.aborted) stop();
  else io.signal.addEventListener('abort', stop, { once: true });
  try {
    await Promise.race([cluster.done, failure]);
  } catch (err) {
    throw new CliError(`the local cluster ${asked ? 'did not stop cleanly' : 'stopped with an error'}: ${(err as Error).message}`);
  } finally {
    io.signal.removeEventListener('abort', stop);
  }
  if (!asked) io.stdout.write('the local cluster stopped\n');
  return 0;
}

export async function runLocalDown(cmd: LocalDownCommand, io: CliIo): Promise<number> {
  const dir = path.resolve(cmd.dir);
  const { localDown } = await import('../local/down.js');
  const r = await userErrors(localDown(dir));
  if (!r.controllerStopped && r.nodesStopped.length === 0) {
    io.stdout.write(`nothing was running in ${dir}\n`);
    return 0;
  }
  if (r.controllerStopped) io.stdout.write('stopped the controller\n');
  if (r.nodesStopped.length > 0) io.stdout.write(`stopped ${plural(r.nodesStopped.length, 'node')}: ${r.nodesStopped.join(', ')}\n`);
  return 0;
}

/** The local platform's errors about the directory, its files and ports: the user's to fix, shown without a stack. */
const USER_ERRORS = new Set(['LocalUpError', 'LocalStateError', 'LayoutError']);

async function userErrors<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof Error && USER_ERRORS.has(err.name)) throw new CliError(err.message);
    throw err;
  }
}
