/**
 * The node's writability (common/writability.ts) kept current: judged from
 * the replication facts on every status read, every housekeeping tick and
 * every NOREPLICAS, so `since` is at most a second late. Logs each change.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../common/logger.js';
import { WRITES_REFUSED_REASONS, WritabilityTracker, judgeWritability, refusalText, type Writability, type WritabilityFacts } from '../../common/writability.js';

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
    registry: Registry | null = null,
    private readonly now: () => number = Date.now,
  ) {
    if (registry !== null) {
      const current = (): Writability => this.current();
      new Gauge({
        name: 'irisdb_writes_refused', help: '1 for the reason this node refuses writes now (no-sync-replica, self-fenced, no-cluster-map, not-primary), 0 for the others',
        labelNames: ['reason'], registers: [registry],
        collect() {
          const w = current();
          for (const r of WRITES_REFUSED_REASONS) this.set({ reason: r }, !w.ok && w.reason === r ? 1 : 0);
        },
      });
    }
  }

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
