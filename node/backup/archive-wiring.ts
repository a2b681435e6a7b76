/**
 * Starts the log archiver when the node is configured with an archive
 * destination (--archive-destination; S3 credentials from AWS_* variables).
 * It runs on every node and acts only while the node is its shard's primary.
 */
import type { Logger } from '../../common/logger.js';
import type { Registry } from 'prom-client';
import { parseDestination, s3OptionsFromEnv } from '../../common/backup/destination-url.js';
import { credentialFilesOption } from '../../common/backup/s3-credential-files.js';
import { openDestination } from '../../common/backup/open-destination.js';
import type { ReplicationLog } from '../replication/log.js';
import { createArchiveMetrics } from './archive-metrics.js';
import { LogArchiver } from './archiver.js';
import type { KeyringSource } from '../crypto/keyring-store.js';

/** Past the log's retention times this factor the archive lets go (the same allowance a slow replica gets). */
const MAX_BEHIND_FACTOR = 4;

export interface ArchiveWiring {
  readonly config: { readonly archiveDestination: string; readonly archiveSegmentSeconds: number; readonly archiveSegmentBytes: number; readonly replBacklogOps: number; readonly s3CredentialsDir: string };
  readonly log: ReplicationLog;
  shardId(): string | null;
  isPrimary(): boolean;
  epoch(): number;
  headSeq(): number;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly env?: NodeJS.ProcessEnv;
  /** Encryption at rest: archived batches are sealed with the active key. */
  readonly encryption?: KeyringSource | null;
}

export function startLogArchiver(w: ArchiveWiring): LogArchiver | null {
  const url = w.config.archiveDestination;
  if (url === '') return null;
  const destination = openDestination(parseDestination(url, url.startsWith('s3://') ? s3OptionsFromEnv(w.env ?? process.env, credentialFilesOption(w.config.s3CredentialsDir)) : {}));
  let archiver: LogArchiver | null = null;
  const metrics = createArchiveMetrics(w.registry, () => archiver?.lag() ?? { sequences: 0, seconds: 0 });
  archiver = new LogArchiver({
    log: w.log, destination, shardId: () => w.shardId(), isPrimary: () => w.isPrimary(), epoch: () => w.epoch(), headSeq: () => w.headSeq(),
    segmentMs: w.config.archiveSegmentSeconds * 1000, segmentBytes: w.config.archiveSegmentBytes,
    maxBehindOps: w.config.replBacklogOps * MAX_BEHIND_FACTOR,
    logger: w.logger, metrics, now: () => Date.now(), keys: w.encryption ?? null,
  });
  archiver.start();
  w.logger.info('log archiving on', { destination: destination.description, segmentSeconds: w.config.archiveSegmentSeconds });
  return archiver;
}
