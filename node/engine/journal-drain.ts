/**
 * Replaying the write journal into the keyspace at open, shared by the two
 * ways a node opens a data directory:
 *
 * - with the journal on (journal-open.ts recover): then the journal goes on;
 * - with --write-journal no (drainJournal): a journal left by a crash while
 *   it was on holds acknowledged turns SQLite never committed. They are
 *   replayed and committed (WAL fdatasynced) before anything is served, and
 *   only then are the journal files deleted: the node runs without the
 *   journal from there and no acknowledged write is lost by the switch.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Keyring } from '../crypto/keyring.js';
import type { LoggedMutation } from '../replication/batch-codec.js';
import type { Db } from './database.js';
import { JOURNAL_DIR, listSegments } from './journal-files.js';
import { recoverJournal, staleSegments, type RecoveryResult } from './journal-recovery.js';
import type { SqliteKeyspace } from './keyspace.js';
import type { Statements } from './statements.js';
import type { EngineHooks } from './types.js';
import { WalSync } from './wal-sync.js';

/** meta row naming the journal generation recovery reads. */
export const JOURNAL_GEN_META = 'journal_gen';

/** The generation meta names (0 when the data directory never had the journal). */
export function storedGeneration(st: Statements): number {
  const stored = st.getMeta.get(JOURNAL_GEN_META);
  return typeof stored === 'number' && Number.isSafeInteger(stored) && stored >= 0 ? stored : 0;
}

/**
 * Applies the records of generation `gen` past `committedSeq` (one turn for
 * the whole replay, not committed here) and puts their stored batches back
 * into repl_log; older generations' segments are deleted first (SQLite holds
 * them). Throws JournalCorruptError/JournalGapError (refuse to start).
 */
export function replayJournal(dir: string, gen: number, db: Db, ks: SqliteKeyspace, committedSeq: number, keyring: Keyring | null, hooks: EngineHooks): RecoveryResult {
  for (const s of staleSegments(dir, gen)) fs.rmSync(s.file, { force: true });
  return reapplyJournal(dir, gen, db, committedSeq, keyring, (e) => ks.applyReplicated(e.m, e.seq), (file, offset, reason) => hooks.onJournalEvent?.('truncated', { file, offset, reason }));
}

/**
 * The records of generation `gen` past `fromSeq`, applied in order by
 * `apply`, their stored batches put back into repl_log (when the table
 * exists): at open (replayJournal), and after the batch transaction was
 * rolled back for a failed turn (journal-transaction.ts), when the batch's
 * earlier turns are in the journal and no longer in SQLite.
 */
export function reapplyJournal(
  dir: string, gen: number, db: Db, fromSeq: number, keyring: Keyring | null,
  apply: (e: LoggedMutation) => void, onTruncated: (file: string, offset: number, reason: string) => void,
): RecoveryResult {
  const logExists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'repl_log'").get() !== undefined;
  const insertLog = logExists ? db.prepare('INSERT OR REPLACE INTO repl_log (first_seq, last_seq, body, committed_at) VALUES (?, ?, ?, ?)') : null;
  return recoverJournal(dir, gen, fromSeq, keyring, {
    apply,
    storeLogBatch: (rec) => insertLog?.run(rec.firstSeq, rec.lastSeq, rec.payload, Date.now()),
    onTruncated,
  });
}

/**
 * --write-journal no: replays what a journal left behind, commits it with
 * the WAL fdatasynced, then deletes the journal. Returns null (and touches
 * nothing) when the data directory has no journal segments.
 */
export function drainJournal(dataDir: string, db: Db, st: Statements, ks: SqliteKeyspace, committedSeq: number, keyring: Keyring | null, walFile: string, hooks: EngineHooks): RecoveryResult | null {
  const dir = path.join(dataDir, JOURNAL_DIR);
  if (listSegments(dir).length === 0) return null;
  const r = replayJournal(dir, storedGeneration(st), db, ks, committedSeq, keyring, hooks);
  if (ks.commits.pending) ks.commits.flushNow();
  // The replayed turns must be durable in SQLite before their only other copy goes.
  const wal = new WalSync(walFile);
  try {
    if (fs.existsSync(walFile)) wal.syncNow();
  } finally {
    wal.close();
  }
  for (const seg of listSegments(dir)) fs.rmSync(seg.file, { force: true });
  hooks.onJournalEvent?.('drained', { records: r.replayedRecords, mutations: r.replayedMutations, lastSeq: r.lastSeq, fromSeq: committedSeq });
  return r;
}
