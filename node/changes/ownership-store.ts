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
  ALL_SLOTS, OwnershipView, type OwnershipJournal, adoptPrimaryJournal, parseOwnershipJournal, provableFrom, recordOwnership, settleOwnership,
} from './ownership.js';

/** How often, and how many times, a replica asks its primary for the exact boundaries after an ownership change. */
const ADOPT_RETRY_MS = 1000;
const ADOPT_ATTEMPTS = 120;

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
  /** The shard primary's journal (asked over the cluster bus, ownership-bus.ts), null when there is no primary to ask. */
  primaryJournal(): Promise<OwnershipJournal | null>;
  readonly logger: Logger;
}

function parseStored(text: unknown): OwnershipJournal {
  return typeof text === 'string' ? parseOwnershipJournal(JSON.parse(text)) : [];
}

export class OwnershipStore {
  private journal: OwnershipJournal;
  private view: OwnershipView;
  private adopting: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly deps: OwnershipStoreDeps) {
    try {
      this.journal = parseStored(deps.meta.get(OWNERSHIP_META_KEY));
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
    if (d.role() === 'replica') this.adoptSoon(ADOPT_ATTEMPTS);
  }

  close(): void {
    this.closed = true;
    if (this.adopting !== null) clearTimeout(this.adopting);
    this.adopting = null;
  }

  /**
   * A replica's boundaries are approximate (it installs maps after its
   * primary), and a former primary's may describe a log it discarded: after
   * every map change a replica takes its primary's journal instead, retrying
   * while the primary is unreachable or ahead of this replica's log.
   */
  private adoptSoon(attempts: number): void {
    if (this.adopting !== null || this.closed || attempts <= 0) return;
    this.adopting = setTimeout(() => {
      this.adopting = null;
      // A failure here (the database closing at shutdown) only ends the retries.
      void this.tryAdopt().catch(() => true).then((done) => {
        if (!done) this.adoptSoon(attempts - 1);
      });
    }, ADOPT_RETRY_MS);
    this.adopting.unref();
  }

  private async tryAdopt(): Promise<boolean> {
    const d = this.deps;
    let theirs: OwnershipJournal | null;
    try {
      theirs = await d.primaryJournal();
    } catch (err) {
      d.logger.debug('change feed: asking the primary for its ownership journal failed', { err: (err as Error).message });
      return false;
    }
    if (this.closed || d.role() !== 'replica') return true;
    if (theirs === null) return false;
    const a = adoptPrimaryJournal(this.journal, theirs, d.lastSeq());
    if (a.kind === 'wait') return false;
    if (a.kind === 'adopt') {
      this.save(a.journal);
      d.logger.info('change feed: took the primary\'s exact slot ownership boundaries', { entries: a.journal.length });
    }
    return true;
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
