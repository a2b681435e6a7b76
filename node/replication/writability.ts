/**
 * The node's writability (common/writability.ts) kept current: judged from
 * the replication facts on every status read, every housekeeping tick and
 * every NOREPLICAS, so `since` is at most a second late. Logs each change.
 */
import type { Logger } from '../../common/logger.js';
import { WritabilityTracker, judgeWritability, refusalText, type Writability, type WritabilityFacts } from '../../common/writability.js';

/** What replication knows; the cluster map part comes from setMapless. */
export type PrimaryFacts = Omit<WritabilityFacts, 'mapless'>;

export class NodeWritability {
  private readonly tracker = new WritabilityTracker();
  private mapless: () => boolean = () => false;
  private last: Writability | null = null;

  constructor(
    private readonly node: string,
    private readonly facts: () => PrimaryFacts,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The runtime's hook: a cluster member without a map refuses keyed commands (CLUSTERDOWN). */
  setMapless(fn: () => boolean): void {
    this.mapless = fn;
  }

  current(): Writability {
    const w = this.tracker.update(judgeWritability({ ...this.facts(), mapless: this.mapless() }), this.now());
    const prev = this.last;
    if (prev === null || prev.since !== w.since) {
      // Being a replica is not news (the role change is logged); a primary's refusals and recoveries are.
      if (w.reason !== 'not-primary' && !(w.ok && (prev === null || prev.reason === 'not-primary'))) {
        if (w.ok) this.logger.info('writes accepted', { detail: w.detail, refusedSince: prev?.since });
        else this.logger.warn('writes refused', { reason: w.reason, detail: w.detail, since: w.since });
      }
      this.last = w;
    }
    return w;
  }

  /** For a NOREPLICAS reply: "node: why since hh:mm:ssZ", or null when the node is writable (a slow replica, not a missing one). */
  refusal(): string | null {
    return refusalText(this.node, this.current());
  }
}
