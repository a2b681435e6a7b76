/**
 * `irisctl local up --archive-destination URL`: continuous log archiving
 * (docs/backup.md), recorded with the cluster in DIR/archive.json so that a
 * resumed cluster keeps archiving to the same place. Every node gets
 * --archive-destination (S3 credentials reach them through the inherited
 * AWS_* variables). One destination holds one cluster's archive: a new
 * cluster is refused one whose archive/ already holds segments.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDestination, s3OptionsFromEnv } from '../../common/backup/destination-url.js';
import { openDestination } from '../../common/backup/open-destination.js';
import { ARCHIVE_PREFIX } from '../../common/backup/segment.js';

const FILE = 'archive.json';

export class ArchiveSettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveSettingError';
  }
}

/** The recorded destination, or null when this cluster does not archive. */
export function readArchiveDestination(dir: string): string | null {
  const file = path.join(dir, FILE);
  if (!fs.existsSync(file)) return null;
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { destination?: unknown };
  if (typeof parsed.destination !== 'string' || parsed.destination === '') throw new ArchiveSettingError(`${file}: no "destination" string`);
  return parsed.destination;
}

/**
 * The destination this start archives to: the given one (checked, recorded)
 * or the recorded one. `newCluster`: refuse a destination already holding
 * another cluster's archive (sequences would collide).
 */
export async function settleArchiveDestination(dir: string, given: string | undefined, newCluster: boolean, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const recorded = readArchiveDestination(dir);
  if (given === undefined || given === recorded) return recorded;
  const dest = openDestination(parseDestination(given, given.startsWith('s3://') ? s3OptionsFromEnv(env, {}) : {}));
  try {
    if (newCluster && (await dest.list(ARCHIVE_PREFIX)).length > 0) {
      throw new ArchiveSettingError(`${dest.description} already holds a log archive (${ARCHIVE_PREFIX}): one destination archives one cluster; choose another`);
    }
  } finally {
    dest.close();
  }
  await fs.promises.writeFile(path.join(dir, FILE), `${JSON.stringify({ destination: given })}\n`, { mode: 0o600 });
  return given;
}
