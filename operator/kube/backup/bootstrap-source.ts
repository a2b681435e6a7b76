/**
 * spec.bootstrap.fromBackup (issue #15): before a new IrisCluster's
 * controller starts, the operator resolves the named IrisBackup (same
 * namespace, Completed), or the destination and backup id given instead
 * (a backup no IrisBackup of this namespace took: another namespace's,
 * reached through S3 or a claim re-bound here), to what the nodes' restore
 * needs — the destination
 * URL and its non-secret S3 settings, the backup id, the Secret with the
 * credentials, the point in time, the shard count — and records it on the
 * IrisCluster as the annotation irisdb.io/bootstrap-source, from which the
 * StatefulSets get their restore init container (build/bootstrap-pod-parts.ts),
 * so the templates stay a pure function of the resource. The annotation is
 * removed once the cluster has its first map: shards added later start
 * empty, as they must.
 */
import { sleep } from '../../../common/abortable-sleep.js';
import type { KubeClient } from '../client.js';
import { OperatorError } from '../errors.js';
import type { IrisCluster } from '../iris-cluster.js';
import { IRISCLUSTERS, resourcePath } from '../paths.js';
import { DEFAULTS } from '../iris-cluster.js';
import { resolveDestination } from './destination.js';
import { IRISBACKUPS, type BackupDestinationSpec, type IrisBackup } from './iris-backup.js';

export const ANNOTATION_BOOTSTRAP_SOURCE = 'irisdb.io/bootstrap-source';
/** On an IrisBackup whose spec names no destination: the one it was taken to (the cluster's spec.backup.destination then). */
export const ANNOTATION_DESTINATION = 'irisdb.io/destination';

export interface BootstrapSpec {
  /** Exactly one of name (an IrisBackup) or destination (with backupId, or the newest backup there); the CRD's rule. */
  readonly fromBackup?: { readonly name?: string; readonly destination?: BackupDestinationSpec; readonly backupId?: string; readonly pointInTime?: string };
}

export interface BootstrapSource {
  /** The IrisBackup's name ('' for a destination given directly). */
  readonly backup: string;
  readonly url: string;
  /** '' : the newest backup in the destination finished by the point in time (or the newest), as the node's --restore-backup-id takes it. */
  readonly backupId: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly secretName: string | null;
  /** A pvc destination's claim, mounted into the restore init container (absent: s3). */
  readonly claimName?: string | null;
  readonly pointInTime: string | null;
  /** The new cluster's shard count when it was created (shards added later start empty). */
  readonly shards: number;
}

export function bootstrapSpec(spec: object | undefined): BootstrapSpec | null {
  return (spec as { bootstrap?: BootstrapSpec } | undefined)?.bootstrap ?? null;
}

/** The restore the IrisBackup `b` allows for `cr`, or why not. Pure. */
export function resolveBootstrapSource(cr: IrisCluster, b: IrisBackup | null): BootstrapSource {
  const from = bootstrapSpec(cr.spec)?.fromBackup;
  if (from === undefined) throw new OperatorError('spec.bootstrap has no fromBackup', `IrisCluster ${cr.metadata.namespace}/${cr.metadata.name}`);
  if (from.destination !== undefined) return directSource(cr, from.destination, from.backupId ?? '', from.pointInTime ?? null);
  if (from.name === undefined) throw new OperatorError('needs name (an IrisBackup) or destination', `IrisCluster ${cr.metadata.namespace}/${cr.metadata.name} spec.bootstrap.fromBackup`);
  const where = `spec.bootstrap.fromBackup: IrisBackup ${cr.metadata.namespace}/${from.name}`;
  if (b === null) throw new OperatorError('not found (it must be in the same namespace)', where);
  if (b.status?.phase !== 'Completed' || b.status.backupId === undefined) throw new OperatorError(`is ${b.status?.phase ?? 'Pending'}, not Completed: the cluster waits for it`, where);
  let destSpec: BackupDestinationSpec | undefined = b.spec.destination;
  if (destSpec === undefined) {
    const recorded = b.metadata.annotations?.[ANNOTATION_DESTINATION];
    destSpec = recorded === undefined ? undefined : JSON.parse(recorded) as BackupDestinationSpec;
  }
  const d = resolveDestination(destSpec, where);
  if (b.status.destination !== undefined && b.status.destination !== d.url) throw new OperatorError(`its destination ${d.url} is not where the backup went (${b.status.destination})`, where);
  const pit = from.pointInTime ?? null;
  if (pit !== null && b.status.completionTime !== undefined && Date.parse(pit) < Date.parse(b.status.completionTime)) {
    throw new OperatorError(`finished at ${b.status.completionTime}, after pointInTime ${pit}: name an older backup`, where);
  }
  return {
    backup: from.name, url: d.url, backupId: b.status.backupId,
    ...(d.s3.endpoint !== undefined ? { endpoint: d.s3.endpoint } : {}), ...(d.s3.region !== undefined ? { region: d.s3.region } : {}),
    secretName: d.secretName, ...(d.claimName !== null ? { claimName: d.claimName } : {}), pointInTime: pit, shards: cr.spec?.shards ?? DEFAULTS.shards,
  };
}

/**
 * A destination given in fromBackup itself: nothing to check here (no
 * IrisBackup says how the backup went); the restore init container reads
 * the backup's manifests and fails, naming what is missing, if it is not there.
 */
function directSource(cr: IrisCluster, dest: BackupDestinationSpec, backupId: string, pit: string | null): BootstrapSource {
  const d = resolveDestination(dest, `IrisCluster ${cr.metadata.namespace}/${cr.metadata.name} spec.bootstrap.fromBackup.destination`);
  return {
    backup: '', url: d.url, backupId,
    ...(d.s3.endpoint !== undefined ? { endpoint: d.s3.endpoint } : {}), ...(d.s3.region !== undefined ? { region: d.s3.region } : {}),
    secretName: d.secretName, ...(d.claimName !== null ? { claimName: d.claimName } : {}), pointInTime: pit, shards: cr.spec?.shards ?? DEFAULTS.shards,
  };
}

export function bootstrapSourceOf(cr: Pick<IrisCluster, 'metadata'>): BootstrapSource | null {
  const raw = cr.metadata.annotations?.[ANNOTATION_BOOTSTRAP_SOURCE];
  return raw === undefined ? null : JSON.parse(raw) as BootstrapSource;
}

/**
 * Records the bootstrap source on a new cluster (before its controller
 * starts). Throws (the runner retries, with a ControllerStartFailed event)
 * while the IrisBackup is missing or not Completed.
 */
export async function ensureBootstrapSource(client: KubeClient, cr: IrisCluster): Promise<void> {
  if (bootstrapSpec(cr.spec)?.fromBackup === undefined) return;
  // Created already: the cluster keeps its data; a new operator must not restore again.
  if (cr.status?.controllerState !== undefined || bootstrapSourceOf(cr) !== null) return;
  const name = bootstrapSpec(cr.spec)!.fromBackup!.name;
  const b = name === undefined ? null : await client.find<IrisBackup>(resourcePath(IRISBACKUPS, cr.metadata.namespace, name));
  const source = resolveBootstrapSource(cr, b);
  await client.mergePatch(resourcePath(IRISCLUSTERS, cr.metadata.namespace, cr.metadata.name), {
    metadata: { uid: cr.metadata.uid, annotations: { [ANNOTATION_BOOTSTRAP_SOURCE]: JSON.stringify(source) } },
  });
}

/** Once the cluster has its first map the restore is done: later shards and replaced volumes start empty. */
export async function dropBootstrapSource(client: KubeClient, cr: IrisCluster): Promise<void> {
  if (bootstrapSourceOf(cr) === null) return;
  await client.mergePatch(resourcePath(IRISCLUSTERS, cr.metadata.namespace, cr.metadata.name), {
    metadata: { uid: cr.metadata.uid, annotations: { [ANNOTATION_BOOTSTRAP_SOURCE]: null } },
  });
}

/**
 * ensureBootstrapSource, then a short wait for the runner's cache to show
 * the annotation (the StatefulSets are built from it); false if it has not
 * arrived yet (the runner tries again).
 */
export async function bootstrapSourceReady(client: KubeClient, cr: IrisCluster, cached: () => IrisCluster): Promise<boolean> {
  await ensureBootstrapSource(client, cr);
  const needed = (c: IrisCluster): boolean => bootstrapSpec(c.spec)?.fromBackup !== undefined && c.status?.controllerState === undefined && bootstrapSourceOf(c) === null;
  for (let i = 0; i < 50 && needed(cached()); i++) await sleep(100);
  return !needed(cached());
}
