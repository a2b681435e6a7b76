/**
 * The worst-late-tick monitor behind irisdb_event_loop_worst_tick_seconds:
 * a turn that holds the loop shows up as a late tick, and with the real
 * Linux schedstat clock the main thread was runnable (running or queued) for
 * the whole of a busy turn, so its own CPU plus run-queue wait covers it.
 */
import { expect } from 'chai';
import { LateTickMonitor, schedstatClock, type ThreadTimes } from '../../node/observability/late-tick.js';
import { waitFor } from '../support/wait.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* hold the loop */ }
}

const ticked = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

describe('late tick monitor', () => {
  it('reports a turn that held the loop, with the thread\'s own CPU and run-queue wait over it', async () => {
    const clock = schedstatClock();
    const first = clock.read();
    if (first === null) return; // not Linux: only the delay is measured (covered below)
    const m = new LateTickMonitor(clock, 10);
    try {
      await ticked();
      m.take();
      busy(120);
      await ticked();
      const w = m.take();
      expect(w.lateMs).to.be.greaterThan(100);
      // Runnable throughout the busy turn: on a CPU or queued for one.
      expect(w.ownCpuMs! + w.cpuWaitMs!).to.be.greaterThan(100);
      expect(m.take().lateMs).to.be.lessThan(w.lateMs); // take() starts over
    } finally {
      m.stop();
    }
  });

  it('measures only the delay where the thread clock reads nothing', async () => {
    const nothing = { read: (): ThreadTimes | null => null, close: () => undefined };
    const m = new LateTickMonitor(nothing, 10);
    try {
      busy(60);
      const w = await waitFor('a late tick', () => { const t = m.take(); return t.lateMs > 40 ? t : null; }, { timeoutMs: 5000, intervalMs: 20 });
      expect([w.ownCpuMs, w.cpuWaitMs]).to.deep.equal([null, null]);
    } finally {
      m.stop();
    }
  });
});
