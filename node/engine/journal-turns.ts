/**
 * Collects the mutations of the open turn for the write journal (the same
 * records the replication log stores for it) and turns them into one
 * journal record at the end of the turn. A turn that changed rows in a way
 * mutations cannot express (bulk loads, slot repair, meta rows, rewrites)
 * is marked unjournaled: it commits SQLite directly (journal-transaction.ts).
 *
 * With a replication log attached the turn is encoded once: the log hands
 * over the rows it stored for the turn (adopt), sealed as repl_log holds
 * them, and when it stored the turn as ONE row that row becomes the
 * journal's record as it is. A turn the log cut into several rows (over
 * ~1 MiB) is encoded again as one record: recovery cuts a torn tail record
 * by record, so a turn spread over several records could come back half
 * applied after a crash during its append (a MULTI/EXEC, a big MSET).
 */
import { encodeBatch, type LoggedMutation } from '../replication/batch-codec.js';
import { sealLogBody } from '../crypto/log-envelope.js';
import type { KeyringSource } from '../crypto/keyring-store.js';
import type { JournalRecord } from './journal-codec.js';
import type { Mutation } from './types.js';

export class TurnRecorder {
  private entries: LoggedMutation[] = [];
  private unjournaledTurn = false;
  /** The unjournaled turn must be on disk when it commits (everything but a snapshot load's rows). */
  private syncTurn = false;
  /** The replication log's stored rows for the turn (encoded and sealed once, for both). */
  private adopted: readonly JournalRecord[] = [];

  /** keys: encryption at rest (records are sealed as the replication log seals its batches). */
  constructor(private readonly keys: KeyringSource | null) {}

  /** migration: a slot migration's write, marked in the record as the replication log marks it (recovery restores the mark). */
  record(m: Mutation, seq: number, migration = false): void {
    this.entries.push(migration ? { seq, m, migration: true } : { seq, m });
  }

  /** Mutations with seq > toSeq were undone (an atomically() block). */
  rolledBack(toSeq: number): void {
    const e = this.entries;
    if (e.length > 0 && e[e.length - 1]!.seq > toSeq) this.entries = e.filter((x) => x.seq <= toSeq);
  }

  /**
   * The turn commits SQLite directly. `sync` false: its commit need not be
   * on disk at once, because a crash discards what it wrote anyway (the rows
   * of a full resync's snapshot: the loading flag, committed and synced
   * before them, makes the next start drop a partial load, and the turn that
   * clears the flag is synced). SQLite's WAL keeps commits in order, so a
   * later synced commit makes these durable too.
   */
  markUnjournaled(sync = true): void {
    this.unjournaledTurn = true;
    if (sync) this.syncTurn = true;
  }

  get unjournaled(): boolean {
    return this.unjournaledTurn;
  }

  /** The unjournaled turn's commit must be fdatasynced before it counts as done. */
  get unjournaledNeedsSync(): boolean {
    return this.unjournaledTurn && this.syncTurn;
  }

  /**
   * The replication log's rows for the turn, just before it ends (the log
   * wrote them in beforeCommit): take() uses them instead of encoding the
   * turn again when they cover exactly the recorded sequences.
   */
  adopt(rows: readonly JournalRecord[]): void {
    this.adopted = rows;
  }

  /** Forgets the turn (rolled back, or committed without the journal). */
  discard(): void {
    this.entries = [];
    this.adopted = [];
    this.unjournaledTurn = false;
    this.syncTurn = false;
  }

  /** The turn's record (the log's row, or its own encoding), empty if it changed nothing the journal holds; resets for the next turn. */
  take(): readonly JournalRecord[] {
    const e = this.entries;
    const rows = this.adopted;
    this.discard();
    if (e.length === 0) return [];
    const firstSeq = e[0]!.seq;
    const lastSeq = e[e.length - 1]!.seq;
    // One record per turn, always: a turn is all or nothing after a crash.
    if (rows.length === 1 && coversExactly(rows, firstSeq, lastSeq)) return rows;
    const body = encodeBatch(e);
    return [{ firstSeq, lastSeq, payload: this.keys === null ? body : sealLogBody(this.keys.current, body, firstSeq) }];
  }
}

/** True when `rows` are contiguous and hold exactly firstSeq..lastSeq (the log stored the same mutations). */
function coversExactly(rows: readonly JournalRecord[], firstSeq: number, lastSeq: number): boolean {
  if (rows.length === 0 || rows[0]!.firstSeq !== firstSeq || rows[rows.length - 1]!.lastSeq !== lastSeq) return false;
  for (let i = 1; i < rows.length; i++) if (rows[i]!.firstSeq !== rows[i - 1]!.lastSeq + 1) return false;
  return true;
}
