/**
 * The Keyspace on SQLite. Every change to the data goes through the apply
 * path at the bottom of this class (applySet / applyDelete* / applyExpiry /
 * clear): it assigns the write sequence, keeps the counters, invalidates the
 * read cache, tells onChange listeners and, if one is attached, the mutation
 * sink (the future replication log, called inside the turn's transaction).
 * Any failing write statement rolls the whole turn back (GroupCommit.fail).
 */
import { keySlot } from '../../common/slot.js';
import { ValueCodec, decodeValue } from './codec.js';
import { GroupCommit, type GroupCommitHooks } from './group-commit.js';
import { decodeScanToken, encodeScanToken, prefixUpperBound } from './prefix.js';
import { ReadCache } from './read-cache.js';
import type { WalSyncer } from './wal-sync.js';
import type { Statements } from './statements.js';
import type { Db } from './database.js';
import type { Entry, Keyspace, Mutation, PrefixScanPage, ScanPage } from './types.js';

/** Called for every mutation, inside the transaction that makes it durable. */
export type MutationSink = (m: Mutation, seq: number) => void;

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
  private sink: MutationSink | null = null;
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
      },
      onCommitted: () => {
        this.committedSeqValue = this.seq;
      },
      onRolledBack: () => {
        // Nothing of the turn happened: counters back to the turn's start, and
        // the cache may hold values the turn wrote or read, so drop all of it.
        this.keyCount = this.keyCountAtBegin;
        this.expiringCount = this.expiringCountAtBegin;
        this.expiredKeys = this.expiredKeysAtBegin;
        this.cache?.clear();
        this.touched.length = 0;
      },
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
        this.expireLazily(key, now);
        return null;
      }
    }
    const row = this.st.getByKey.get(key) as GetRow | undefined;
    if (row === undefined) return null;
    const expiresAt = row[2];
    if (expiresAt !== null && expiresAt <= now) {
      this.expireLazily(key, now);
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

  get lastSeq(): number {
    return this.committedSeqValue;
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

  /** Attaches the replication log (one sink; null detaches). */
  setMutationSink(sink: MutationSink | null): void {
    this.sink = sink;
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
      this.expireLazily(key, now);
      return false;
    }
    this.applyExpiry(row[0], key, row[1], expiresAt);
    return true;
  }

  clear(): void {
    this.commits.markWrite();
    try {
      // Listeners (WATCH) hear about every key; streamed, so FLUSHALL of a
      // large keyspace does not hold all keys in memory. Told before the
      // delete: if it fails, the turn fails and a spurious touch is harmless.
      if (this.listeners.length > 0) {
        for (const key of this.st.allKeys.iterate() as IterableIterator<Buffer>) this.notify(key);
      }
      // The sink may write to the database, which an open iteration forbids: collect first.
      const keys = this.sink !== null ? (this.st.allKeys.all() as Buffer[]) : null;
      this.st.deleteAll.run();
      // Replicated as one delete per key, each with its own sequence.
      if (keys !== null) for (const key of keys) this.sink!({ op: 'del', key }, ++this.seq);
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.commits.writes++;
    this.keyCount = 0;
    this.expiringCount = 0;
    this.cache?.clear();
  }

  atomically<T>(fn: () => T): T {
    this.commits.markWrite();
    const keys0 = this.keyCount;
    const expiring0 = this.expiringCount;
    const expired0 = this.expiredKeys;
    const touched0 = this.touched.length;
    this.st.savepoint.run();
    this.atomicDepth++;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.atomicDepth--;
      this.undoAtomic(keys0, expiring0, expired0, touched0);
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

  // ---- used by the active expiry cycle --------------------------------------

  /** Deletes up to `limit` keys expired at `now`, oldest expiry first. Returns how many. */
  expireBatch(now: number, limit: number): number {
    const rows = this.st.expiredBatch.all(now, limit) as Array<[number, Buffer]>;
    for (let i = 0; i < rows.length; i++) this.applyDeleteExpiredById(rows[i]![0], rows[i]![1]);
    return rows.length;
  }

  // ---- the apply path ------------------------------------------------------

  private applySet(key: Buffer, value: Buffer, expiresAt: number | null): number {
    const stored = this.codec.encode(value);
    const flags = this.codec.lastFlags;
    this.commits.markWrite();
    const version = ++this.seq;
    try {
      const row = this.st.idByKey.get(key) as IdRow | undefined;
      if (row === undefined) {
        this.st.insert.run(key, keySlot(key), flags, expiresAt, version, stored);
        this.keyCount++;
      } else {
        this.st.updateById.run(flags, expiresAt, version, stored, row[0]);
        if (row[1] !== null) this.expiringCount--;
      }
      if (expiresAt !== null) this.expiringCount++;
      if (this.sink !== null) this.sink({ op: 'set', key, value, expiresAt }, version);
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

  /** Inside a delete's try: the delete takes the next sequence and goes to the sink. */
  private logDelete(key: Buffer): void {
    const seq = ++this.seq;
    if (this.sink !== null) this.sink({ op: 'del', key }, seq);
  }

  /** After a row was deleted (the statement and the sink succeeded): counters, cache, listeners. */
  private deleted(key: Buffer, hadExpiry: boolean): void {
    this.commits.writes++;
    this.keyCount--;
    if (hadExpiry) this.expiringCount--;
    this.changed(key);
  }

  private applyExpiry(id: number, key: Buffer, oldExpiresAt: number | null, expiresAt: number | null): void {
    this.commits.markWrite();
    try {
      const version = ++this.seq;
      this.st.updateExpiryById.run(expiresAt, version, id);
      if (this.sink !== null) this.sink({ op: 'expire', key, expiresAt }, version);
    } catch (e) {
      this.commits.fail(e);
      throw e;
    }
    this.commits.writes++;
    if (oldExpiresAt !== null) this.expiringCount--;
    if (expiresAt !== null) this.expiringCount++;
    this.changed(key);
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

  private undoAtomic(keys0: number, expiring0: number, expired0: number, touched0: number): void {
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
      // Reads inside the block may have cached values the block wrote.
      if (this.cache !== null) {
        for (let i = touched0; i < this.touched.length; i++) this.cache.invalidate(this.touched[i]!);
      }
    }
    // An enclosing block keeps its list (already invalidated entries are harmless).
    if (this.atomicDepth === 0) this.touched.length = 0;
  }
}
