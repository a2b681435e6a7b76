/**
 * The Keyspace on SQLite. Every change to the data goes through the apply
 * path at the bottom of this class (applySet / applyDelete* / applyExpiry /
 * removeAll): it assigns the write sequence (nextSeq, the only place), keeps
 * the counters, invalidates the read cache, tells onChange listeners and, if
 * one is attached, the mutation log (the replication log, called inside the
 * turn's transaction). Local writes and mutations replicated from a primary
 * (applyReplicated) share that path. Sequences are contiguous: a rolled-back
 * turn or atomically() block gives its numbers back.
 * Any failing write statement rolls the whole turn back (GroupCommit.fail).
 */
import { SLOT_COUNT, keySlot } from '../../common/slot.js';
import { ValueCodec, decodeValue } from './codec.js';
import { GroupCommit, type GroupCommitHooks } from './group-commit.js';
import { decodeScanToken, encodeScanToken, prefixUpperBound } from './prefix.js';
import { ReadCache } from './read-cache.js';
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

export interface KeyspaceEvents {
  /** A key was deleted on access because its TTL had passed (the active cycle reports its own counts). */
  onLazyExpired(key: Buffer): void;
}

export class SqliteKeyspace implements Keyspace {
  readonly commits: GroupCommit;
  private seq: number;
  private seqAtBegin: number;
  private committedSeqValue: number;
  private keyCount: number;
  private expiringCount: number;
  private keyCountAtBegin = 0;
  private expiringCountAtBegin = 0;
  private expiredKeysAtBegin = 0;
  private readonly cache: ReadCache | null;
  private readonly listeners: Array<(key: Buffer) => void> = [];
  private log: MutationLog | null = null;
  private activeExpiry = true;
  /** Nesting depth of atomically(); keys written inside are remembered for cache repair on rollback. */
  private atomicDepth = 0;
  private readonly touched: string[] = [];
  /** Keys deleted because they had expired, since open. */
  expiredKeys = 0;

  constructor(
    private readonly st: Statements,
    db: Db,
    private readonly codec: ValueCodec,
    readCache: { maxEntries: number; maxBytes: number },
    lastSeq: number,
    commitHooks: Pick<GroupCommitHooks, 'onCommit' | 'onCommitError'>,
    private readonly events: KeyspaceEvents,
    walSync: WalSyncer | null = null,
  ) {
    this.seq = lastSeq;
    this.seqAtBegin = lastSeq;
    this.committedSeqValue = lastSeq;
    this.keyCount = st.countAll.get() as number;
    this.expiringCount = st.countExpiring.get() as number;
    const cache = new ReadCache(readCache.maxEntries, readCache.maxBytes);
    this.cache = cache.enabled ? cache : null;
    this.commits = new GroupCommit(db, {
      onBegin: () => {
        this.seqAtBegin = this.seq;
        this.keyCountAtBegin = this.keyCount;
        this.expiringCountAtBegin = this.expiringCount;
        this.expiredKeysAtBegin = this.expiredKeys;
      },
      beforeCommit: () => {
        if (this.seq !== this.seqAtBegin) this.st.setLastSeq.run(this.seq);
        this.log?.beforeCommit();
      },
      onCommitted: () => {
        this.committedSeqValue = this.seq;
        this.log?.committed(this.seq);
      },
      onRolledBack: () => {
        // Nothing of the turn happened: counters and sequence back to the
        // turn's start, and the cache may hold values the turn wrote or read,
        // so drop all of it.
        this.keyCount = this.keyCountAtBegin;
        this.expiringCount = this.expiringCountAtBegin;
        this.expiredKeys = this.expiredKeysAtBegin;
        this.seq = this.seqAtBegin;
        this.cache?.clear();
        this.touched.length = 0;
        this.log?.rolledBack(this.seq);
      },
      committedSeq: () => this.committedSeqValue,
      onCommit: commitHooks.onCommit,
      onCommitError: commitHooks.onCommitError,
    }, walSync);
  }

  // ---- reads ---------------------------------------------------------------

  get(key: Buffer, now: number): Entry | null {
    let k: string | undefined;
    if (this.cache !== null) {
      k = key.toString('latin1');
      const hit = this.cache.lookup(k);
      if (hit !== undefined) {
        if (hit.expiresAt === null || hit.expiresAt > now) return hit;
        if (this.activeExpiry) this.expireLazily(key, now);
        return null;
      }
    }
    const row = this.st.getByKey.get(key) as GetRow | undefined;
    if (row === undefined) return null;
    const expiresAt = row[2];
    if (expiresAt !== null && expiresAt <= now) {
      if (this.activeExpiry) this.expireLazily(key, now);
      return null;
    }
    const entry: Entry = { value: decodeValue(row[0], row[1]), expiresAt, version: row[3] };
    if (k !== undefined) this.cache!.put(k, entry);
    return entry;
  }

  size(): number {
    return this.keyCount;
  }

  get keysWithExpiry(): number {
    return this.expiringCount;
  }

  /** The highest committed sequence. */
  get lastSeq(): number {
    return this.committedSeqValue;
  }

  /** The highest sequence assigned, including uncommitted writes of the open turn. */
  get headSeq(): number {
    return this.seq;
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
      entries.push({ key: r[0], entry: { value: decodeValue(r[1], r[2]), expiresAt: r[3], version: r[4] } });
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
    this.listeners.push(listener);
  }

  /** Attaches the replication log (one at a time; null detaches). */
  setMutationLog(log: MutationLog | null): void {
    this.log = log;
  }

  setExpiryMode(mode: ExpiryMode): void {
    this.activeExpiry = mode === 'active';
  }

  get expiryMode(): ExpiryMode {
    return this.activeExpiry ? 'active' : 'passive';
  }

  // ---- writes (public) -----------------------------------------------------

  set(key: Buffer, value: Buffer, expiresAt: number | null): number {
    return this.applySet(key, value, expiresAt);
  }

  delete(key: Buffer, now: number): boolean {
    return this.applyDeleteByKey(key, now) === 'live';
  }

  setExpiry(key: Buffer, expiresAt: number | null, now: number): boolean {
    const row = this.st.idByKey.get(key) as IdRow | undefined;
    if (row === undefined) return false;
    if (row[1] !== null && row[1] <= now) {
      if (this.activeExpiry) this.expireLazily(key, now);
      return false;
    }
    this.applyExpiry(row[0], key, row[1], expiresAt);
    return true;
  }

  /** One 'clear' mutation with one sequence (FLUSHALL / FLUSHDB). */
  clear(): void {
    this.removeAll(CLEAR);
  }

  atomically<T>(fn: () => T): T {
    this.commits.markWrite();
    const keys0 = this.keyCount;
    const expiring0 = this.expiringCount;
    const expired0 = this.expiredKeys;
    const touched0 = this.touched.length;
    const seq0 = this.seq;
    this.st.savepoint.run();
    this.atomicDepth++;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.atomicDepth--;
      this.undoAtomic(keys0, expiring0, expired0, touched0, seq0);
      throw err;
    }
    this.atomicDepth--;
    // A write inside fn may have failed and rolled back the whole turn even
    // though fn swallowed the error: then the block did not happen.
    const turnError = this.commits.turnError;
    if (turnError !== null) throw turnError;
    try {
      this.st.release.run();
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    if (this.atomicDepth === 0) this.touched.length = 0;
    return result;
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
    if (seq !== this.seq + 1) throw new SequenceGapError(this.seq + 1, seq);
    switch (m.op) {
      case 'set':
        this.applySet(m.key, m.value, m.expiresAt);
        return;
      case 'del':
        // now = -Infinity: whatever its expiry, the row counts as a plain delete.
        if (this.applyDeleteByKey(m.key, -Infinity) === 'absent') this.applyAbsent(m);
        return;
      case 'expire': {
        const row = this.st.idByKey.get(m.key) as IdRow | undefined;
        if (row === undefined) this.applyAbsent(m);
        else this.applyExpiry(row[0], m.key, row[1], m.expiresAt);
        return;
      }
      case 'clear':
        this.removeAll(m);
        return;
    }
  }

  // ---- bulk loading and slot repair (not logged, sequence unchanged) -------

  /** Full resync, step 1: deletes every row (listeners hear every key). */
  resetForLoad(): void {
    this.removeAll(null);
  }

  /** Full resync, step 2: stores rows exactly as given (already encoded), replacing rows of the same keys. */
  loadRows(rows: readonly StoredRow[]): void {
    if (rows.length === 0) return;
    this.commits.markWrite();
    try {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        this.upsert(r.key, null, r.flags, r.expiresAt, r.version, r.value);
      }
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.commits.writes += rows.length;
    for (let i = 0; i < rows.length; i++) this.changed(rows[i]!.key);
  }

  /** Full resync, step 3: the sequence the loaded rows correspond to (headSeq now, lastSeq once committed). */
  finishLoad(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`finishLoad: invalid sequence ${seq}`);
    this.commits.markWrite();
    this.seq = seq;
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
    this.commits.markWrite();
    let removed: Array<[key: Buffer, expiresAt: number | null]>;
    try {
      removed = this.st.deleteSlot.all(slot) as Array<[Buffer, number | null]>;
      for (let i = 0; i < removed.length; i++) {
        this.keyCount--;
        if (removed[i]![1] !== null) this.expiringCount--;
      }
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        this.upsert(r.key, slot, r.flags, r.expiresAt, r.version, r.value);
      }
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.commits.writes += removed.length + rows.length;
    for (let i = 0; i < removed.length; i++) this.changed(removed[i]![0]);
    for (let i = 0; i < rows.length; i++) this.changed(rows[i]!.key);
  }

  // ---- used by the active expiry cycle --------------------------------------

  /** Deletes up to `limit` keys expired at `now`, oldest expiry first. Returns how many. */
  expireBatch(now: number, limit: number): number {
    const rows = this.st.expiredBatch.all(now, limit) as Array<[number, Buffer]>;
    for (let i = 0; i < rows.length; i++) this.applyDeleteExpiredById(rows[i]![0], rows[i]![1]);
    return rows.length;
  }

  // ---- the apply path ------------------------------------------------------

  /** The next write sequence: every mutation takes exactly one, here and nowhere else. */
  private nextSeq(): number {
    return ++this.seq;
  }

  private applySet(key: Buffer, value: Buffer, expiresAt: number | null): number {
    const stored = this.codec.encode(value);
    const flags = this.codec.lastFlags;
    this.commits.markWrite();
    const version = this.nextSeq();
    try {
      this.upsert(key, null, flags, expiresAt, version, stored);
      if (this.log !== null) this.log.record({ op: 'set', key, value, expiresAt }, version);
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.commits.writes++;
    this.changed(key);
    return version;
  }

  /** 'live' if a live key was deleted, 'expired' if the key had expired, 'absent' if there was none. */
  private applyDeleteByKey(key: Buffer, now: number): 'live' | 'expired' | 'absent' {
    this.commits.markWrite();
    let expiresAt: number | null;
    try {
      const row = this.st.deleteByKey.get(key) as [number | null] | undefined;
      if (row === undefined) return 'absent';
      expiresAt = row[0];
      this.logDelete(key);
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.deleted(key, expiresAt !== null);
    if (expiresAt !== null && expiresAt <= now) {
      this.expiredKeys++;
      this.events.onLazyExpired(key);
      return 'expired';
    }
    return 'live';
  }

  private applyDeleteExpiredById(id: number, key: Buffer): void {
    this.commits.markWrite();
    try {
      this.st.deleteById.run(id);
      this.logDelete(key);
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.expiredKeys++;
    this.deleted(key, true);
  }

  /** Inside a delete's try: the delete takes the next sequence and goes to the log. */
  private logDelete(key: Buffer): void {
    const seq = this.nextSeq();
    if (this.log !== null) this.log.record({ op: 'del', key }, seq);
  }

  /** After a row was deleted (the statement and the log succeeded): counters, cache, listeners. */
  private deleted(key: Buffer, hadExpiry: boolean): void {
    this.commits.writes++;
    this.keyCount--;
    if (hadExpiry) this.expiringCount--;
    this.changed(key);
  }

  private applyExpiry(id: number, key: Buffer, oldExpiresAt: number | null, expiresAt: number | null): void {
    this.commits.markWrite();
    try {
      const version = this.nextSeq();
      this.st.updateExpiryById.run(expiresAt, version, id);
      if (this.log !== null) this.log.record({ op: 'expire', key, expiresAt }, version);
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.commits.writes++;
    if (oldExpiresAt !== null) this.expiringCount--;
    if (expiresAt !== null) this.expiringCount++;
    this.changed(key);
  }

  /** A replicated del/expire of a key this node does not have: nothing changes, but it takes its sequence. */
  private applyAbsent(m: Mutation): void {
    this.commits.markWrite();
    try {
      const seq = this.nextSeq();
      if (this.log !== null) this.log.record(m, seq);
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.commits.writes++;
  }

  /**
   * Deletes every row. `m` (a 'clear') takes a sequence and is logged; null
   * (a full resync's reset) is neither.
   */
  private removeAll(m: Mutation | null): void {
    this.commits.markWrite();
    try {
      // Listeners (WATCH) hear about every key; streamed, so FLUSHALL of a
      // large keyspace does not hold all keys in memory. Told before the
      // delete: if it fails, the turn fails and a spurious touch is harmless.
      if (this.listeners.length > 0) {
        for (const key of this.st.allKeys.iterate() as IterableIterator<Buffer>) this.notify(key);
      }
      this.st.deleteAll.run();
      if (m !== null) {
        const seq = this.nextSeq();
        if (this.log !== null) this.log.record(m, seq);
      }
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.commits.writes++;
    this.keyCount = 0;
    this.expiringCount = 0;
    this.cache?.clear();
  }

  /** Inside a write's try: inserts or updates a key's row; counters follow. */
  private upsert(key: Buffer, slot: number | null, flags: number, expiresAt: number | null, version: number, stored: Buffer): void {
    const row = this.st.idByKey.get(key) as IdRow | undefined;
    if (row === undefined) {
      this.st.insert.run(key, slot ?? keySlot(key), flags, expiresAt, version, stored);
      this.keyCount++;
    } else {
      this.st.updateById.run(flags, expiresAt, version, stored, row[0]);
      if (row[1] !== null) this.expiringCount--;
    }
    if (expiresAt !== null) this.expiringCount++;
  }

  /**
   * Deletes a key found expired on access, as an explicit delete (so replicas
   * see a delete, never a clock-based divergence). If the turn has already
   * failed the key simply stays until a later access or the active cycle.
   */
  private expireLazily(key: Buffer, now: number): void {
    try {
      this.applyDeleteByKey(key, now);
    } catch {
      /* the turn was rolled back and its clients told; the key is absent to this caller either way */
    }
  }

  private changed(key: Buffer): void {
    if (this.cache !== null) {
      const k = key.toString('latin1');
      this.cache.invalidate(k);
      if (this.atomicDepth > 0) this.touched.push(k);
    }
    this.notify(key);
  }

  private notify(key: Buffer): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!(key);
  }

  private undoAtomic(keys0: number, expiring0: number, expired0: number, touched0: number, seq0: number): void {
    if (this.commits.turnError === null) {
      try {
        this.st.rollbackTo.run();
        this.st.release.run();
      } catch (e) {
        this.commits.fail(e);
      }
    }
    if (this.commits.turnError === null) {
      this.keyCount = keys0;
      this.expiringCount = expiring0;
      this.expiredKeys = expired0;
      // The block's sequences are given back (a failed turn's rollback does that instead).
      this.seq = seq0;
      this.log?.rolledBack(seq0);
      // Reads inside the block may have cached values the block wrote.
      if (this.cache !== null) {
        for (let i = touched0; i < this.touched.length; i++) this.cache.invalidate(this.touched[i]!);
      }
    }
    // An enclosing block keeps its list (already invalidated entries are harmless).
    if (this.atomicDepth === 0) this.touched.length = 0;
  }
}

const CLEAR: Mutation = { op: 'clear' };

/** A key for an error message: short, and readable if it is text. */
function printableKey(key: Buffer): string {
  const text = JSON.stringify(key.subarray(0, 64).toString('utf8'));
  return key.length > 64 ? `${text}...` : text;
}
