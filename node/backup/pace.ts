/** The backup read's pace limit (`backup create --max-rate`). Pure. */

/** Longest single pause: the reader still reports progress at least this often. */
const MAX_PAUSE_MS = 1000;

/** How long to pause so that `bytes` read in `elapsedMs` stays within `rate` bytes/s (0: go on). */
export function paceDelayMs(bytes: number, elapsedMs: number, rate: number | null): number {
  if (rate === null || rate <= 0) return 0;
  return Math.max(0, Math.min(MAX_PAUSE_MS, (bytes / rate) * 1000 - elapsedMs));
}
