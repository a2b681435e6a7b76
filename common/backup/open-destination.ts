/** The BackupDestination for a parsed destination spec. */
import type { BackupDestination } from './destination.js';
import type { DestinationSpec } from './destination-url.js';
import { FileDestination } from './file-destination.js';
import { S3Destination } from './s3-destination.js';

export function openDestination(spec: DestinationSpec): BackupDestination {
  return spec.kind === 'file' ? new FileDestination(spec.path) : new S3Destination(spec.bucket, spec.prefix, spec.s3);
}
