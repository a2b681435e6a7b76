/**
 * The backup part of a node's admin API (`/admin/backups`), shared by the
 * node (which serves it) and the control plane (which drives it):
 *   POST /admin/backups        BackupJobRequest → 202 BackupJobStatus (idempotent per id)
 *   GET  /admin/backups/{id}   BackupJobStatus (404 not_found: this process never ran it)
 * Credentials for an S3 destination travel in the request body, like the
 * admin token itself, on the admin port (loopback locally).
 */
import { AdminClient } from '../admin-client.js';
import type { S3Options } from './destination-url.js';
import type { ChunkCompression } from './manifest.js';

export interface BackupJobRequest {
  readonly id: string;
  readonly cluster: string;
  readonly destination: { readonly url: string; readonly s3?: S3Options };
  readonly compression?: ChunkCompression;
  /** Uncompressed bytes per chunk (default 4 MiB). */
  readonly chunkBytes?: number;
  /** Rows read per second at most, in bytes (key + value + 32 per row); absent: as fast as it goes. */
  readonly maxBytesPerSecond?: number;
}

export interface BackupJobStatus {
  readonly id: string;
  readonly state: 'running' | 'completed' | 'failed';
  readonly shard: string;
  /** The snapshot's sequence (null until the snapshot is open). */
  readonly seq: number | null;
  readonly keysTotal: number;
  readonly keysDone: number;
  readonly bytes: number;
  readonly chunks: number;
  /** Set once completed: the shard manifest's key and SHA-256. */
  readonly manifest: { readonly key: string; readonly sha256: string } | null;
  readonly error: string | null;
}

export class BackupAdminClient extends AdminClient {
  startBackup(req: BackupJobRequest): Promise<BackupJobStatus> {
    return this.call('POST', '/admin/backups', req);
  }

  backupStatus(id: string): Promise<BackupJobStatus> {
    return this.call('GET', `/admin/backups/${encodeURIComponent(id)}`);
  }
}
