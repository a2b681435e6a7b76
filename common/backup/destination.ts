/**
 * Where backups are stored: one small interface, two implementations
 * (file-destination.ts for a filesystem path or a PVC, s3-destination.ts for
 * S3-compatible object storage). Object names are '/'-separated relative
 * keys ("<backup id>/shard-0/chunk-000001.irbk"); the destination prefixes
 * them with its own root.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
}

export interface BackupDestination {
  /** What users see in messages: the URL without credentials. */
  readonly description: string;
  /** Stores `body` under `key`, replacing any object there; visible only once complete. */
  put(key: string, body: Buffer | Readable): Promise<void>;
  /** The object's bytes; BackupObjectMissing if there is none. */
  get(key: string): Promise<Buffer>;
  /** Size of the object, or null if there is none. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Removes the object; no error if it is already gone. */
  delete(key: string): Promise<void>;
  close(): void;
}

/** An object a backup needs is not in the destination. */
export class BackupObjectMissing extends Error {
  constructor(readonly destination: string, readonly key: string) {
    super(`${destination}: object ${key} does not exist`);
    this.name = 'BackupObjectMissing';
  }
}

/** Keys are relative, '/'-separated, without '.' or '..' segments (they become file paths too). */
export function checkObjectKey(key: string): string {
  if (key === '' || key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..') || key.includes('\0')) {
    throw new RangeError(`invalid backup object key ${JSON.stringify(key)}`);
  }
  return key;
}
