/** Durations on the command line: "90s", "30m", "1h", "500ms"; a bare number is seconds. Pure. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** Longer than any operation should take, and well inside setTimeout's range. */
const MAX_MS = 7 * 24 * 3_600_000;

/** Milliseconds, or null when `text` is not a positive duration of at most a week. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,12})(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  return ms > 0 && ms <= MAX_MS ? ms : null;
}

/** 1_830_000 → "30m30s"; 500 → "500ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 || (h === 0 && m === 0) ? `${s}s` : ''}`;
}
