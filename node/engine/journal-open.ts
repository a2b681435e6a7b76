/**
 * Assembles the write journal of an engine (--write-journal yes): the
 * files, the turn recorder, the batch transaction, the once-a-second sync
 * of fsync batch, and recovery at open (journal-recovery.ts).
 */
import path from 'node:path';
import type { Db } from './database.js';
import type { JournalParts } from './apply-path.js';
import { JOURNAL_DIR, JournalWriter, listSegments } from './journal-files.js';
import type { RecoveryResult } from './journal-recovery.js';
import { JOURNAL_GEN_META, reapplyJournal, replayJournal, storedGeneration } from './journal-drain.js';
import { JournalTransaction, type BatchReplayTarget } from './journal-transaction.js';
import { TurnRecorder } from './journal-turns.js';
import type { SqliteKeyspace } from './keyspace.js';
import type { Statements } from './statements.js';
import type { EngineHooks, EngineOptions, JournalStats } from './types.js';
import { WalSync, type WalSyncer } from './wal-sync.js';
import fs from 'node:fs';

/** Defaults of the batch bounds and the segment size. */
export const DEFAULT_JOURNAL_MAX_TURNS = 10000;
export const DEFAULT_JOURNAL_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_JOURNAL_SEGMENT_BYTES = 64 * 1024 * 1024;
/** fsync batch: how often the journal is synced. */
const BATCH_SYNC_MS = 1000;

export type { JournalStats } from './types.js';

export interface EngineJournal {
  readonly parts: JournalParts;
  /** Replays the journal past `committedSeq` into the keyspace, commits, syncs and starts the next generation. */
  recover(ks: SqliteKeyspace, committedSeq: number): RecoveryResult;
  commitNow(): void;
  /** Set once SQLite lost the open batch: the node refuses everything until restarted (recovery replays the journal). */
  readonly broken: Error | null;
  stats(): JournalStats;
  close(): void;
}

export function openJournal(
  db: Db,
  st: Statements,
  opts: EngineOptions,
  walSync: WalSyncer | null,
  walFile: string,
  headSeq: () => number,
  hooks: EngineHooks,
  /** Where a failed turn's batch replay writes its rows (the apply path; read once a turn fails). */
  replayTarget: () => BatchReplayTarget,
): EngineJournal {
  const j = opts.journal!;
  const dir = path.join(opts.dataDir, JOURNAL_DIR);
  const gen = storedGeneration(st);
  const writer = new JournalWriter(dir, gen, j.segmentBytes ?? DEFAULT_JOURNAL_SEGMENT_BYTES);
  const recorder = new TurnRecorder(opts.encryption ?? null);
  const trimSync = walSync ?? new WalSync(walFile);
  const onError = (err: Error): void => hooks.onJournalEvent?.('error', { error: err.message });
  const tx = new JournalTransaction({
    db,
    writer,
    recorder,
    walSync: trimSync,
    settings: {
      commitMs: j.commitMs, maxTurns: j.maxTurns ?? DEFAULT_JOURNAL_MAX_TURNS, maxBytes: j.maxBytes ?? DEFAULT_JOURNAL_MAX_BYTES,
      ...(j.commitTargetMs !== undefined ? { commitTargetMs: j.commitTargetMs } : {}), ...(j.commitTargetDense !== undefined ? { commitTargetDense: j.commitTargetDense } : {}),
      ...(j.minBatchBytes !== undefined ? { minBytes: j.minBatchBytes } : {}),
    },
    headSeq,
    setGeneration: (g) => st.putMeta.run(JOURNAL_GEN_META, g),
    replayBatch: (fromSeq) => {
      const target = replayTarget();
      const r = reapplyJournal(dir, writer.generation, db, fromSeq, opts.encryption?.current ?? null, (e) => target.replayRows(e.m, e.seq), (file, offset, reason) => {
        // The writer cuts off a failed append itself: a torn record in the live segment is damage.
        throw new Error(`write journal ${file} is torn at byte ${offset} (${reason}) while the node runs`);
      });
      target.replayEnded(r.lastSeq);
      hooks.onJournalEvent?.('batch-replayed', { records: r.replayedRecords, mutations: r.replayedMutations, fromSeq, lastSeq: r.lastSeq });
    },
    onBatchCommit: (seconds, turns) => hooks.onJournalBatchCommit?.(seconds, turns),
    onError,
  });
  let batchTimer: NodeJS.Timeout | null = null;
  if (opts.fsync === 'batch') {
    // Replies do not wait for the journal's sync; it runs about once a second, as the WAL's did.
    batchTimer = setInterval(() => {
      if (!writer.dirty) return;
      writer.sync((err) => {
        if (err !== null) onError(err);
      });
    }, BATCH_SYNC_MS);
    batchTimer.unref();
  }
  return {
    parts: { tx, recorder, syncer: opts.fsync === 'always' ? writer : null },
    recover(ks, committedSeq) {
      // One turn for the whole replay, committed directly (next generation, WAL synced) before anything is served.
      const r = replayJournal(dir, gen, db, ks, committedSeq, opts.encryption?.current ?? null, hooks);
      if (r.replayedMutations > 0) {
        ks.markUnjournaled();
        ks.commits.flushNow();
      } else {
        // Nothing to replay: no commit either (callers count commits). Every record is at or
        // below the database's sequence; once its WAL is on disk the segments can go.
        if (ks.commits.pending) ks.commits.flushNow();
        trimSync.syncNow();
        for (const seg of listSegments(dir)) fs.rmSync(seg.file, { force: true });
        writer.startGeneration(gen);
      }
      hooks.onJournalEvent?.('recovered', { records: r.replayedRecords, mutations: r.replayedMutations, lastSeq: r.lastSeq, fromSeq: committedSeq });
      return r;
    },
    commitNow: () => tx.commitNow(),
    get broken() {
      return tx.broken;
    },
    stats: () => ({
      appendedBytes: writer.appendedBytes,
      diskBytes: writer.diskBytes,
      syncs: writer.syncs,
      batchCommits: tx.batchCommits,
      batchReplays: tx.replays,
      generation: writer.generation,
      pendingSync: writer.dirty,
      lastWriteStatus: tx.broken !== null || writer.lastWriteFailed ? 'err' : 'ok',
    }),
    close() {
      if (batchTimer !== null) clearInterval(batchTimer);
      tx.close();
      writer.close();
      if (trimSync !== walSync) trimSync.close();
    },
  };
}
