/**
 * Step "backups" of a cluster's reconcile pass (issue #15): IrisBackup
 * objects and spec.backup carried out by the core's backup runner, the same
 * one the local cluster uses (operator/controller/backup-runner.ts, through
 * the Controller). Each pass: spec.backup becomes the core's schedule;
 * the oldest Pending IrisBackup of the cluster starts (one at a time);
 * every object's status follows its record (backup-plan.ts); scheduled
 * backups get an object (label irisdb.io/scheduled=true, owned by the
 * IrisCluster) and lose it when retention deletes the backup; the
 * IrisCluster's status shows the last backup and the recoverability window;
 * before each read of the window, archive segments no backup kept in the
 * destination can use are deleted (the local cluster's ArchivePruner).
 * The controller's record lives in the IrisCluster's status (state-store.ts),
 * so an operator restarted mid-backup resumes it there.
 */
import { archiveWindow } from '../../../node/backup/archive-window.js';
import { ArchivePruner } from '../../controller/archive-pruner.js';
import { ControlError } from '../../control-api/types.js';
import { parseDestination } from '../../../common/backup/destination-url.js';
import { errorText, isAlreadyExists, isNotFound } from '../errors.js';
import { IRISCLUSTERS, resourcePath } from '../paths.js';
import { LABEL_INSTANCE } from '../names.js';
import { ownerReference } from '../build/owner.js';
import { NOTHING, type StepContext, type StepReport } from '../reconcile/context.js';
import { recordBackupEvent } from './backup-events.js';
import { ANNOTATION_DESTINATION, dropBootstrapSource } from './bootstrap-source.js';
import { lastBackupOf, planBackups, scheduledObjectName } from './backup-plan.js';
import { BackupCredentials } from './credentials.js';
import { BackupSpecError, resolveDestination, scheduleEnv, type ResolvedDestination } from './destination.js';
import { ANNOTATION_BACKUP_ID, IRISBACKUPS, LABEL_SCHEDULED, clusterBackupSpec, type IrisBackup, type IrisBackupStatus } from './iris-backup.js';
import { scheduleOf } from './schedule-spec.js';
import type { VolumeNodes } from '../../../common/backup/volume-client.js';
import type { BackupDestination } from '../../../common/backup/destination.js';
import type { DestinationSpec } from '../../../common/backup/destination-url.js';
import type { KubeClient } from '../client.js';

/** The nodes that mount the backup claim (any node of the cluster does), best first. */
function volumeNodesOf(controller: StepContext['controller']): VolumeNodes {
  const ctx = controller.ctx;
  return {
    token: ctx.token, fetch: ctx.nodeFetch, timeoutMs: 10_000,
    urls: () => {
      const names = ctx.state.shards.flatMap((s) => s.members.map((m) => ({ name: m, primary: m === s.currentPrimary })));
      // Answering nodes first, primaries first among them; the others too, as a last resort (a new operator has not heard from any yet).
      const rank = (n: { name: string; primary: boolean }): number => (ctx.up(n.name) ? 2 : 0) + (n.primary ? 1 : 0);
      return names.sort((a, b) => rank(b) - rank(a)).map((n) => ctx.endpoint(n.name)?.httpUrl).filter((u): u is string => u !== undefined);
    },
  };
}

/** The Secret is read again at least this often: a rotated key reaches the operator's own writes (top-level manifests, retention) within it. */
const REFRESH_MS = 5_000;
/** The recoverability window (a listing of the destination and each shard's last segment) is read again this often, and after each completed backup. */
const WINDOW_REFRESH_MS = 10_000;

export class BackupStep {
  /** The schedule's S3 settings (never credentials) for the core's runner: filled from spec.backup, read by the runner as its environment. */
  readonly env: NodeJS.ProcessEnv = {};
  readonly credentials: BackupCredentials;
  private scheduleKey: string | null = null;
  private secretsAt = new Map<string, number>();
  private windowKey = '';
  private windowAt = 0;
  private windowReading = false;
  private window: { firstRecoverabilityPoint: string | null; lastArchivedTime: string | null } | null = null;
  private clusterStatusKey = '';
  private pruner: ArchivePruner | null = null;
  private controller: StepContext['controller'] | null = null;

  constructor(private readonly identity: string, open?: (spec: DestinationSpec) => BackupDestination) {
    this.credentials = new BackupCredentials(open);
  }

  /**
   * Before the controller starts: spec.backup's S3 settings and its Secret's
   * keys, so a backup the controller resumes from its record (an operator
   * restarted mid-backup) can be finalized on its first tick, before this
   * step's first pass. Returns the cluster's destination (null without spec.backup).
   */
  async prepare(client: KubeClient, namespace: string, cr: { spec?: object }): Promise<ResolvedDestination | null> {
    const spec = clusterBackupSpec(cr.spec);
    if (spec === null) {
      this.fillEnv(null);
      return null;
    }
    const d = resolveDestination(spec.destination, 'spec.backup.destination');
    await this.loadSecret(client, namespace, d);
    this.fillEnv(d);
    return d;
  }

  /**
   * Before the controller starts, after prepare: the Secret's keys for the
   * destinations of the cluster's Running IrisBackups that have one of their
   * own (another bucket or prefix; start() allows only the cluster's Secret),
   * which the resumed controller may finalize before this step's first pass.
   */
  async prepareRunning(client: KubeClient, namespace: string, cluster: string): Promise<void> {
    const list = await client.get<{ items: IrisBackup[] }>(resourcePath(IRISBACKUPS, namespace));
    for (const o of list.items) {
      if (o.spec?.cluster !== cluster || o.status?.phase !== 'Running' || o.spec.destination === undefined) continue;
      const d = resolveDestination(o.spec.destination, `IrisBackup ${namespace}/${o.metadata.name ?? ''} spec.destination`);
      await this.loadSecret(client, namespace, d);
    }
  }

  async run(ctx: StepContext): Promise<StepReport> {
    const cr = ctx.resource();
    const spec = clusterBackupSpec(cr.spec);
    this.controller = ctx.controller;
    this.credentials.volumeNodes = volumeNodesOf(ctx.controller);
    let clusterDest: ResolvedDestination | null = null;
    const problems: string[] = [];
    if (spec !== null) {
      try {
        clusterDest = await this.prepare(ctx.client, ctx.namespace, cr);
        await this.setSchedule(ctx, clusterDest, spec);
      } catch (err) {
        problems.push(`spec.backup: ${errorText(err)}`);
      }
    } else {
      this.fillEnv(null);
      await this.setSchedule(ctx, null, null);
    }
    const objects = await this.listObjects(ctx);
    const plan = planBackups(objects, ctx.controller.backups);
    for (const s of plan.statuses) await this.writeStatus(ctx, objects.find((o) => o.metadata.name === s.name)!, s.status);
    if (plan.start !== null) await this.start(ctx, plan.start, clusterDest);
    for (const rec of plan.createFor) await this.createScheduledObject(ctx, rec.id);
    for (const name of plan.remove) {
      await ctx.client.delete(resourcePath(IRISBACKUPS, ctx.namespace, name)).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      ctx.logger.info('retention deleted a scheduled IrisBackup', { backup: name });
    }
    await this.writeClusterStatus(ctx, objects, clusterDest);
    if (ctx.controller.state.map !== null) await dropBootstrapSource(ctx.client, ctx.resource());
    const running = ctx.controller.backups.find((b) => b.phase === 'Running');
    const progress = running === undefined ? null : `backup ${running.id} running: ${running.shards.filter((s) => s.state === 'done').length}/${running.shards.length} shards done`;
    return problems.length === 0 && progress === null ? NOTHING : { progress, problem: problems.length === 0 ? null : problems.join('; ') };
  }

  private async listObjects(ctx: StepContext): Promise<IrisBackup[]> {
    const list = await ctx.client.get<{ items: IrisBackup[] }>(resourcePath(IRISBACKUPS, ctx.namespace));
    return list.items.filter((b) => b.spec?.cluster === ctx.cluster && b.metadata.deletionTimestamp === undefined);
  }

  private async loadSecret(client: KubeClient, namespace: string, d: ResolvedDestination): Promise<void> {
    if (d.secretName === null) return;
    const key = `${d.secretName}|${d.url}`;
    if (Date.now() - (this.secretsAt.get(key) ?? 0) < REFRESH_MS) return;
    await this.credentials.load(client, namespace, d.secretName, d.url);
    this.secretsAt.set(key, Date.now());
  }

  /** The runner's environment: spec.backup's endpoint and region (never credentials). */
  private fillEnv(d: ResolvedDestination | null): void {
    for (const k of Object.keys(this.env)) delete this.env[k];
    Object.assign(this.env, scheduleEnv(d));
  }

  private async setSchedule(ctx: StepContext, d: ResolvedDestination | null, spec: ReturnType<typeof clusterBackupSpec>): Promise<void> {
    const want = d === null || spec === null ? null : scheduleOf(spec, d.url);
    const key = JSON.stringify(want);
    if (key === this.scheduleKey) return;
    // No schedule wanted and none recorded: nothing to clear (the runner would record and announce a removal).
    if (want === null && (ctx.controller.state.backupSchedule ?? null) === null) {
      this.scheduleKey = key;
      return;
    }
    try {
      await ctx.controller.setBackupSchedule(want);
    } catch (err) {
      if (err instanceof ControlError) throw new BackupSpecError(err.message);
      throw err;
    }
    this.scheduleKey = key;
  }

  private async start(ctx: StepContext, obj: IrisBackup, clusterDest: ResolvedDestination | null): Promise<void> {
    const name = obj.metadata.name ?? '';
    let d: ResolvedDestination;
    try {
      d = obj.spec.destination !== undefined ? resolveDestination(obj.spec.destination, `IrisBackup ${name} spec.destination`) : clusterDest ?? resolveDestination(undefined, `IrisBackup ${name}`);
      if (d.claimName !== null && d.claimName !== clusterDest?.claimName) {
        throw new BackupSpecError(`destination.pvc ${d.claimName} is not mounted by the nodes: they mount the claim of spec.backup.destination.pvc (${clusterDest?.claimName ?? 'none'}); use that claim or leave the destination unset`);
      }
      const podSecret = clusterDest?.secretName ?? null;
      if (d.secretName !== null && d.secretName !== podSecret) {
        throw new BackupSpecError(`destination.s3.secretRef ${d.secretName} is not the cluster's backup Secret (${podSecret ?? 'none'}): the nodes upload with the credentials of spec.backup.destination.s3.secretRef; use that Secret or leave secretRef unset`);
      }
      if (d.s3.endpoint === undefined && this.env.AWS_ENDPOINT_URL_S3 !== undefined) {
        throw new BackupSpecError(`destination.s3 has no endpoint while spec.backup's has one (${this.env.AWS_ENDPOINT_URL_S3}): give this destination its endpoint`);
      }
      await this.loadSecret(ctx.client, ctx.namespace, d);
    } catch (err) {
      await this.writeStatus(ctx, obj, { phase: 'Failed', message: errorText(err) });
      return;
    }
    try {
      // What an object without spec.destination went to, for a later spec.bootstrap.fromBackup (bootstrap-source.ts).
      if (obj.spec.destination === undefined && clusterDest !== null && obj.metadata.annotations?.[ANNOTATION_DESTINATION] === undefined) {
        await ctx.client.mergePatch(resourcePath(IRISBACKUPS, ctx.namespace, name), {
          metadata: { uid: obj.metadata.uid, annotations: { [ANNOTATION_DESTINATION]: JSON.stringify(clusterBackupSpec(ctx.resource().spec)?.destination) } },
        });
      }
      const rec = await ctx.controller.createBackup({ destination: d.url, s3: d.s3, ...(obj.spec.maxBytesPerSecond !== undefined ? { maxBytesPerSecond: obj.spec.maxBytesPerSecond } : {}) });
      await this.writeStatus(ctx, obj, { phase: 'Running', backupId: rec.id, destination: d.url, startTime: new Date(rec.startedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'), message: 'started' });
    } catch (err) {
      if (err instanceof ControlError && (err.code === 'conflict' || err.code === 'unavailable')) {
        if (obj.status?.message !== `waiting: ${err.message}`) await this.writeStatus(ctx, obj, { phase: 'Pending', message: `waiting: ${err.message}` });
        return;
      }
      await this.writeStatus(ctx, obj, { phase: 'Failed', message: errorText(err) });
    }
  }

  private async writeStatus(ctx: StepContext, obj: IrisBackup, status: IrisBackupStatus): Promise<void> {
    const name = obj.metadata.name ?? '';
    await ctx.client.mergePatch(resourcePath(IRISBACKUPS, ctx.namespace, name, 'status'), { metadata: { uid: obj.metadata.uid }, status });
    const before = obj.status?.phase;
    if (status.phase !== undefined && status.phase !== before) {
      const reason = { Pending: 'BackupPending', Running: 'BackupStarted', Completed: 'BackupCompleted', Failed: 'BackupFailed' }[status.phase];
      const text = status.phase === 'Running' ? `backup ${status.backupId ?? ''} of cluster ${ctx.cluster} started to ${status.destination ?? ''}` : `${status.backupId ?? name}: ${status.message ?? status.phase}`;
      await recordBackupEvent(ctx.client, obj, { at: Date.now(), type: status.phase === 'Failed' ? 'Warning' : 'Normal', reason, message: text }, this.identity, ctx.logger);
    }
    obj.status = { ...obj.status, ...status };
  }

  private async createScheduledObject(ctx: StepContext, id: string): Promise<void> {
    const cr = ctx.resource();
    const spec = clusterBackupSpec(cr.spec);
    const body: IrisBackup = {
      apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisBackup',
      metadata: {
        name: scheduledObjectName(ctx.cluster, id), namespace: ctx.namespace,
        labels: { [LABEL_SCHEDULED]: 'true', [LABEL_INSTANCE]: ctx.cluster },
        annotations: { [ANNOTATION_BACKUP_ID]: id },
        ownerReferences: [ownerReference(cr)],
      },
      spec: { cluster: ctx.cluster, ...(spec !== null ? { destination: spec.destination } : {}) },
    };
    try {
      await ctx.client.create(resourcePath(IRISBACKUPS, ctx.namespace), body);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  private async readWindow(ctx: StepContext, d: ResolvedDestination): Promise<void> {
    const dest = this.credentials.opener(parseDestination(d.url, d.s3));
    try {
      // The controller of the latest pass (a new leader's is another object): nothing is pruned while it runs a backup.
      this.pruner ??= new ArchivePruner(ctx.logger, () => (this.controller?.backups ?? []).some((b) => b.phase === 'Running'));
      // Retention of the archive first, so the window read after it shows what is left; its failure never hides the window.
      await this.pruner.prune(dest).catch((err: unknown) => ctx.logger.warn('archive retention failed', { destination: d.url, error: errorText(err) }));
      const w = await archiveWindow(dest);
      // The oldest shard's: every shard's log is archived at least that far.
      const times = w.shards.map((s) => s.lastArchivedTime).sort();
      this.window = { firstRecoverabilityPoint: w.firstRecoverabilityPoint, lastArchivedTime: times[0] ?? null };
    } catch (err) {
      ctx.logger.warn('reading the recoverability window failed', { error: errorText(err) });
    } finally {
      dest.close();
    }
  }

  private async writeClusterStatus(ctx: StepContext, objects: readonly IrisBackup[], d: ResolvedDestination | null): Promise<void> {
    const records = ctx.controller.backups;
    const last = lastBackupOf(records, objects);
    const completed = records.filter((r) => r.phase === 'Completed').map((r) => r.id).join(',');
    if (d !== null && !this.windowReading && (`${d.url}|${completed}` !== this.windowKey || Date.now() - this.windowAt >= WINDOW_REFRESH_MS)) {
      this.windowKey = `${d.url}|${completed}`;
      this.windowAt = Date.now();
      // Outside the pass: a slow destination never holds up the other steps; a later pass writes what it read.
      this.windowReading = true;
      void this.readWindow(ctx, d).finally(() => (this.windowReading = false));
    }
    if (d === null) this.window = null;
    const status = {
      lastBackup: last,
      firstRecoverabilityPoint: this.window?.firstRecoverabilityPoint ?? null,
      lastArchivedTime: this.window?.lastArchivedTime ?? null,
    };
    const key = JSON.stringify(status);
    if (key === this.clusterStatusKey) return;
    const cr = ctx.resource();
    await ctx.client.mergePatch(resourcePath(IRISCLUSTERS, ctx.namespace, ctx.cluster, 'status'), { metadata: { uid: cr.metadata.uid }, status });
    this.clusterStatusKey = key;
  }
}

