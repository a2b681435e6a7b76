/**
 * The Keyspace on SQLite: reads (through the read cache), scans, lazy expiry
 * on access, and the public write API. Every change to the data goes through
 * the apply path (apply-path.ts), which assigns the write sequences and keeps
 * the counters, the cache, the listeners and the mutation log in step. Local
 * writes and mutations replicated from a primary (applyReplicated) share it.
 */
import { SLOT_COUNT, keySlot } from '../../common/slot.js';
import type { ValueCodec } from './codec.js';
import type { GroupCommit, GroupCommitHooks } from './group-commit.js';
import { ApplyPath, type JournalParts, type KeyspaceEvents } from './apply-path.js';
import { decodeScanToken, encodeScanToken, prefixUpperBound } from './prefix.js';
import { ReadCache } from './read-cache.js';
import type { BatchReplayTarget } from './journal-transaction.js';
import type { WalSyncer } from './wal-sync.js';
import type { Statements } from './statements.js';
import type { Db } from './database.js';
import type { Entry, Keyspace, Mutation, MutationLog, PrefixScanPage, ScanPage, StoredRow } from './types.js';

/**
 * 'active': an expired key found on access is deleted (and that delete is
 * logged). 'passive' (replicas): it only reads as absent; rows go away when
 * the primary's delete arrives, so replicas never diverge by clock.
 */
export type ExpiryMode = 'active' | 'passive';

/** A replicated mutation did not carry the next sequence: the stream has a gap or a repeat. */
export class SequenceGapError extends Error {
  constructor(readonly expected: number, readonly got: number) {
    super(`replicated mutation out of order: expected sequence ${expected}, got ${got}`);
    this.name = 'SequenceGapError';
  }
}

/** SQLite rowids are signed 64-bit: a larger SCAN cursor cannot point at a row. */
const MAX_ROWID = 0x7fffffffffffffffn;

type GetRow = [value: Buffer, flags: number, expiresAt: number | null, version: number];
type IdRow = [id: number, expiresAt: number | null];
type ScanRow = [id: number, key: Buffer, expiresAt: number | null];
type PrefixRow = [key: Buffer, value: Buffer, flags: number, expiresAt: number | null, version: number];

export class SqliteKeyspace implements Keyspace {
  readonly commits: GroupCommit;
  private readonly cache: ReadCache | null;
  private readonly apply: ApplyPath;
  private activeExpiry = true;
  private asGivenLoads = 0;
  private readonly cacheAbsent: boolean;

  constructor(
    private readonly st: Statements,
    db: Db,
    private readonly codec: ValueCodec,
    /** absentKeys (default true): also cache keys found absent (negative entries). */
    readCache: { maxEntries: number; maxBytes: number; absentKeys?: boolean },
    lastSeq: number,
    commitHooks: Pick<GroupCommitHooks, 'onCommit' | 'onCommitError'>,
    events: KeyspaceEvents,
    walSync: WalSyncer | null = null,
    journal: JournalParts | null = null,
  ) {
    const cache = new ReadCache(readCache.maxEntries, readCache.maxBytes);
    this.cache = cache.enabled ? cache : null;
    this.cacheAbsent = readCache.absentKeys ?? true;
    this.apply = new ApplyPath(st, db, codec, this.cache, lastSeq, commitHooks, events, walSync, journal);
    this.commits = this.apply.commits;
  }

  // ---- reads ---------------------------------------------------------------

  get(key: Buffer, now: number): Entry | null {
    const cache = this.cache;
    if (cache !== null) {
      const hit = cache.lookup(key);
      if (hit === null) return null; // known absent
      if (hit !== undefined) {
        if (hit.expiresAt === null || hit.expiresAt > now) return hit;
        if (this.activeExpiry) this.expireLazily(key, now);
        return null;
      }
    }
    const row = this.st.getByKey.get(key) as GetRow | undefined;
    if (row === undefined) {
      if (cache !== null && this.cacheAbsent) cache.put(key, null);
      return null;
    }
    const expiresAt = row[2];
    if (expiresAt !== null && expiresAt <= now) {
      if (this.activeExpiry) this.expireLazily(key, now);
      return null;
    }
    const entry: Entry = { value: this.codec.decode(row[0], row[1], key), expiresAt, version: row[3] };
    if (cache !== null) cache.put(key, entry);
    return entry;
  }

  /** A stored row's value (migration, digests): decompressed and decrypted with this node's keyring. */
  decodeStored(key: Buffer, stored: Buffer, flags: number): Buffer {
    return this.codec.decode(stored, flags, key);
  }

  /** Rewrites stored bytes in the current turn, unlogged and invisible to readers (apply-path.ts rewriteStored). */
  rewriteStored<T>(statements: () => T): T {
    return this.apply.rewriteStored(statements);
  }

  /** The open turn changes rows the write journal cannot hold (meta rows): it commits SQLite directly. */
  markUnjournaled(): void {
    this.apply.markUnjournaled();
  }

  /** How values are stored (the re-encrypt job re-seals rows with it). */
  get valueCodec(): ValueCodec {
    return this.codec;
  }

  size(): number {
    return this.apply.keyCount;
  }

  get keysWithExpiry(): number {
    return this.apply.expiringCount;
  }

  /** Keys deleted because they had expired, since open. */
  get expiredKeys(): number {
    return this.apply.expiredKeys;
  }

  /** The highest committed sequence. */
  get lastSeq(): number {
    return this.apply.committedSeq;
  }

  /** The highest sequence assigned, including uncommitted writes of the open turn. */
  get headSeq(): number {
    return this.apply.headSeq;
  }

  get cacheHits(): number {
    return this.cache?.hits ?? 0;
  }

  get cacheMisses(): number {
    return this.cache?.misses ?? 0;
  }

  /** The read cache, for tests and introspection (null when disabled). */
  get readCache(): ReadCache | null {
    return this.cache;
  }

  scan(cursor: bigint, count: number, now: number, match?: (key: Buffer) => boolean): ScanPage {
    if (cursor < 0n) throw new RangeError('invalid cursor');
    if (cursor >= MAX_ROWID) return { cursor: 0n, keys: [] };
    const limit = count >= 1 ? Math.floor(count) : 1;
    const rows = this.st.scanAfterId.all(cursor, limit) as ScanRow[];
    const keys: Buffer[] = [];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r[2] !== null && r[2] <= now) continue;
      if (match !== undefined && !match(r[1])) continue;
      keys.push(r[1]);
    }
    const next = rows.length < limit ? 0n : BigInt(rows[rows.length - 1]![0]);
    return { cursor: next, keys };
  }

  scanPrefix(prefix: Buffer, after: string | null, limit: number, now: number): PrefixScanPage {
    const n = limit >= 1 ? Math.floor(limit) : 1;
    const upper = prefixUpperBound(prefix);
    let from = prefix;
    let exclusive = false;
    if (after !== null) {
      const last = decodeScanToken(after);
      if (Buffer.compare(last, prefix) >= 0) {
        from = last;
        exclusive = true;
      }
    }
    let rows: PrefixRow[];
    if (upper === null) {
      rows = (exclusive ? this.st.prefixAfter : this.st.prefixFrom).all(from, n) as PrefixRow[];
    } else {
      rows = (exclusive ? this.st.prefixAfterTo : this.st.prefixFromTo).all(from, upper, n) as PrefixRow[];
    }
    const entries: Array<{ key: Buffer; entry: Entry }> = [];
    for (const r of rows) {
      if (r[3] !== null && r[3] <= now) continue;
      entries.push({ key: r[0], entry: { value: this.codec.decode(r[1], r[2], r[0]), expiresAt: r[3], version: r[4] } });
    }
    const next = rows.length === n ? encodeScanToken(rows[rows.length - 1]![0]) : null;
    return { entries, next };
  }

  countInSlot(slot: number, now: number): number {
    return this.st.countLiveInSlot.get(slot, now) as number;
  }

  keysInSlot(slot: number, count: number, now: number): Buffer[] {
    if (count < 1) return [];
    return this.st.liveKeysInSlot.all(slot, now, Math.floor(count)) as Buffer[];
  }

  onChange(listener: (key: Buffer) => void): void {
    this.apply.onChange(listener);
  }

  onExpired(listener: (key: Buffer) => void): void {
    this.apply.onExpired(listener);
  }

  /** Attaches the replication log (one at a time; null detaches). */
  setMutationLog(log: MutationLog | null): void {
    this.apply.setMutationLog(log);
  }

  setExpiryMode(mode: ExpiryMode): void {
    this.activeExpiry = mode === 'active';
  }

  get expiryMode(): ExpiryMode {
    return this.activeExpiry ? 'active' : 'passive';
  }

  // ---- writes (public) -----------------------------------------------------

  set(key: Buffer, value: Buffer, expiresAt: number | null): number {
    return this.apply.set(key, value, expiresAt);
  }

  delete(key: Buffer, now: number): boolean {
    return this.apply.deleteByKey(key, now) === 'live';
  }

  setExpiry(key: Buffer, expiresAt: number | null, now: number): boolean {
    const row = this.st.idByKey.get(key) as IdRow | undefined;
    if (row === undefined) return false;
    if (row[1] !== null && row[1] <= now) {
      if (this.activeExpiry) this.expireLazily(key, now);
      return false;
    }
    this.apply.setExpiry(row[0], key, row[1], expiresAt);
    return true;
  }

  /** One 'clear' mutation with one sequence (FLUSHALL / FLUSHDB). */
  clear(): void {
    this.apply.removeAll(CLEAR);
  }

  atomically<T>(fn: () => T): T {
    return this.apply.atomically(fn);
  }

  /** Rows-only replay of the write journal's batch after a failed turn (journal-transaction.ts). */
  get batchReplay(): BatchReplayTarget {
    return this.apply;
  }

  // ---- replication ---------------------------------------------------------

  /**
   * Applies a mutation received from the primary, which must carry the next
   * sequence (SequenceGapError otherwise; nothing changes). Unlike a local
   * write it ignores expiry (a set or expire hits an expired row as any
   * other, a del removes it) and a del/expire of an absent key still takes
   * its sequence, so this node's log stays the primary's log.
   */
  applyReplicated(m: Mutation, seq: number): void {
    // A failed turn surfaces its own error rather than a gap its rollback made.
    this.commits.markWrite();
    const expected = this.apply.headSeq + 1;
    if (seq !== expected) throw new SequenceGapError(expected, seq);
    switch (m.op) {
      case 'set':
        this.apply.set(m.key, m.value, m.expiresAt);
        return;
      case 'del':
        // now = -Infinity: whatever its expiry, the row counts as a plain delete.
        if (this.apply.deleteByKey(m.key, -Infinity) === 'absent') this.apply.absent(m);
        return;
      case 'expire': {
        const row = this.st.idByKey.get(m.key) as IdRow | undefined;
        if (row === undefined) this.apply.absent(m);
        else this.apply.setExpiry(row[0], m.key, row[1], m.expiresAt);
        return;
      }
      case 'clear':
        this.apply.removeAll(m);
        return;
    }
  }

  // ---- bulk loading and slot repair (not logged, sequence unchanged) -------

  /**
   * Loads of rows stored as given (full resync, slot repair): they keep the
   * sender's encoding and may take row ids behind a walk by id in progress
   * (the re-encrypt job starts another pass when this moved).
   */
  get storedAsGivenLoads(): number {
    return this.asGivenLoads;
  }

  /** Full resync, step 1: deletes every row (listeners hear every key). */
  resetForLoad(): void {
    this.asGivenLoads++;
    this.apply.removeAll(null);
  }

  /** Full resync, step 2: stores rows exactly as given (already encoded), replacing rows of the same keys. */
  loadRows(rows: readonly StoredRow[]): void {
    this.asGivenLoads++;
    this.apply.loadRows(rows);
  }

  /** Full resync, step 3: the sequence the loaded rows correspond to (headSeq now, lastSeq once committed). */
  finishLoad(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`finishLoad: invalid sequence ${seq}`);
    this.apply.finishLoad(seq);
  }

  /**
   * Slot repair: the slot's rows become exactly `rows` (stored as given).
   * Every row must hash to `slot` (RangeError before anything changes).
   */
  replaceSlot(slot: number, rows: readonly StoredRow[]): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) {
      throw new RangeError(`replaceSlot: slot ${slot} is out of range 0..${SLOT_COUNT - 1}`);
    }
    for (const r of rows) {
      const s = keySlot(r.key);
      if (s !== slot) throw new RangeError(`replaceSlot: key ${printableKey(r.key)} hashes to slot ${s}, not ${slot}`);
    }
    this.asGivenLoads++;
    this.apply.replaceSlot(slot, rows);
  }

  // ---- used by the active expiry cycle --------------------------------------

  /** Deletes up to `limit` keys expired at `now`, oldest expiry first. Returns how many. */
  expireBatch(now: number, limit: number): number {
    const rows = this.st.expiredBatch.all(now, limit) as Array<[number, Buffer]>;
    for (let i = 0; i < rows.length; i++) this.apply.deleteExpiredById(rows[i]![0], rows[i]![1]);
    return rows.length;
  }

  /**
   * Deletes a key found expired on access, as an explicit delete (so replicas
   * see a delete, never a clock-based divergence). If the turn has already
   * failed the key simply stays until a later access or the active cycle.
   */
  private expireLazily(key: Buffer, now: number): void {
    try {
      this.apply.deleteByKey(key, now);
    } catch {
      /* the turn was rolled back and its clients told; the key is absent to this caller either way */
    }
  }
}

const CLEAR: Mutation = { op: 'clear' };

/** A key for an error message: short, and readable if it is text. */
function printableKey(key: Buffer): string {
  const text = JSON.stringify(key.subarray(0, 64).toString('utf8'));
  return key.length > 64 ? `${text}...` : text;
}
