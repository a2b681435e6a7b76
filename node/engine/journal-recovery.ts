/**
 * Crash recovery of the write journal, at open: the records of the
 * generation the database names (meta journal_gen) whose sequences are past
 * the database's last_seq are applied again, in order, through the path
 * replicas use for replicated mutations, and their stored batches go back
 * into the replication log table. A torn or corrupt tail of the last
 * segment (a crash mid-append: never acknowledged) is cut off and logged;
 * damage anywhere else, or a gap in the sequences, refuses to start.
 */
import fs from 'node:fs';
import { decodeBatch, type LoggedMutation } from '../replication/batch-codec.js';
import { openLogBody } from '../crypto/log-envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import { decodeRecords, type JournalRecord } from './journal-codec.js';
import { listSegments, type SegmentName } from './journal-files.js';

export class JournalCorruptError extends Error {
  constructor(readonly file: string, readonly offset: number, readonly reason: string) {
    super(`write journal ${file} is damaged at byte ${offset} (${reason}) and it is not the last segment: refusing to start (restore the data directory from a backup, or move the journal away to start without its writes)`);
    this.name = 'JournalCorruptError';
  }
}

export class JournalGapError extends Error {
  constructor(readonly file: string, readonly expected: number, readonly got: number) {
    super(`write journal ${file}: expected sequence ${expected} next, found ${got}: refusing to start (the journal does not continue the database)`);
    this.name = 'JournalGapError';
  }
}

export interface RecoveryTarget {
  /** Applies one mutation with its sequence (the replica path). */
  apply(e: LoggedMutation): void;
  /** Puts a replayed record's stored batch back into the replication log table. */
  storeLogBatch(r: JournalRecord): void;
  /** A torn tail was cut off. */
  onTruncated(file: string, offset: number, reason: string): void;
}

export interface RecoveryResult {
  readonly replayedRecords: number;
  readonly replayedMutations: number;
  readonly lastSeq: number;
}

/** Segments of generations other than `gen` (stale: already in the database). */
export function staleSegments(dir: string, gen: number): SegmentName[] {
  return listSegments(dir).filter((s) => s.gen !== gen);
}

export function recoverJournal(dir: string, gen: number, committedSeq: number, keyring: Keyring | null, target: RecoveryTarget): RecoveryResult {
  const segments = listSegments(dir).filter((s) => s.gen === gen);
  let next = committedSeq + 1;
  let replayedRecords = 0;
  let replayedMutations = 0;
  for (let i = 0; i < segments.length; i++) {
    const file = segments[i]!.file;
    const buf = fs.readFileSync(file);
    const { records, validBytes, torn } = decodeRecords(buf);
    if (torn !== null) {
      if (i !== segments.length - 1) throw new JournalCorruptError(file, torn.offset, torn.reason);
      fs.truncateSync(file, validBytes);
      target.onTruncated(file, torn.offset, torn.reason);
    }
    for (const r of records) {
      if (r.lastSeq < next) continue;
      if (r.firstSeq !== next) throw new JournalGapError(file, next, r.firstSeq);
      const entries = decodeBatch(openLogBody(keyring, r.payload, r.firstSeq));
      for (const e of entries) {
        if (e.seq !== next) throw new JournalGapError(file, next, e.seq);
        target.apply(e);
        next++;
        replayedMutations++;
      }
      if (next - 1 !== r.lastSeq) throw new JournalGapError(file, r.lastSeq + 1, next);
      target.storeLogBatch(r);
      replayedRecords++;
    }
  }
  return { replayedRecords, replayedMutations, lastSeq: next - 1 };
}
