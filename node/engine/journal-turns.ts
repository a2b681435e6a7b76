/**
 * Collects the mutations of the open turn for the write journal (the same
 * records the replication log stores for it) and turns them into one
 * journal record at the end of the turn. A turn that changed rows in a way
 * mutations cannot express (bulk loads, slot repair, meta rows, rewrites)
 * is marked unjournaled: it commits SQLite directly (journal-transaction.ts).
 */
import { encodeBatch, type LoggedMutation } from '../replication/batch-codec.js';
import { sealLogBody } from '../crypto/log-envelope.js';
import type { KeyringSource } from '../crypto/keyring-store.js';
import type { JournalRecord } from './journal-codec.js';
import type { Mutation } from './types.js';

export class TurnRecorder {
  private entries: LoggedMutation[] = [];
  private unjournaledTurn = false;

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

  markUnjournaled(): void {
    this.unjournaledTurn = true;
  }

  get unjournaled(): boolean {
    return this.unjournaledTurn;
  }

  /** Forgets the turn (rolled back, or committed without the journal). */
  discard(): void {
    this.entries = [];
    this.unjournaledTurn = false;
  }

  /** The turn's record, or null if it changed nothing the journal holds; resets for the next turn. */
  take(): JournalRecord | null {
    const e = this.entries;
    this.discard();
    if (e.length === 0) return null;
    const firstSeq = e[0]!.seq;
    const body = encodeBatch(e);
    return { firstSeq, lastSeq: e[e.length - 1]!.seq, payload: this.keys === null ? body : sealLogBody(this.keys.current, body, firstSeq) };
  }
}
