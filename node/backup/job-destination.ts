/**
 * A backup job's destination as the request names it (URL, S3 settings and
 * credentials from the request, else --s3-credentials-dir, else the SDK's
 * default chain). Plain data, so the node (which stores the shard manifest)
 * and the snapshot process (which stores the chunks) open the same
 * destination from it: it crosses to the process in the IPC start message,
 * never on a command line or in a log line.
 */
import type { BackupDestination } from '../../common/backup/destination.js';
import { parseDestination, type DestinationSpec, type S3Options } from '../../common/backup/destination-url.js';
import { openDestination } from '../../common/backup/open-destination.js';
import { credentialFilesOption } from '../../common/backup/s3-credential-files.js';

export interface JobDestination {
  readonly url: string;
  /** As the request carries them (no provider function: it is sent to the snapshot process). */
  readonly s3?: Omit<S3Options, 'credentialsProvider'>;
  /** --s3-credentials-dir ('' : none); used when the request carries no credentials. */
  readonly s3CredentialsDir: string;
}

export function jobDestinationSpec(d: JobDestination): DestinationSpec {
  const s3 = d.s3 ?? {};
  return parseDestination(d.url, s3.credentials === undefined ? { ...credentialFilesOption(d.s3CredentialsDir), ...s3 } : s3);
}

export function openJobDestination(d: JobDestination): BackupDestination {
  return openDestination(jobDestinationSpec(d));
}
