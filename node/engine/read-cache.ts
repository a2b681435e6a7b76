/**
 * Optional cache of decoded entries in front of SQLite, bounded by entry
 * count and by bytes, keyed by the key's bytes.
 *
 * Why bytes and not strings: it used to be a Map<string> keyed by
 * `key.toString('latin1')`; making that string for every GET, hashing it and
 * probing a 100k-entry Map was ~30 % of a pipelined GET's CPU (docs/
 * benchmarks.md, RESP path), most of it waiting for memory: with 100k random
 * keys every step of a probe is a cache miss. Here a lookup hashes the bytes
 * (FNV-1a plus a finaliser) and probes an open-addressing table (linear
 * probing) whose cells are 32 bytes of one Int32Array: the hash, the key's
 * length, the CLOCK "used" flag and, for keys of up to 20 bytes, the key
 * itself; beside it an array of the entries. So a hit compares the key within
 * the cell it probes, marks it used there, and reads the entry (the Map path
 * also went through its bucket, the key string and a slot object). Nothing
 * is allocated. Deletion shifts the following cells back (no tombstones), so
 * probe runs stay short under churn.
 *
 * Eviction is CLOCK (second chance), an LRU approximation: a hit only sets a
 * flag; when the eldest entry is due for eviction but was used since it was
 * (re)queued, it goes to the young end with the flag cleared instead. The
 * eviction order is a queue of its own (cells move in the table when others
 * are deleted, so the queue holds slot objects, their cells found again by
 * hash and identity).
 *
 * A key known not to exist can be cached too (a negative entry, `null`).
 * Losing one costs less than losing a value (the miss is an index probe,
 * nothing to decode), so a negative entry gets no second chance, and a full
 * cache takes one only for a key it turned away recently (admitAbsent).
 * Every write path goes through ApplyPath, which invalidates the key or (a
 * SET) caches its new value, so an entry can never outlive a write that
 * creates or changes the key.
 *
 * Keys given in are usually views into a receive buffer: put() stores a copy.
 */
import type { Entry } from './types.js';

/** A cached value, or null: the key is known to be absent. */
export type CachedEntry = Entry | null;

/** What eviction needs of a cached key; never touched by a lookup (the entry and the used flag live in the table). */
interface Slot {
  readonly hash: number;
  /** A copy of the key, kept only when it is too long to live in its cell. */
  readonly longKey: Uint8Array | null;
  /** Removed from the table (invalidated or replaced): skipped when it reaches the head of the queue. */
  dead: boolean;
}

/** Rough per-entry overhead (table cell, Slot and Entry objects, Buffer header) counted against maxBytes. */
const ENTRY_OVERHEAD_BYTES = 96;
const MIN_CAPACITY = 16;
const INITIAL_CAPACITY = 1024;
/** A cell: hash, key length, META, then up to INLINE_KEY_BYTES of the key. */
const CELL_INTS = 8;
const CELL_BYTES = CELL_INTS * 4;
/**
 * A cell's int 2: bit 0 is CLOCK's "used since last queued" flag, the bits
 * above it the cached value's length (0: a negative entry). With the key's
 * length beside it, an entry's cost is read from the cell a probe has just
 * touched: a write or an invalidation of a random key no longer also reads
 * the old entry and its Buffer (two more cache misses, ~10 % of a -P 16
 * SET's main-thread time: docs/benchmarks.md, "CPU per request").
 */
const META = 2;
/** Values this long or longer are never cached: their length would not fit META. */
const MAX_CACHED_VALUE_BYTES = 2 ** 30;
const KEY_OFFSET_BYTES = 12;
const INLINE_KEY_BYTES = CELL_BYTES - KEY_OFFSET_BYTES;
/** Above this many bytes a native compare beats a JS loop. */
const NATIVE_COMPARE_BYTES = 48;
/** Hashes of recent absent keys a full cache did not admit (direct-mapped; a power of two). */
const DOORKEEPER_SLOTS = 256;

function valueLength(e: CachedEntry): number {
  return e === null ? 0 : e.value.length;
}

/** What an entry counts against maxBytes: its key, its value and the per-entry overhead. */
function bytesFor(keyLength: number, valueLength: number): number {
  return keyLength + valueLength + ENTRY_OVERHEAD_BYTES;
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
  /** CELL_INTS per cell: [hash (0: empty), key length, used, inline key bytes...]. */
  private table!: Int32Array;
  /** The same memory as bytes (inline keys). */
  private tableBytes!: Uint8Array;
  /** Per cell, beside the table: the cached entry, and the slot eviction uses. */
  private entries!: Array<CachedEntry | undefined>;
  private cells!: Array<Slot | undefined>;
  private mask!: number;
  private count = 0;
  /** Eviction order, eldest first from `head`; may hold dead slots, compacted when they pile up. */
  private queue: Slot[] = [];
  private head = 0;
  private bytes = 0;
  /** Per slot, the hash of the last absent key turned away while full (0: none); kept across clear(). */
  private readonly doorkeeper = new Int32Array(DOORKEEPER_SLOTS);
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {
    this.allocate(this.initialCapacity());
  }

  /** An empty table of `cap` cells (a power of two). */
  private allocate(cap: number): void {
    this.table = new Int32Array(cap * CELL_INTS);
    this.tableBytes = new Uint8Array(this.table.buffer);
    this.entries = new Array<CachedEntry | undefined>(cap).fill(undefined);
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
    this.table[i * CELL_INTS + META]! |= 1;
    return this.entries[i]!;
  }

  /** Has the key without touching recency or counters (the apply path's upsert; tests: a string stands for its latin1 bytes). */
  peek(k: Uint8Array | string): CachedEntry | undefined {
    const key = latin1Bytes(k);
    const i = this.find(key, hashKey(key));
    if (i < 0) return undefined;
    return this.entries[i]!;
  }

  /** Caches a key's entry, or null: the key does not exist. */
  put(k: Uint8Array, e: CachedEntry): void {
    const h = hashKey(k);
    // Whatever was cached for k is stale now, also when the new entry is not kept.
    const old = this.find(k, h);
    if (old >= 0) this.removeAt(old);
    this.insertNew(k, h, e);
  }

  private insertNew(k: Uint8Array, h: number, e: CachedEntry): void {
    const c = bytesFor(k.length, valueLength(e));
    if (c > this.maxBytes || valueLength(e) >= MAX_CACHED_VALUE_BYTES) {
      this.compact();
      return; // would evict everything else for one value
    }
    if (e === null && (this.count >= this.maxEntries || this.bytes + c > this.maxBytes) && !this.admitAbsent(h)) {
      this.compact();
      return;
    }
    let longKey: Uint8Array | null = null;
    if (k.length > INLINE_KEY_BYTES) {
      longKey = new Uint8Array(k.length); // a copy: k is usually a view of a receive buffer
      longKey.set(k);
    }
    const slot: Slot = { hash: h, longKey, dead: false };
    this.insert(slot, k, e);
    this.queue.push(slot);
    this.bytes += c;
    this.evictOverBudget(slot);
  }

  /** Evicts (CLOCK) until the cache is within both budgets, never `keep` (the entry just stored). */
  private evictOverBudget(keep: Slot): void {
    // Each pass evicts, clears one flag or drops one dead slot, so this ends within two sweeps.
    while (this.count > this.maxEntries || this.bytes > this.maxBytes) {
      const eldest = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Slot; // let the slot be collected
      if (eldest.dead) continue;
      const cell = this.cellOf(eldest);
      const meta = cell * CELL_INTS + META;
      if ((this.table[meta]! & 1) !== 0 && eldest !== keep && this.entries[cell] !== null) {
        this.table[meta]! &= ~1;
        this.queue.push(eldest);
        continue;
      }
      this.removeAt(cell);
    }
    this.compact();
  }

  /**
   * A write's new value (write-through), cached as a copy (`value` is often
   * a view of a receive buffer) only where it costs no eviction: a key
   * already cached is updated in place (keeping its place and used flag in
   * the eviction order), a new key only while the cache has room. Writes
   * thus never push out what reads cached — a bulk load of more keys than
   * the cache holds fills it once and then only probes — and a new entry
   * starts without the used flag, so one nobody reads is the first to go.
   * A cached key whose new value does not fit is dropped.
   */
  putWritten(k: Uint8Array, value: Uint8Array, expiresAt: number | null, version: number): void {
    const h = hashKey(k);
    const i = this.find(k, h);
    const c = bytesFor(k.length, value.length);
    if (i < 0) {
      // Nothing cached for k, so nothing stale either.
      if (this.count >= this.maxEntries || this.bytes + c > this.maxBytes) return;
      this.insertNew(k, h, { value: Buffer.from(value), expiresAt, version });
      return;
    }
    const grown = c - this.cellBytes(i);
    if (this.bytes + grown > this.maxBytes || value.length >= MAX_CACHED_VALUE_BYTES) {
      this.removeAt(i);
      this.compact();
      return;
    }
    this.bytes += grown;
    this.entries[i] = { value: Buffer.from(value), expiresAt, version };
    const meta = i * CELL_INTS + META;
    this.table[meta] = (value.length << 1) | (this.table[meta]! & 1);
  }

  invalidate(k: Uint8Array): void {
    const i = this.find(k, hashKey(k));
    if (i < 0) return;
    this.removeAt(i);
    this.compact();
  }

  clear(): void {
    this.allocate(this.initialCapacity());
    this.count = 0;
    this.queue = [];
    this.head = 0;
    this.bytes = 0;
  }

  /**
   * A full cache takes a negative entry (evicting for it) only for a key
   * found absent before, recently: its hash is still in the doorkeeper, so
   * a hot absent key is cached and a stream of distinct ones is not. Without
   * this, and with second chances for negative entries, a working set larger
   * than the cache evicted on every miss and negatives stayed: in-process,
   * 100k keys + 20k absent on a 100k-entry cache, 1.7 µs of CPU per GET
   * against 0.8 with negative entries off (with both rules: ~0.9-1.0).
   */
  private admitAbsent(h: number): boolean {
    const d = h & (DOORKEEPER_SLOTS - 1);
    if (this.doorkeeper[d] === h) return true;
    this.doorkeeper[d] = h;
    return false;
  }

  /** Length of the eviction queue's array, consumed and dead slots included (tests: it stays proportional to the entries). */
  get queueLength(): number {
    return this.queue.length;
  }

  /** Cells in the table (tests: it stays proportional to the entries). */
  get capacity(): number {
    return this.cells.length;
  }

  private initialCapacity(): number {
    let cap = MIN_CAPACITY;
    while (cap < INITIAL_CAPACITY && cap < 2 * (this.maxEntries + 1)) cap *= 2;
    return cap;
  }

  /** The cell holding key k (hash h), or -1. */
  private find(k: Uint8Array, h: number): number {
    const table = this.table;
    const mask = this.mask;
    const n = k.length;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const at = i * CELL_INTS;
      const x = table[at]!;
      if (x === 0) return -1;
      if (x === h && table[at + 1] === n) {
        if (n > INLINE_KEY_BYTES) {
          if (sameBytes(this.cells[i]!.longKey!, k)) return i;
        } else {
          const bytes = this.tableBytes;
          const base = at * 4 + KEY_OFFSET_BYTES;
          let j = 0;
          while (j < n && bytes[base + j] === k[j]) j++;
          if (j === n) return i;
        }
      }
    }
  }

  /** What the entry in cell i counts against maxBytes, from the cell alone. */
  private cellBytes(i: number): number {
    const at = i * CELL_INTS;
    return bytesFor(this.table[at + 1]!, this.table[at + META]! >>> 1);
  }

  /** The cell holding this very slot (it must be in the table). */
  private cellOf(slot: Slot): number {
    const mask = this.mask;
    let i = slot.hash & mask;
    while (this.cells[i] !== slot) i = (i + 1) & mask;
    return i;
  }

  private insert(slot: Slot, k: Uint8Array, e: CachedEntry): void {
    // Load factor at most 1/2: probe runs stay a cell or two.
    if ((this.count + 1) * 2 > this.cells.length) this.grow();
    const i = this.freeCell(slot.hash);
    const at = i * CELL_INTS;
    this.table[at] = slot.hash;
    this.table[at + 1] = k.length;
    this.table[at + META] = valueLength(e) << 1;
    if (k.length <= INLINE_KEY_BYTES) this.tableBytes.set(k, at * 4 + KEY_OFFSET_BYTES);
    this.entries[i] = e;
    this.cells[i] = slot;
    this.count++;
  }

  /** The first empty cell on hash h's probe path. */
  private freeCell(h: number): number {
    const mask = this.mask;
    let i = h & mask;
    while (this.table[i * CELL_INTS] !== 0) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    const oldTable = this.table;
    const oldCells = this.cells;
    const oldEntries = this.entries;
    this.allocate(oldCells.length * 2);
    for (let i = 0; i < oldCells.length; i++) {
      const s = oldCells[i];
      if (s === undefined) continue;
      const j = this.freeCell(s.hash);
      this.table.set(oldTable.subarray(i * CELL_INTS, (i + 1) * CELL_INTS), j * CELL_INTS);
      this.cells[j] = s;
      this.entries[j] = oldEntries[i];
    }
  }

  /**
   * Empties cell i and shifts back the cells after it that probed past it
   * (backward-shift deletion), so no lookup ever stops early at the hole.
   */
  private removeAt(i: number): void {
    const slot = this.cells[i]!;
    this.bytes -= this.cellBytes(i);
    slot.dead = true;
    this.count--;
    const table = this.table;
    const cells = this.cells;
    const entries = this.entries;
    const mask = this.mask;
    let hole = i;
    for (let j = (i + 1) & mask; table[j * CELL_INTS] !== 0; j = (j + 1) & mask) {
      const home = table[j * CELL_INTS]! & mask;
      // The cell at j may fill the hole if the hole lies on its probe path (home .. j).
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        table.copyWithin(hole * CELL_INTS, j * CELL_INTS, (j + 1) * CELL_INTS);
        cells[hole] = cells[j];
        entries[hole] = entries[j];
        hole = j;
      }
    }
    table[hole * CELL_INTS] = 0;
    cells[hole] = undefined;
    entries[hole] = undefined;
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
