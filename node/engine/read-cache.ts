/**
 * Optional LRU of decoded entries in front of SQLite, bounded by entry count
 * and by bytes. Keys are latin1 strings of the key bytes (one byte per char,
 * so binary keys map 1:1). A Map keeps insertion order, so re-inserting on a
 * hit moves the entry to the young end and the first key is the eldest.
 */
import type { Entry } from './types.js';

/** Rough per-entry overhead (Map slot, Entry object, Buffer header) counted against maxBytes. */
const ENTRY_OVERHEAD_BYTES = 96;

export class ReadCache {
  private readonly map = new Map<string, Entry>();
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
    const e = this.map.get(k);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(k);
    this.map.set(k, e);
    return e;
  }

  /** Has the key without touching recency or counters (tests). */
  peek(k: string): Entry | undefined {
    return this.map.get(k);
  }

  put(k: string, e: Entry): void {
    const cost = k.length + e.value.length + ENTRY_OVERHEAD_BYTES;
    if (cost > this.maxBytes) return; // would evict everything else for one value
    const old = this.map.get(k);
    if (old !== undefined) {
      this.bytes -= k.length + old.value.length + ENTRY_OVERHEAD_BYTES;
      this.map.delete(k);
    }
    this.map.set(k, e);
    this.bytes += cost;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const eldest = this.map.keys().next().value as string;
      const ev = this.map.get(eldest)!;
      this.bytes -= eldest.length + ev.value.length + ENTRY_OVERHEAD_BYTES;
      this.map.delete(eldest);
    }
  }

  invalidate(k: string): void {
    const old = this.map.get(k);
    if (old === undefined) return;
    this.bytes -= k.length + old.value.length + ENTRY_OVERHEAD_BYTES;
    this.map.delete(k);
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
