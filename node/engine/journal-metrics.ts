/**
 * The write journal's metrics and log lines (--write-journal yes): bytes on
 * disk, bytes appended, fdatasyncs and SQLite batch commits, read from the
 * journal's counters at scrape time (nothing on the write path).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../common/logger.js';
import type { EngineHooks } from './types.js';
import type { JournalStats } from './types.js';

export function registerJournalMetrics(registry: Registry, stats: () => JournalStats | null): void {
  if (stats() === null) return;
  new Gauge({
    name: 'irisdb_journal_bytes',
    help: 'Bytes in the write journal files (segments not yet trimmed behind a durable SQLite commit)',
    registers: [registry],
    collect() {
      this.set(stats()?.diskBytes ?? 0);
    },
  });
  const counter = (name: string, help: string, read: (s: JournalStats) => number): void => {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read(stats() ?? ({ appendedBytes: 0, diskBytes: 0, syncs: 0, batchCommits: 0, batchReplays: 0, generation: 0, pendingSync: false, lastWriteStatus: 'ok' }));
        if (v > last) this.inc(v - last);
        last = v;
      },
    });
  };
  counter('irisdb_journal_appended_bytes_total', 'Bytes appended to the write journal', (s) => s.appendedBytes);
  counter('irisdb_journal_syncs_total', 'fdatasyncs of the write journal (each acknowledges every turn appended before it)', (s) => s.syncs);
  counter('irisdb_journal_batch_commits_total', 'SQLite commits of a batch of journaled turns', (s) => s.batchCommits);
  counter('irisdb_journal_batch_replays_total', 'SQLite batches rolled back for a failed turn and applied again from the write journal', (s) => s.batchReplays);
}

/** Logs the journal's events: errors, a torn tail cut off at start, what recovery replayed. */
export function journalEventLogger(logger: Logger): NonNullable<EngineHooks['onJournalEvent']> {
  return (what, detail) => {
    if (what === 'error') logger.error('write journal failed', detail);
    else if (what === 'drained') logger.warn('write journal: started with --write-journal no on a data directory with a write journal; replayed the turns SQLite had not committed and removed the journal', detail);
    else if (what === 'batch-replayed') logger.warn('write journal: a failed turn rolled the SQLite batch back; the batch\'s earlier turns were applied again from the journal', detail);
    else if (what === 'truncated') logger.warn('write journal: cut off a torn record at the end (a crash mid-append; that turn was never acknowledged)', detail);
    else if (Number(detail.records) > 0) logger.info('write journal: replayed the turns SQLite had not committed', detail);
  };
}
