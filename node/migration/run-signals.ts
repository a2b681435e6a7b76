/**
 * How a source run's loop is woken and interrupted: progress wakes its
 * wait, a stop ends its sleeps, an operator abort ends its sleeps and the
 * wait for the target's flip answer.
 */
import { MigrationError } from './plan.js';

export class RunSignals {
  /** An operator abort arrived while the run was at the fence. */
  abortRequested = false;
  private readonly abortListeners = new Set<() => void>();
  private readonly stopListeners = new Set<() => void>();
  private wake: (() => void) | null = null;

  /** The run is stopping: sleeps end and the loop wakes up. */
  stopping(): void {
    for (const l of [...this.stopListeners]) l();
    this.wakeUp();
  }

  /** The operator aborts: sleeps end and a pending flip answer is given up on. */
  requestAbort(): void {
    this.abortRequested = true;
    for (const l of [...this.abortListeners, ...this.stopListeners]) l();
  }

  /** Ends the current waitForWake, if any. */
  wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Resolves at the next wakeUp, or after ms. */
  waitForWake(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wakeUp(), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Waits ms, or less if the run is stopped (or aborted) meanwhile. */
  sleepUnlessStopped(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stopListeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopListeners.add(done);
    });
  }

  /** `p`, unless an abort is requested first (then MigrationError interrupted). */
  untilAbortRequested<T>(p: Promise<T>): Promise<T> {
    if (this.abortRequested) return Promise.reject(new MigrationError('interrupted', 'abort requested'));
    return new Promise((resolve, reject) => {
      const listener = (): void => reject(new MigrationError('interrupted', 'abort requested'));
      this.abortListeners.add(listener);
      p.then(resolve, reject).finally(() => this.abortListeners.delete(listener));
    });
  }
}
