/**
 * Optional cache of decoded entries in front of SQLite, bounded by entry
 * count and by bytes. Keys are latin1 strings of the key bytes (one byte per
 * char, so binary keys map 1:1). Eviction is CLOCK (second chance), an LRU
 * approximation: a hit only sets a flag; when the eldest entry is due for
 * eviction but was used since it was (re)queued, it goes to the young end
 * with the flag cleared instead. Moving an entry on every hit (delete + set)
 * costs a Map rehash now and then and showed up as 12% of CPU in a pipelined
 * GET profile.
 *
 * The eviction order is a queue of its own, not the Map's insertion order:
 * V8 leaves a deleted Map entry as a hole until the next rehash, and finding
 * the eldest entry walks every hole at the front, so evicting through
 * `map.entries().next()` cost O(holes) per eviction — a GET load whose keys
 * outnumbered maxEntries ran ~70x slower than one that fit.
 *
 * A key known not to exist is cached too (a negative entry, `null`): a GET
 * of an absent key otherwise costs a SQLite lookup every time, which was
 * ~13 % of a pipelined GET profile. Every write path goes through
 * ApplyPath.changed(), which invalidates the key, so an entry can never
 * outlive a write that creates the key.
 */
import type { Entry } from './types.js';

/** A cached value, or null: the key is known to be absent. */
export type CachedEntry = Entry | null;

interface Slot {
  readonly key: string;
  entry: CachedEntry;
  /** Used since it was last queued (second chance). */
  used: boolean;
  /** Removed from the map (invalidated or replaced): skipped when it reaches the head of the queue. */
  dead: boolean;
}

/** Rough per-entry overhead (Map slot, Entry object, Buffer header) counted against maxBytes. */
const ENTRY_OVERHEAD_BYTES = 96;

function cost(k: string, e: CachedEntry): number {
  return k.length + (e === null ? 0 : e.value.length) + ENTRY_OVERHEAD_BYTES;
}

export class ReadCache {
  private readonly map = new Map<string, Slot>();
  /** Eviction order, eldest first from `head`; may hold dead slots, compacted when they pile up. */
  private queue: Slot[] = [];
  private head = 0;
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {}

  get enabled(): boolean {
    return this.maxEntries > 0 && this.maxBytes > 0;
  }

  get size(): number {
    return this.map.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** The cached entry, null for a key known to be absent (both count a hit), or undefined (counting a miss). */
  lookup(k: string): CachedEntry | undefined {
    const slot = this.map.get(k);
    if (slot === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    slot.used = true;
    return slot.entry;
  }

  /** Has the key without touching recency or counters (tests). */
  peek(k: string): CachedEntry | undefined {
    return this.map.get(k)?.entry;
  }

  /** Caches a key's entry, or null: the key does not exist. */
  put(k: string, e: CachedEntry): void {
    // Whatever was cached for k is stale now, also when the new entry is not kept.
    this.remove(k);
    const c = cost(k, e);
    if (c > this.maxBytes) return; // would evict everything else for one value
    const slot: Slot = { key: k, entry: e, used: false, dead: false };
    this.map.set(k, slot);
    this.enqueue(slot);
    this.bytes += c;
    // Each pass evicts, clears one flag or drops one dead slot, so this ends within two sweeps.
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const eldest = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Slot; // let the slot be collected
      if (eldest.dead) continue;
      if (eldest.used && eldest !== slot) {
        eldest.used = false;
        this.enqueue(eldest);
        continue;
      }
      this.map.delete(eldest.key);
      eldest.dead = true;
      this.bytes -= cost(eldest.key, eldest.entry);
    }
    this.compact();
  }

  invalidate(k: string): void {
    this.remove(k);
    this.compact();
  }

  clear(): void {
    this.map.clear();
    this.queue = [];
    this.head = 0;
    this.bytes = 0;
  }

  private remove(k: string): void {
    const old = this.map.get(k);
    if (old === undefined) return;
    this.bytes -= cost(k, old.entry);
    this.map.delete(k);
    old.dead = true;
  }

  private enqueue(slot: Slot): void {
    this.queue.push(slot);
  }

  /**
   * Drops the consumed front once it is most of the array, and the dead
   * slots once they outnumber the live ones: each copy is paid for by as many
   * operations as it moves, so amortised O(1), and the queue stays O(entries).
   */
  private compact(): void {
    const consumedMost = this.head > 1024 && this.head * 2 > this.queue.length;
    const mostlyDead = this.queue.length - this.head > 2 * this.map.size + 64;
    if (!consumedMost && !mostlyDead) return;
    this.queue = this.queue.slice(this.head).filter((x) => !x.dead);
    this.head = 0;
  }

  /** Length of the eviction queue's array, consumed and dead slots included (tests: it stays proportional to the entries). */
  get queueLength(): number {
    return this.queue.length;
  }
}
