/**
 * A source run's progress: what the copy sent, counted into the record and
 * the metrics; when the record is due to be noted in the write turn; and
 * the periodic progress log line.
 */
import { performance } from 'node:perf_hooks';
import type { MigrationRecord } from '../../common/migration.js';
import type { CopyEvents, CopyStream } from './copy.js';
import type { MigrationDeps } from './deps.js';

/** How often the progress line is logged (and the run's wait wakes up to check for a stall). */
export const PROGRESS_LOG_MS = 2000;
/** Progress counters join the current write turn about this often (not synced on their own). */
const NOTE_EVERY_MS = 1000;

export type SentDelta = Parameters<CopyEvents['sent']>[0];

export class SourceProgress {
  private lastLogAt = 0;
  private lastNoteAt = 0;

  constructor(private readonly deps: Pick<MigrationDeps, 'metrics' | 'logger'>) {}

  /** `rec` with what the copy sent added to its counters; the metrics count it too. */
  sent(rec: MigrationRecord, n: SentDelta): MigrationRecord {
    const m = this.deps.metrics;
    if (n.keys > 0) {
      m.keys.inc({ side: 'source' }, n.keys);
      m.bytes.inc({ side: 'source' }, n.bytes);
    }
    if (n.entries > 0) m.entries.inc({ side: 'source' }, n.entries);
    return { ...rec, keysCopied: rec.keysCopied + n.keys, bytesCopied: rec.bytesCopied + n.bytes, entriesForwarded: rec.entriesForwarded + n.entries };
  }

  /** True about once a second: the record is due to be noted in the current write turn. */
  noteDue(): boolean {
    const now = performance.now();
    if (now - this.lastNoteAt < NOTE_EVERY_MS) return false;
    this.lastNoteAt = now;
    return true;
  }

  /** Logs the progress line unless it was logged less than PROGRESS_LOG_MS before `now`. */
  log(rec: MigrationRecord, copy: CopyStream | null, now: number): void {
    if (now - this.lastLogAt < PROGRESS_LOG_MS) return;
    this.lastLogAt = now;
    this.deps.logger.info('slot migration progress', {
      id: rec.id, stage: rec.stage, keysCopied: rec.keysCopied, keysTotal: copy?.totalKeys ?? 0, bytesCopied: rec.bytesCopied,
      entriesForwarded: rec.entriesForwarded, backlogBytes: copy?.backlogBytes ?? 0, unackedBytes: copy?.unackedBytes ?? 0,
    });
  }
}
