/**
 * The checkpoint of `irisctl import --follow`, DIR/import-follow-checkpoint.json:
 * per source master the replication id and the offset up to which IrisDB
 * acknowledged every command (and the database SELECTed there: a partial
 * resync does not send SELECT again), plus the counts so far. Written
 * (temp + fsync + rename, checkpoint.ts) about every 3 seconds once a link's
 * RDB is loaded, removed when the follow ends with its report. A rerun
 * asks each master for PSYNC replid offset+1; the commands after the
 * offset may have been applied already, which repl-commands.ts makes
 * harmless (every write is made absolute). Pure parsing here.
 */
import type { ImportCounts } from './import-counts.js';
import { isCount, isImportCounts, parseJsonObject } from './checkpoint.js';

export const FOLLOW_CHECKPOINT_FILE = 'import-follow-checkpoint.json';

export interface StreamCounts {
  applied: number;
  skipped: Record<string, number>;
  otherDb: number;
  errors: number;
  firstError: string | null;
}

export interface FollowLinkState {
  readonly replid: string;
  readonly offset: number;
  readonly db: number;
}

export interface FollowCheckpoint {
  readonly version: 1;
  readonly kind: 'follow';
  /** The source, password redacted: a checkpoint of another source is never resumed. */
  readonly source: string;
  /** Per source master ("host:port"), only once its RDB is loaded. */
  readonly links: Record<string, FollowLinkState>;
  readonly counts: ImportCounts;
  readonly stream: StreamCounts;
}

export function emptyStreamCounts(): StreamCounts {
  return { applied: 0, skipped: {}, otherDb: 0, errors: 0, firstError: null };
}

/** Parses the file's text; null when it is not a follow checkpoint. Pure. */
export function parseFollowCheckpoint(text: string): FollowCheckpoint | null {
  const d = parseJsonObject(text) as Partial<FollowCheckpoint> | null;
  if (d === null || d.version !== 1 || d.kind !== 'follow' || typeof d.source !== 'string' || typeof d.links !== 'object' || d.links === null || !isImportCounts(d.counts)) return null;
  for (const l of Object.values(d.links)) {
    if (typeof l !== 'object' || l === null || typeof l.replid !== 'string' || !/^[0-9a-f]{40}$/.test(l.replid) || !isCount(l.offset) || !isCount(l.db)) return null;
  }
  const s = d.stream;
  if (typeof s !== 'object' || s === null || ![s.applied, s.otherDb, s.errors].every(isCount) || typeof s.skipped !== 'object' || s.skipped === null) return null;
  return d as FollowCheckpoint;
}
