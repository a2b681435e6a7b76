/**
 * irisdb_event_loop_worst_tick_seconds{part}: a scrape window without a late
 * tick reads 0 for own_cpu and cpu_wait as well as delay, not the CPU split
 * of an earlier window's stall (issue #16).
 */
import { expect } from 'chai';
import { createNodeMetrics, worstTickParts } from '../../node/observability/metrics.js';
import { waitFor } from '../support/wait.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* hold the loop */ }
}

describe('worst-tick gauge', () => {
  it('gives every part for a late tick and 0 for a window without one (pure)', () => {
    expect(worstTickParts({ lateMs: 120, ownCpuMs: 100, cpuWaitMs: 15 })).to.deep.equal([['delay', 0.12], ['own_cpu', 0.1], ['cpu_wait', 0.015]]);
    expect(worstTickParts({ lateMs: 0, ownCpuMs: null, cpuWaitMs: null })).to.deep.equal([['delay', 0], ['own_cpu', 0], ['cpu_wait', 0]]);
    // No thread clock (not Linux): no split for a late tick rather than a made-up 0.
    expect(worstTickParts({ lateMs: 50, ownCpuMs: null, cpuWaitMs: null })).to.deep.equal([['delay', 0.05], ['own_cpu', null], ['cpu_wait', null]]);
  });

  it('does not keep a stall\'s own_cpu and cpu_wait into the next scrape window (real registry)', async () => {
    const metrics = createNodeMetrics();
    try {
      const parts = async (): Promise<Record<string, number>> => {
        const g = await metrics.registry.getSingleMetric('irisdb_event_loop_worst_tick_seconds')!.get();
        return Object.fromEntries(g.values.map((v) => [String(v.labels.part), v.value]));
      };
      busy(120);
      const stall = await waitFor('the stall in a scrape', async () => { const p = await parts(); return (p.delay ?? 0) > 0.1 ? p : null; }, { timeoutMs: 5000, intervalMs: 20 });
      if (stall.own_cpu === undefined) return; // not Linux: only the delay is measured
      expect(stall.own_cpu + stall.cpu_wait!).to.be.greaterThan(0.1);
      // Scraped again at once, in the same turn: no tick in between, so no late tick in this window.
      const g = metrics.registry.getSingleMetric('irisdb_event_loop_worst_tick_seconds')!;
      const [, next] = await Promise.all([g.get(), g.get()]);
      const after = Object.fromEntries(next.values.map((v) => [String(v.labels.part), v.value]));
      expect(after).to.deep.equal({ delay: 0, own_cpu: 0, cpu_wait: 0 });
    } finally {
      metrics.close();
    }
  });
});
