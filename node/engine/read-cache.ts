/**
 * Optional cache of decoded entries in front of SQLite, bounded by entry
 * count and by bytes, keyed by the key's bytes.
 *
 * Why bytes and not strings: it used to be a Map<string> keyed by
 * `key.toString('latin1')`; making that string for every GET, hashing it and
 * probing a 100k-entry Map was ~30 % of a pipelined GET's CPU (docs/
 * benchmarks.md, RESP path). Here a lookup hashes the bytes (FNV-1a plus a
 * finaliser), probes an open-addressing table whose hashes live in an
 * Int32Array (linear probing, so a hit is usually one compare of a hash and
 * one byte compare), and allocates nothing. Deletion shifts the following
 * entries back (no tombstones), so probe runs stay short under churn.
 *
 * Eviction is CLOCK (second chance), an LRU approximation: a hit only sets a
 * flag; when the eldest entry is due for eviction but was used since it was
 * (re)queued, it goes to the young end with the flag cleared instead. The
 * eviction order is a queue of its own (slots move in the table when others
 * are deleted, so the queue holds the slot objects, found again by hash).
 *
 * A key known not to exist can be cached too (a negative entry, `null`).
 * Every write path goes through ApplyPath.changed(), which invalidates the
 * key, so an entry can never outlive a write that creates or changes the key.
 *
 * Keys given in are usually views into a receive buffer: put() stores a copy.
 */
import type { Entry } from './types.js';

/** A cached value, or null: the key is known to be absent. */
export type CachedEntry = Entry | null;

interface Slot {
  /** A copy of the key's bytes (never a view of a caller's buffer). */
  readonly key: Uint8Array;
  readonly hash: number;
  entry: CachedEntry;
  /** Used since it was last queued (second chance). */
  used: boolean;
  /** Removed from the table (invalidated or replaced): skipped when it reaches the head of the queue. */
  dead: boolean;
}

/** Rough per-entry overhead (table slot, Slot and Entry objects, Buffer header) counted against maxBytes. */
const ENTRY_OVERHEAD_BYTES = 96;
const MIN_CAPACITY = 16;
const INITIAL_CAPACITY = 1024;
/** Above this many bytes a native compare beats a JS loop. */
const NATIVE_COMPARE_BYTES = 48;

function cost(k: Uint8Array, e: CachedEntry): number {
  return k.length + (e === null ? 0 : e.value.length) + ENTRY_OVERHEAD_BYTES;
}

/**
 * The cache's hash of a key: FNV-1a over the bytes, then a murmur3-style
 * finaliser so the low bits (the table index) depend on every byte; never 0
 * (0 marks an empty table cell). Exported for the collision tests.
 */
export function hashKey(b: Uint8Array): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 16777619);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h === 0 ? 1 : h;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  if (n > NATIVE_COMPARE_BYTES) return Buffer.compare(a, b) === 0;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function latin1Bytes(k: Uint8Array | string): Uint8Array {
  return typeof k === 'string' ? Buffer.from(k, 'latin1') : k;
}

export class ReadCache {
  /** Per table cell: the slot's hash, 0 when empty. */
  private hashes: Int32Array;
  private cells: Array<Slot | undefined>;
  private mask: number;
  private count = 0;
  /** Eviction order, eldest first from `head`; may hold dead slots, compacted when they pile up. */
  private queue: Slot[] = [];
  private head = 0;
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {
    const cap = this.initialCapacity();
    this.hashes = new Int32Array(cap);
    this.cells = new Array<Slot | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
  }

  get enabled(): boolean {
    return this.maxEntries > 0 && this.maxBytes > 0;
  }

  get size(): number {
    return this.count;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** The cached entry, null for a key known to be absent (both count a hit), or undefined (counting a miss). */
  lookup(k: Uint8Array): CachedEntry | undefined {
    const i = this.find(k, hashKey(k));
    if (i < 0) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    const slot = this.cells[i]!;
    slot.used = true;
    return slot.entry;
  }

  /** Has the key without touching recency or counters (tests; a string stands for its latin1 bytes). */
  peek(k: Uint8Array | string): CachedEntry | undefined {
    const key = latin1Bytes(k);
    const i = this.find(key, hashKey(key));
    return i < 0 ? undefined : this.cells[i]!.entry;
  }

  /** Caches a key's entry, or null: the key does not exist. */
  put(k: Uint8Array, e: CachedEntry): void {
    const h = hashKey(k);
    // Whatever was cached for k is stale now, also when the new entry is not kept.
    const old = this.find(k, h);
    if (old >= 0) this.removeAt(old);
    const c = cost(k, e);
    if (c > this.maxBytes) {
      this.compact();
      return; // would evict everything else for one value
    }
    const key = new Uint8Array(k.length); // small ones live on the JS heap: no pinned pool slab, no external buffer
    key.set(k);
    const slot: Slot = { key, hash: h, entry: e, used: false, dead: false };
    this.insert(slot);
    this.queue.push(slot);
    this.bytes += c;
    // Each pass evicts, clears one flag or drops one dead slot, so this ends within two sweeps.
    while (this.count > this.maxEntries || this.bytes > this.maxBytes) {
      const eldest = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Slot; // let the slot be collected
      if (eldest.dead) continue;
      if (eldest.used && eldest !== slot) {
        eldest.used = false;
        this.queue.push(eldest);
        continue;
      }
      this.removeAt(this.cellOf(eldest));
    }
    this.compact();
  }

  invalidate(k: Uint8Array): void {
    const i = this.find(k, hashKey(k));
    if (i < 0) return;
    this.removeAt(i);
    this.compact();
  }

  clear(): void {
    const cap = this.initialCapacity();
    this.hashes = new Int32Array(cap);
    this.cells = new Array<Slot | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.count = 0;
    this.queue = [];
    this.head = 0;
    this.bytes = 0;
  }

  /** Length of the eviction queue's array, consumed and dead slots included (tests: it stays proportional to the entries). */
  get queueLength(): number {
    return this.queue.length;
  }

  /** Cells in the table (tests: it stays proportional to the entries). */
  get capacity(): number {
    return this.hashes.length;
  }

  private initialCapacity(): number {
    let cap = MIN_CAPACITY;
    while (cap < INITIAL_CAPACITY && cap < 2 * (this.maxEntries + 1)) cap *= 2;
    return cap;
  }

  /** The cell holding key k (hash h), or -1. */
  private find(k: Uint8Array, h: number): number {
    const hashes = this.hashes;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const x = hashes[i]!;
      if (x === 0) return -1;
      if (x === h && sameBytes(this.cells[i]!.key, k)) return i;
    }
  }

  /** The cell holding this very slot (it must be in the table). */
  private cellOf(slot: Slot): number {
    const mask = this.mask;
    let i = slot.hash & mask;
    while (this.cells[i] !== slot) i = (i + 1) & mask;
    return i;
  }

  private insert(slot: Slot): void {
    // Load factor at most 1/2: probe runs stay a cell or two.
    if ((this.count + 1) * 2 > this.hashes.length) this.grow();
    this.place(slot);
    this.count++;
  }

  private place(slot: Slot): void {
    const mask = this.mask;
    let i = slot.hash & mask;
    while (this.hashes[i] !== 0) i = (i + 1) & mask;
    this.hashes[i] = slot.hash;
    this.cells[i] = slot;
  }

  private grow(): void {
    const old = this.cells;
    const cap = this.hashes.length * 2;
    this.hashes = new Int32Array(cap);
    this.cells = new Array<Slot | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    for (let i = 0; i < old.length; i++) {
      const s = old[i];
      if (s !== undefined) this.place(s);
    }
  }

  /**
   * Empties cell i and shifts back the entries after it that probed past it
   * (backward-shift deletion), so no lookup ever stops early at the hole.
   */
  private removeAt(i: number): void {
    const slot = this.cells[i]!;
    this.bytes -= cost(slot.key, slot.entry);
    slot.dead = true;
    this.count--;
    const hashes = this.hashes;
    const cells = this.cells;
    const mask = this.mask;
    let hole = i;
    for (let j = (i + 1) & mask; hashes[j] !== 0; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      // The entry at j may fill the hole if the hole lies on its probe path (home .. j).
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        hashes[hole] = hashes[j]!;
        cells[hole] = cells[j];
        hole = j;
      }
    }
    hashes[hole] = 0;
    cells[hole] = undefined;
  }

  /**
   * Drops the consumed front once it is most of the array, and the dead
   * slots once they outnumber the live ones: each copy is paid for by as many
   * operations as it moves, so amortised O(1), and the queue stays O(entries).
   */
  private compact(): void {
    const consumedMost = this.head > 1024 && this.head * 2 > this.queue.length;
    const mostlyDead = this.queue.length - this.head > 2 * this.count + 64;
    if (!consumedMost && !mostlyDead) return;
    this.queue = this.queue.slice(this.head).filter((x) => !x.dead);
    this.head = 0;
  }
}
