/**
 * Crash-loop back-off, as the kubelet does it: the delay before restart n
 * doubles from `baseMs` up to `maxMs`, and resets once a container has run
 * for `resetAfterMs` without exiting. The test kubelet uses shorter numbers
 * than a real one (10 s doubling to 5 min) so faults recover within a test.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const TEST_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 30000, resetAfterMs: 60000 };

/**
 * The delay before the next start, given how many restarts happened in the
 * current streak and how long the last run lasted. Returns the delay and
 * the new streak length.
 */
export function nextBackoff(policy: BackoffPolicy, streak: number, lastRunMs: number): { delayMs: number; streak: number } {
  if (lastRunMs >= policy.resetAfterMs) return { delayMs: 0, streak: 0 };
  const s = streak + 1;
  const delayMs = Math.min(policy.baseMs * 2 ** Math.min(s - 1, 30), policy.maxMs);
  return { delayMs, streak: s };
}
