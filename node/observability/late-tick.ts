/**
 * The event loop's worst late tick and what the main thread did during it
 * (issue #16). irisdb_event_loop_delay_seconds says how late the loop was; it
 * cannot say whether the node's own work held it (a long turn: its CPU) or
 * the machine did (the thread runnable but waiting for a CPU, or blocked in
 * the kernel, e.g. a COMMIT's WAL write). A timer ticks every `intervalMs`
 * and reads the main thread's Linux schedstat (run time, run-queue wait) at
 * each tick; the most delayed tick since the last take() is kept with
 * the thread's run and wait time between it and the tick before. The rest of
 * a late tick's wall time is neither: the thread was blocked (I/O, locks).
 *
 * Cost: one read of a /proc file per tick (about 10-20 µs), i.e. 0.1-0.2 %
 * of one core at 10 ms. Where /proc is not available (not Linux) the clock
 * reads null and only the delay is measured.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Cumulative main-thread time, ms: running on a CPU, and runnable waiting for one. */
export interface ThreadTimes {
  readonly runMs: number;
  readonly waitMs: number;
}

export interface ThreadClock {
  read(): ThreadTimes | null;
  close(): void;
}

/** The main thread's /proc/self/task/<pid>/schedstat (its thread id is the process id). */
export function schedstatClock(pid: number = process.pid): ThreadClock {
  const file = `/proc/self/task/${pid}/schedstat`;
  let fd: number | null = null;
  const buf = Buffer.alloc(128);
  return {
    read() {
      try {
        fd ??= fs.openSync(file, 'r');
        const n = fs.readSync(fd, buf, 0, buf.length, 0);
        const [run, wait] = buf.toString('latin1', 0, n).split(' ');
        return { runMs: Number(run) / 1e6, waitMs: Number(wait) / 1e6 };
      } catch {
        return null;
      }
    },
    close() {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}

export interface LateTick {
  /** How much later than scheduled the tick ran, ms. */
  readonly lateMs: number;
  /** The main thread's CPU time over the tick's interval (its own work), ms; null where unknown. */
  readonly ownCpuMs: number | null;
  /** The main thread's run-queue wait over the interval (the machine's), ms; null where unknown. */
  readonly cpuWaitMs: number | null;
}

const NONE: LateTick = { lateMs: 0, ownCpuMs: null, cpuWaitMs: null };

export class LateTickMonitor {
  private worst: LateTick = NONE;
  private lastAt = performance.now();
  private lastTimes: ThreadTimes | null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly clock: ThreadClock,
    private readonly intervalMs = 10,
  ) {
    this.lastTimes = clock.read();
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** The most delayed tick since the previous take() (zero delay if none was late), and starts over. */
  take(): LateTick {
    const w = this.worst;
    this.worst = NONE;
    return w;
  }

  stop(): void {
    clearInterval(this.timer);
    this.clock.close();
  }

  private tick(): void {
    const now = performance.now();
    const times = this.clock.read();
    const late = now - this.lastAt - this.intervalMs;
    if (late > this.worst.lateMs) {
      const before = this.lastTimes;
      const known = times !== null && before !== null;
      this.worst = { lateMs: late, ownCpuMs: known ? times.runMs - before.runMs : null, cpuWaitMs: known ? times.waitMs - before.waitMs : null };
    }
    this.lastAt = now;
    this.lastTimes = times;
  }
}
