/**
 * The write journal's INFO persistence fields, named after Redis's aof_*
 * fields so that an operator who watches aof_last_write_status or
 * aof_current_size finds the journal's equivalents. Pure: no I/O.
 */
import type { JournalStats } from './types.js';

export function journalInfoFields(s: JournalStats | null): Array<[string, string | number]> {
  if (s === null) return [['journal_enabled', 0]];
  return [
    ['journal_enabled', 1],
    // Bytes in the journal's files now: segments are deleted once SQLite holds their turns durably.
    ['journal_current_size', s.diskBytes],
    ['journal_appended_bytes', s.appendedBytes],
    ['journal_generation', s.generation],
    ['journal_pending_fsync', s.pendingSync ? 1 : 0],
    ['journal_fsyncs', s.syncs],
    ['journal_batch_commits', s.batchCommits],
    ['journal_batch_replays', s.batchReplays],
    ['journal_last_write_status', s.lastWriteStatus],
  ];
}
