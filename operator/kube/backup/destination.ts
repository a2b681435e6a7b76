/**
 * An IrisBackup's (or spec.backup's) destination as the core and the nodes
 * take it: the URL, the S3 settings that are not secret (endpoint, region,
 * path-style), and the name of the Secret with the credentials. The
 * credentials themselves never go into the URL, the record or a request to
 * a node: nodes read theirs from their environment (backup-pod-parts.ts),
 * the operator from the Secret. A pvc destination is the claim as every
 * node pod mounts it (file:///var/lib/irisdb-backups/<claim>[/<path>]);
 * the operator reaches it through a node's /admin/backup-volume
 * (credentials.ts). Pure.
 */
import type { S3Options } from '../../../common/backup/destination-url.js';
import type { BackupDestinationSpec } from './iris-backup.js';

export interface ResolvedDestination {
  readonly url: string;
  readonly s3: S3Options;
  /** The Secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (null: the SDK's default chain). */
  readonly secretName: string | null;
  /** A pvc destination's claim: mounted into every node pod at backupClaimMount(claimName) (null: s3). */
  readonly claimName: string | null;
}

/** Where node pods mount backup claims (--backup-volume): each claim in its own directory below. */
export const BACKUP_VOLUMES_ROOT = '/var/lib/irisdb-backups';

export function backupClaimMount(claimName: string): string {
  return `${BACKUP_VOLUMES_ROOT}/${claimName}`;
}

/** A file:// destination URL on a mounted backup claim: its directory relative to BACKUP_VOLUMES_ROOT, or null for any other URL. */
export function volumeRelativePath(url: string): string | null {
  const base = `file://${BACKUP_VOLUMES_ROOT}/`;
  return url.startsWith(base) ? url.slice(base.length).replace(/\/+$/, '') : null;
}

export class BackupSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupSpecError';
  }
}

export function resolveDestination(d: BackupDestinationSpec | undefined, where: string): ResolvedDestination {
  if (d === undefined) throw new BackupSpecError(`${where}: no destination (set it here or in the IrisCluster's spec.backup.destination)`);
  if (d.pvc !== undefined) {
    // Empty segments (a//b, leading or trailing /) dropped: the node's object keys have none.
    const segments = (d.pvc.path ?? '').split('/').filter((s) => s !== '');
    const sub = segments.join('/');
    if (segments.some((s) => s === '.' || s === '..')) throw new BackupSpecError(`${where}: pvc.path may not contain . or .. segments`);
    const dir = `${backupClaimMount(d.pvc.claimName)}${sub === '' ? '' : `/${sub}`}`;
    return { url: `file://${dir}`, s3: {}, secretName: null, claimName: d.pvc.claimName };
  }
  const s3 = d.s3;
  if (s3 === undefined) throw new BackupSpecError(`${where}: the destination needs s3`);
  const prefix = (s3.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const endpoint = s3.endpoint ?? '';
  return {
    url: `s3://${s3.bucket}${prefix === '' ? '' : `/${prefix}`}`,
    s3: {
      ...(endpoint !== '' ? { endpoint } : {}),
      ...(s3.region !== undefined && s3.region !== '' ? { region: s3.region } : {}),
      // A custom endpoint is nearly always an S3-compatible server that wants path-style addressing (as s3OptionsFromEnv decides).
      forcePathStyle: endpoint !== '',
    },
    secretName: s3.secretRef?.name ?? null,
    claimName: null,
  };
}

/** The environment the core's BackupRunner reads for the schedule's S3 settings (no credentials: those stay with the opener). */
export function scheduleEnv(d: ResolvedDestination | null): NodeJS.ProcessEnv {
  if (d === null) return {};
  return {
    ...(d.s3.endpoint !== undefined ? { AWS_ENDPOINT_URL_S3: d.s3.endpoint } : {}),
    ...(d.s3.region !== undefined ? { AWS_REGION: d.s3.region } : {}),
  };
}
