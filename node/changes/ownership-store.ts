/**
 * Keeps the ownership journal (ownership.ts) in the meta table: a new entry
 * whenever an installed cluster map changes this shard's slots, written in
 * the same turn as the map install's listener, so the journal commits with
 * (or before) the first write made under the new map.
 */
import type { ClusterMap, SlotRange } from '../../common/cluster-map.js';
import type { Logger } from '../../common/logger.js';
import type { Term } from '../../common/replication.js';
import type { MetaStore } from '../engine/open.js';
import {
  ALL_SLOTS, OwnershipView, type OwnershipEntry, type OwnershipJournal, provableFrom, recordOwnership, settleOwnership,
} from './ownership.js';

export const OWNERSHIP_META_KEY = 'change_feed_ownership';

export interface OwnershipStoreDeps {
  readonly meta: MetaStore;
  readonly cluster: {
    readonly map: ClusterMap | null;
    readonly myShard: number;
    readonly clusterEnabled: boolean;
    onChange(listener: () => void): void;
  };
  /** Highest committed sequence. */
  lastSeq(): number;
  role(): 'primary' | 'replica';
  history(): readonly Term[];
  readonly logger: Logger;
}

function isRange(v: unknown): v is SlotRange {
  return Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && Number.isInteger(v[1]);
}

function parseJournal(text: unknown): OwnershipJournal {
  if (typeof text !== 'string') return [];
  const v: unknown = JSON.parse(text);
  if (!Array.isArray(v)) throw new Error('not an array');
  return v.map((e: unknown, i): OwnershipEntry => {
    const o = e as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || !Number.isSafeInteger(o.seq) || typeof o.exact !== 'boolean' || !Array.isArray(o.slots) || !o.slots.every(isRange)) {
      throw new Error(`entry ${i} is malformed`);
    }
    const base = { seq: o.seq as number, slots: o.slots as SlotRange[], exact: o.exact };
    return Number.isSafeInteger(o.until) ? { ...base, until: o.until as number } : base;
  });
}

export class OwnershipStore {
  private journal: OwnershipJournal;
  private view: OwnershipView;

  constructor(private readonly deps: OwnershipStoreDeps) {
    try {
      this.journal = parseJournal(deps.meta.get(OWNERSHIP_META_KEY));
    } catch (err) {
      // Unreadable: start over, with no boundary proven before now.
      deps.logger.warn('change feed ownership journal unreadable; starting a new one', { err: (err as Error).message });
      this.journal = [];
    }
    this.view = new OwnershipView(this.journal);
    this.sync();
    deps.cluster.onChange(() => this.sync());
  }

  /** Records the current owned set if it changed (called at startup and on every map install). */
  sync(): void {
    const slots = this.ownedNow();
    if (slots === null) return;
    const d = this.deps;
    const seq = d.lastSeq();
    // Nothing written yet, or written by this node as primary: the boundary is exact.
    const next = recordOwnership(this.journal, seq, slots, seq === 0 || d.role() === 'primary');
    if (next !== null) this.save(next);
    this.settle();
  }

  /** What a feed needs: the per-seq ownership view and the lowest provable position. */
  snapshot(): { view: OwnershipView; provableFrom: number } {
    this.settle();
    return { view: this.view, provableFrom: provableFrom(this.journal, this.currentTermFirstSeq()) };
  }

  entries(): OwnershipJournal {
    return this.journal;
  }

  private settle(): void {
    if (this.deps.role() !== 'primary') return;
    const next = settleOwnership(this.journal, this.currentTermFirstSeq());
    if (next !== null) this.save(next);
  }

  private currentTermFirstSeq(): number {
    const h = this.deps.history();
    return h[h.length - 1]?.firstSeq ?? this.deps.lastSeq() + 1;
  }

  /** null: a cluster member without its first map (it accepts no writes, so nothing to classify yet). */
  private ownedNow(): readonly SlotRange[] | null {
    const c = this.deps.cluster;
    const map = c.map;
    if (map === null) return c.clusterEnabled ? null : ALL_SLOTS;
    return c.myShard === -1 ? [] : map.shards[c.myShard]!.slots;
  }

  private save(j: OwnershipJournal): void {
    this.journal = j;
    this.view = new OwnershipView(j);
    // Joins the current turn: commits with the map install's turn, before any write under the new map.
    this.deps.meta.set(OWNERSHIP_META_KEY, JSON.stringify(j));
  }
}
