/**
 * The read cache's side of the apply path: every changed key is invalidated
 * (a set key takes its new value instead), and inside atomically() blocks
 * the changed keys are remembered, because reads inside a block may cache
 * values (or absences) that a rollback of the block undoes. A rolled-back
 * block invalidates what it touched, or empties the whole cache if it
 * cleared every row (its keys are not listed, and reads after the clear may
 * have cached any key as absent). A rolled-back turn empties the cache
 * outright.
 */
import type { ReadCache } from './read-cache.js';
import type { PriorRow } from './row-upsert.js';

export class BlockCacheRepair {
  /** Nesting depth of the open atomically() blocks. */
  private depth = 0;
  /** Keys written inside the outermost open block (copies), for invalidation on rollback. */
  private readonly touched: Buffer[] = [];
  /** A removeAll() ran inside the outermost open block. */
  private clearedInBlock = false;

  constructor(private readonly cache: ReadCache | null) {}

  /** A key's row changed: its cache entry goes, and an open block remembers the key. */
  changed(key: Buffer): void {
    if (this.cache === null) return;
    this.cache.invalidate(key);
    if (this.depth > 0) this.touched.push(Buffer.from(key)); // a copy: key may be a view of a receive buffer
  }

  /**
   * A key was set: its cache entry becomes the written value (write-through),
   * as a read of the row later in the turn would make it; rollbacks undo it
   * like any cached read of the turn.
   */
  written(key: Buffer, value: Buffer, expiresAt: number | null, version: number): void {
    if (this.cache === null) return;
    this.cache.putWritten(key, value, expiresAt, version);
    if (this.depth > 0) this.touched.push(Buffer.from(key));
  }

  /**
   * What the key's row is, as far as the cache knows (it is coherent with the
   * rows: every change passes here): a cached value means a row, with or
   * without an expiry; anything else is left to SQLite (undefined).
   */
  priorRow(key: Buffer): PriorRow | undefined {
    const e = this.cache?.peek(key);
    if (e === undefined || e === null) return undefined;
    return e.expiresAt === null ? 'persistent' : 'expiring';
  }

  /** Every row was removed. */
  clearedAll(): void {
    this.cache?.clear();
    if (this.depth > 0) this.clearedInBlock = true;
  }

  /** A block opens; returns its mark for blockRolledBack. */
  enterBlock(): number {
    this.depth++;
    return this.touched.length;
  }

  /** The block's function returned or threw. */
  leaveBlock(): void {
    this.depth--;
  }

  /** The block opened at `mark` was rolled back to its savepoint: reads inside it may have cached what it wrote. */
  blockRolledBack(mark: number): void {
    if (this.cache === null) return;
    if (this.clearedInBlock) this.cache.clear();
    else for (let i = mark; i < this.touched.length; i++) this.cache.invalidate(this.touched[i]!);
  }

  /** A block ended: once the outermost has, what it wrote needs no repair any more (an enclosing block keeps its list and flag). */
  blockEnded(): void {
    if (this.depth === 0) this.forget();
  }

  /** The whole turn was rolled back: the cache may hold values the turn wrote or read. */
  turnRolledBack(): void {
    this.cache?.clear();
    this.forget();
  }

  private forget(): void {
    this.touched.length = 0;
    this.clearedInBlock = false;
  }
}
