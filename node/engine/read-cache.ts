/**
 * Optional cache of decoded entries in front of SQLite, bounded by entry
 * count and by bytes. Keys are latin1 strings of the key bytes (one byte per
 * char, so binary keys map 1:1). Eviction is CLOCK (second chance), an LRU
 * approximation: a hit only sets a flag; when the eldest entry (the Map keeps
 * insertion order) is due for eviction but was used since it was (re)queued,
 * it goes to the young end with the flag cleared instead. Moving an entry on
 * every hit (delete + set) costs a Map rehash now and then and showed up as
 * 12% of CPU in a pipelined GET profile.
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
  entry: CachedEntry;
  /** Used since it was last queued (second chance). */
  used: boolean;
}

/** Rough per-entry overhead (Map slot, Entry object, Buffer header) counted against maxBytes. */
const ENTRY_OVERHEAD_BYTES = 96;

function cost(k: string, e: CachedEntry): number {
  return k.length + (e === null ? 0 : e.value.length) + ENTRY_OVERHEAD_BYTES;
}

export class ReadCache {
  private readonly map = new Map<string, Slot>();
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
    const c = cost(k, e);
    if (c > this.maxBytes) return; // would evict everything else for one value
    const old = this.map.get(k);
    if (old !== undefined) {
      this.bytes -= cost(k, old.entry);
      this.map.delete(k);
    }
    this.map.set(k, { entry: e, used: false });
    this.bytes += c;
    // Each pass either evicts or clears one flag, so this ends within two sweeps.
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const [eldest, slot] = this.map.entries().next().value as [string, Slot];
      this.map.delete(eldest);
      if (slot.used && eldest !== k) {
        slot.used = false;
        this.map.set(eldest, slot);
        continue;
      }
      this.bytes -= cost(eldest, slot.entry);
    }
  }

  invalidate(k: string): void {
    const old = this.map.get(k);
    if (old === undefined) return;
    this.bytes -= cost(k, old.entry);
    this.map.delete(k);
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
