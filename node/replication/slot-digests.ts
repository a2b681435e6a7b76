/**
 * Slot digests and slot rows read from a node's kv table (the consistency
 * check and its repair path). Values are decoded before hashing, so two nodes
 * with different compression settings still agree. Expired rows that are
 * still present count too: primary and replica are compared at the same
 * sequence, where both hold the same rows whatever their clocks say.
 *
 * computeSlotDigests runs synchronously on the connection it is given (rows
 * written in an open, uncommitted turn on it are included): fine for a few
 * slots, a stall of seconds for a million keys. startSlotDigests is what the
 * node uses for every slot: a read transaction on a second, read-only
 * connection (ReadTransaction) fixes the snapshot and its sequence the
 * moment it starts, then the rows are hashed a time-bounded slice per
 * event-loop turn while the node keeps serving and committing on its own
 * connection; the result is the digest of exactly that snapshot.
 */
import type { SlotDigest } from '../../common/replication.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { decodeValue } from '../engine/codec.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Db } from '../engine/database.js';
import type { StoredRow } from '../engine/types.js';
import { runInSlices } from '../engine/stall-slices.js';
import { DigestAccumulator, type SlotDigestTable } from './digest.js';
import type { ReplicationMetrics } from './metrics.js';
import { ReadTransaction } from './snapshot.js';

type DigestRow = [slot: number, key: Buffer, value: Buffer, flags: number, expiresAt: number | null];
type KvRow = [key: Buffer, flags: number, expiresAt: number | null, version: number, value: Buffer];

/** Digests of every non-empty slot, or only of `slots` (through the kv_slot index), ascending. */
export function computeSlotDigests(db: Db, slots?: readonly number[], keyring: Keyring | null = null): SlotDigest[] {
  const acc = new DigestAccumulator();
  // Digests cover the client's values: encrypted rows (random nonces) are decrypted first.
  const add = (row: DigestRow): void => acc.add(row[0], row[1], decodeValue(row[2], row[3], row[1], keyring), row[4]);
  if (slots === undefined) {
    // iterate(): one row at a time, never the whole table in memory.
    const all = db.prepare('SELECT slot, key, value, flags, expires_at FROM kv').raw(true);
    for (const row of all.iterate() as IterableIterator<DigestRow>) add(row);
  } else {
    const one = db.prepare('SELECT slot, key, value, flags, expires_at FROM kv WHERE slot = ?').raw(true);
    for (const slot of new Set(slots)) {
      checkSlot(slot);
      for (const row of one.iterate(slot) as IterableIterator<DigestRow>) add(row);
    }
  }
  return acc.result();
}

/** Rows hashed between two reads of the clock. */
const DIGEST_STEP_ROWS = 256;

export interface SlotDigestJob {
  /** The committed sequence of the snapshot being digested (fixed when the job starts). */
  readonly seq: number;
  /** Every slot's digest of the snapshot, by slot (digestsFromTable gives the objects). */
  readonly result: Promise<SlotDigestTable>;
}

export interface SlotDigestJobOptions {
  /** Longest time the job holds the event loop at once, ms. */
  readonly sliceMs: number;
  /** Rows hashed so far, after every slice. */
  readonly onProgress?: (rows: number) => void;
  /** Decrypts encrypted rows (encryption at rest); null: the node stores values in clear. */
  readonly keyring?: Keyring | null;
}

/**
 * Digests every slot of the database file `file` as of now, incrementally.
 * The snapshot is taken synchronously, before this returns: call it when no
 * write turn is open on the node's connection and `seq` is exactly the
 * node's committed sequence.
 */
export function startSlotDigests(file: string, opts: SlotDigestJobOptions): SlotDigestJob {
  const tx = new ReadTransaction(file);
  // One iterator over the snapshot, held open across slices (only this job uses the connection).
  // No COUNT(*) up front: on a cold connection it alone holds the loop ~50 ms per 200k rows.
  const rows = tx.setUp((db) => db.prepare('SELECT slot, key, value, flags, expires_at FROM kv').raw(true).iterate() as IterableIterator<DigestRow>);
  const acc = new DigestAccumulator();
  const step = (max: number): number => {
    let n = 0;
    while (n < max) {
      const next = rows.next();
      if (next.done === true) break;
      const row = next.value;
      acc.add(row[0], row[1], decodeValue(row[2], row[3], row[1], opts.keyring ?? null), row[4]);
      n++;
    }
    return n;
  };
  const result = (async () => {
    try {
      await runInSlices(step, { sliceMs: opts.sliceMs, stepSize: DIGEST_STEP_ROWS, onSlice: opts.onProgress });
      return acc.table();
    } finally {
      rows.return?.();
      tx.close();
    }
  })();
  return { seq: tx.seq, result };
}

/** An onProgress that advances irisdb_digest_rows_total by the rows of each slice. */
export function digestProgress(metrics: Pick<ReplicationMetrics, 'digestRows'>): (rows: number) => void {
  let reported = 0;
  return (rows) => {
    metrics.digestRows.inc(rows - reported);
    reported = rows;
  };
}

/** The stored rows of one slot, as stored (value possibly compressed, per flags), for repair. */
export function readSlotRows(db: Db, slot: number): StoredRow[] {
  checkSlot(slot);
  const rows = db.prepare('SELECT key, flags, expires_at, version, value FROM kv WHERE slot = ?').raw(true).all(slot) as KvRow[];
  return rows.map(([key, flags, expiresAt, version, value]) => ({ key, flags, expiresAt, version, value }));
}

function checkSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) throw new RangeError(`slot ${slot} is not in 0..${SLOT_COUNT - 1}`);
}
