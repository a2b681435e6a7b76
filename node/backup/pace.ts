/** The backup read's pace limits (`backup create --max-rate`, `--backup-cpu-percent`). Pure. */

/** Longest single pause: the reader still reports progress at least this often. */
const MAX_PAUSE_MS = 1000;

/** How long to pause so that `bytes` read in `elapsedMs` stays within `rate` bytes/s (0: go on). */
export function paceDelayMs(bytes: number, elapsedMs: number, rate: number | null): number {
  if (rate === null || rate <= 0) return 0;
  return Math.max(0, Math.min(MAX_PAUSE_MS, (bytes / rate) * 1000 - elapsedMs));
}

/**
 * How long to pause so that `cpuMs` of CPU used in `elapsedMs` stays within
 * `percent` of one core (0: go on; 100 or more: no budget). The CPU a
 * process spends is what it takes from the foreground on a busy machine
 * whatever its nice value (docs/backup.md), so the budget is on CPU time,
 * not on bytes: the same limit holds for cheap and costly rows.
 */
export function cpuBudgetDelayMs(cpuMs: number, elapsedMs: number, percent: number): number {
  if (percent >= 100) return 0;
  return Math.max(0, Math.min(MAX_PAUSE_MS, (cpuMs * 100) / percent - elapsedMs));
}
