/**
 * S3 credentials the operator itself needs for a cluster's backups (it
 * reads every shard manifest back, writes the top-level manifest, and
 * deletes the backups retention drops), read from the destination's Secret
 * and kept in memory only, by destination URL. The opener hands them to the
 * destination the core's BackupRunner opens; the runner's records and the
 * requests it sends to nodes never carry them (the nodes take theirs from
 * their own environment, backup-pod-parts.ts). A pvc destination (a
 * file:// URL on a claim only the node pods mount) opens as a
 * VolumeDestination through the nodes' /admin/backup-volume.
 */
import type { S3Credentials, DestinationSpec } from '../../../common/backup/destination-url.js';
import type { BackupDestination } from '../../../common/backup/destination.js';
import { openDestination } from '../../../common/backup/open-destination.js';
import { VolumeDestination, type VolumeNodes } from '../../../common/backup/volume-client.js';
import { volumeRelativePath } from './destination.js';
import type { KubeClient } from '../client.js';
import { OperatorError } from '../errors.js';
import { SECRETS, resourcePath } from '../paths.js';

export const ACCESS_KEY_ID = 'AWS_ACCESS_KEY_ID';
export const SECRET_ACCESS_KEY = 'AWS_SECRET_ACCESS_KEY';

export class BackupCredentials {
  private readonly byUrl = new Map<string, S3Credentials>();
  /** How to reach the nodes that mount the cluster's backup claims (set by the backup step once the controller runs). */
  volumeNodes: VolumeNodes | null = null;

  constructor(private readonly open: (spec: DestinationSpec) => BackupDestination = openDestination) {}

  /** Reads the Secret's two keys and remembers them for `url`. */
  async load(client: KubeClient, namespace: string, secretName: string, url: string): Promise<void> {
    const s = await client.find<{ data?: Record<string, string> }>(resourcePath(SECRETS, namespace, secretName));
    const where = `Secret ${namespace}/${secretName}`;
    if (s === null) throw new OperatorError('not found (it holds the backup destination\'s AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)', where);
    const get = (k: string): string => {
      const v = s.data?.[k];
      if (v === undefined || v === '') throw new OperatorError(`has no key ${k}`, where);
      return Buffer.from(v, 'base64').toString('utf8');
    };
    this.byUrl.set(url, { accessKeyId: get(ACCESS_KEY_ID), secretAccessKey: get(SECRET_ACCESS_KEY) });
  }

  /** The BackupRunner's opener: the destination with the remembered credentials (the SDK's default chain without). */
  readonly opener = (spec: DestinationSpec): BackupDestination => {
    if (spec.kind === 'file') {
      const rel = volumeRelativePath(spec.url);
      const nodes = this.volumeNodes;
      if (rel === null) return this.open(spec);
      return new VolumeDestination(spec.url, rel, nodes ?? { urls: () => [], token: '', fetch: (url, init) => fetch(url, init) });
    }
    const credentials = this.byUrl.get(spec.url);
    return this.open(credentials === undefined ? spec : { ...spec, s3: { ...spec.s3, credentials } });
  };
}
