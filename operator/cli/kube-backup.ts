/**
 * `irisctl --kube CLUSTER backup create|list|describe|delete` (issue #15):
 * the cluster's IrisBackup objects, which the operator carries out
 * (operator/kube/backup/backup-step.ts). create makes one and, with --wait,
 * follows its status until Completed or Failed; list/describe read them;
 * delete deletes the object only: the operator has no finalizer on them, so
 * the stored backup stays in its destination (retention deletes scheduled
 * ones with their backup). The user's RBAC needs get on irisclusters and
 * create, get, list, delete on irisbackups — nothing on pods or Secrets.
 */
import { CliError } from './errors.js';
import { backupObjectFor, type KubeBackupCommand } from './kube-backup-args.js';
import { backupRow, renderKubeBackup, renderKubeBackupList, renderKubeBackupProgress, sortBackups } from './kube-backup-render.js';
import type { KubeClusterRef } from './kube-target.js';
import { type CliIo, sleep } from './output.js';
import { isScheduled } from '../kube/backup/backup-plan.js';
import { clusterBackupSpec, IRISBACKUPS, type IrisBackup } from '../kube/backup/iris-backup.js';
import { errorText, KubeApiError } from '../kube/errors.js';
import { resourcePath } from '../kube/paths.js';

const POLL_MS = 500;

export async function runKubeBackup(ref: KubeClusterRef, cmd: KubeBackupCommand, io: CliIo): Promise<number> {
  const objects = new BackupObjects(ref);
  switch (cmd.action) {
    case 'create':
      return create(ref, objects, cmd, io);
    case 'list': {
      const spec = clusterBackupSpec((await ref.get()).spec);
      const mine = sortBackups(await objects.list());
      io.stdout.write(cmd.json ? `${JSON.stringify(mine.map(backupRow), null, 2)}\n` : renderKubeBackupList(mine, ref.name, spec));
      return 0;
    }
    case 'describe': {
      const b = await objects.get(cmd.name);
      io.stdout.write(cmd.json ? `${JSON.stringify(b, null, 2)}\n` : renderKubeBackup(b, ref.namespace));
      return 0;
    }
    case 'delete': {
      const b = await objects.get(cmd.name);
      if (isScheduled(b)) {
        throw new CliError(`IrisBackup ${ref.namespace}/${cmd.name} was made by the schedule (spec.backup): the operator would make it again while its backup is kept; ` +
          'spec.backup.retention deletes scheduled backups, objects and stored data together');
      }
      await objects.delete(b);
      const where = b.status?.backupId !== undefined ? `backup ${b.status.backupId} stays in ${b.status.destination ?? 'its destination'}` : 'nothing was stored for it';
      const running = b.status?.phase === 'Running' ? '; the running backup goes on to its end (irisctl --kube status shows lastBackup)' : '';
      io.stdout.write(`deleted IrisBackup ${ref.namespace}/${cmd.name}; the ${where} (the operator never deletes a backup by hand-made object${running})\n`);
      return 0;
    }
  }
}

async function create(ref: KubeClusterRef, objects: BackupObjects, cmd: Extract<KubeBackupCommand, { action: 'create' }>, io: CliIo): Promise<number> {
  const cr = await ref.get();
  const made = await objects.create(backupObjectFor(cmd, ref.namespace, ref.name, clusterBackupSpec(cr.spec)));
  const name = made.metadata.name ?? '';
  // The name alone on stdout (scripts capture it; it is what describe and delete take); progress goes to stderr.
  if (!cmd.json || !cmd.wait) io.stdout.write(cmd.json ? `${JSON.stringify(made, null, 2)}\n` : `${name}\n`);
  if (!cmd.wait) return 0;
  const tty = io.stderr.isTTY === true;
  const deadline = Date.now() + cmd.timeoutMs;
  const see = `irisctl --kube -n ${ref.namespace} ${ref.name} backup describe ${name}`;
  let last = '';
  for (;;) {
    const b = await objects.get(name);
    const line = renderKubeBackupProgress(b, tty, io.stderr.columns ?? 80);
    if (tty) io.stderr.write(`\r\u001b[2K${line}`);
    else if (line !== last) io.stderr.write(`${line}\n`);
    last = line;
    const phase = b.status?.phase;
    if (phase === 'Completed' || phase === 'Failed') {
      if (tty) io.stderr.write('\n');
      if (cmd.json) io.stdout.write(`${JSON.stringify(b, null, 2)}\n`);
      if (phase === 'Failed') throw new CliError(`IrisBackup ${name} failed: ${b.status?.message ?? 'no message'}`, 1);
      io.stderr.write(`${name}: backup ${b.status?.backupId ?? '?'} completed to ${b.status?.destination ?? '?'}\n`);
      return 0;
    }
    if (io.signal.aborted) throw new CliError(`${tty ? '\n' : ''}stopped following; the operator carries on (${see})`, 130);
    if (Date.now() > deadline) throw new CliError(`${tty ? '\n' : ''}IrisBackup ${name} did not finish in time; the operator carries on (${see})`, 1);
    await sleep(POLL_MS, io.signal);
  }
}

/** The IrisBackup objects of one IrisCluster, with errors that say what to check. */
class BackupObjects {
  constructor(private readonly ref: KubeClusterRef) {}

  private path(name?: string): string {
    return resourcePath(IRISBACKUPS, this.ref.namespace, name);
  }

  async list(): Promise<IrisBackup[]> {
    const all = await this.call('listing', null, () => this.ref.api.get<{ items: IrisBackup[] }>(this.path()));
    return all.items.filter((b) => b.spec?.cluster === this.ref.name);
  }

  async get(name: string): Promise<IrisBackup> {
    const b = await this.call('reading', name, () => this.ref.api.get<IrisBackup>(this.path(name)));
    if (b.spec?.cluster !== this.ref.name) throw new CliError(`IrisBackup ${this.ref.namespace}/${name} backs up ${b.spec?.cluster ?? 'no cluster'}, not ${this.ref.name}`);
    return b;
  }

  create(body: Record<string, unknown>): Promise<IrisBackup> {
    return this.call('creating', null, () => this.ref.api.create<IrisBackup>(this.path(), body));
  }

  /** Pinned to the object's uid, so one recreated under the same name meanwhile is left alone. */
  async delete(b: IrisBackup): Promise<void> {
    const name = b.metadata.name ?? '';
    await this.call('deleting', name, () => this.ref.api.delete(this.path(name), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: b.metadata.uid } }));
  }

  private async call<T>(doing: string, name: string | null, fn: () => Promise<T>): Promise<T> {
    const what = name === null ? `IrisBackup objects in ${this.ref.namespace}` : `IrisBackup ${this.ref.namespace}/${name}`;
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof KubeApiError)) throw new CliError(`cannot reach the Kubernetes API: ${errorText(err)}`);
      const m = (err.body as { message?: unknown } | undefined)?.message;
      const text = typeof m === 'string' ? m : err.message;
      if (err.statusCode === 404 && name !== null) throw new CliError(`${what} not found (irisctl --kube -n ${this.ref.namespace} ${this.ref.name} backup list)`);
      if (err.statusCode === 404) throw new CliError(`the API server has no IrisBackup resource: install the CRDs (helm/irisdb/crds/)`);
      if (err.statusCode === 403) throw new CliError(`${doing} ${what} is not allowed for this kubeconfig's user (irisctl --kube backup needs create, get, list and delete on irisbackups.irisdb.io): ${text}`);
      if (err.statusCode === 409) throw new CliError(`${what} changed meanwhile: ${text}`);
      if (err.statusCode === 422) throw new CliError(`the API server refused ${doing} ${what}: ${text}`);
      throw new CliError(`${doing} ${what} failed: ${text}`);
    }
  }
}
