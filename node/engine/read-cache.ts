/**
 * Optional cache of decoded entries in front of SQLite, bounded by entry
 * count and by bytes. Keys are latin1 strings of the key bytes (one byte per
 * char, so binary keys map 1:1). Eviction is CLOCK (second chance), an LRU
 * approximation: a hit only sets a flag; when the eldest entry (the Map keeps
 * insertion order) is due for eviction but was used since it was (re)queued,
 * it goes to the young end with the flag cleared instead. Moving an entry on
 * every hit (delete + set) costs a Map rehash now and then and showed up as
 * 12% of CPU in a pipelined GET profile.
 */
import type { Entry } from './types.js';

interface Slot {
  entry: Entry;
  /** Used since it was last queued (second chance). */
  used: boolean;
}

/** Rough per-entry overhead (Map slot, Entry object, Buffer header) counted against maxBytes. */
const ENTRY_OVERHEAD_BYTES = 96;

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

  /** The cached entry (counting a hit) or undefined (counting a miss). */
  lookup(k: string): Entry | undefined {
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
  peek(k: string): Entry | undefined {
    return this.map.get(k)?.entry;
  }

  put(k: string, e: Entry): void {
    const cost = k.length + e.value.length + ENTRY_OVERHEAD_BYTES;
    if (cost > this.maxBytes) return; // would evict everything else for one value
    const old = this.map.get(k);
    if (old !== undefined) {
      this.bytes -= k.length + old.entry.value.length + ENTRY_OVERHEAD_BYTES;
      this.map.delete(k);
    }
    this.map.set(k, { entry: e, used: false });
    this.bytes += cost;
    // Each pass either evicts or clears one flag, so this ends within two sweeps.
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const [eldest, slot] = this.map.entries().next().value as [string, Slot];
      this.map.delete(eldest);
      if (slot.used && eldest !== k) {
        slot.used = false;
        this.map.set(eldest, slot);
        continue;
      }
      this.bytes -= eldest.length + slot.entry.value.length + ENTRY_OVERHEAD_BYTES;
    }
  }

  invalidate(k: string): void {
    const old = this.map.get(k);
    if (old === undefined) return;
    this.bytes -= k.length + old.entry.value.length + ENTRY_OVERHEAD_BYTES;
    this.map.delete(k);
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
