/** The counters of an import and their text forms (progress line, final report). Pure. */
import { bar } from '../cli/render-progress.js';
import { formatCount, truncate } from '../cli/text.js';

export interface ImportCounts {
  /** Keys SCAN returned (a key may be returned more than once: SCAN's guarantee is at least once). */
  scanned: number;
  /** String keys written to IrisDB. */
  copied: number;
  /** Of those, keys written with an expiry. */
  withTtl: number;
  /** Keys gone (deleted or expired) between SCAN and the read. */
  vanished: number;
  /** Keys not copied, by type (list, hash...). */
  skippedByType: Record<string, number>;
  /** String keys IrisDB refused (NOPERM: outside the target user's key patterns); absent in older checkpoints. */
  refused?: number;
}

export function emptyCounts(): ImportCounts {
  return { scanned: 0, copied: 0, withTtl: 0, vanished: 0, skippedByType: {} };
}

export function skippedTotal(c: ImportCounts): number {
  return Object.values(c.skippedByType).reduce((a, b) => a + b, 0);
}

export function skippedText(byType: Readonly<Record<string, number>>): string {
  const entries = Object.entries(byType).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? 'none' : entries.map(([t, n]) => `${t} ${formatCount(n)}`).join(', ');
}

/** One progress line; `total`: the source's key count when the import started (DBSIZE), 0 if unknown. */
export function importProgressLine(c: ImportCounts, total: number, keysPerSec: number, opts: { tty: boolean; width: number }): string {
  const skipped = skippedTotal(c);
  const parts = [
    `${formatCount(c.scanned)}${total > 0 ? `/${formatCount(total)}` : ''} keys scanned`,
    `${formatCount(c.copied)} copied (${formatCount(c.withTtl)} with TTL)`,
    ...(skipped > 0 ? [`${formatCount(skipped)} not strings (${skippedText(c.skippedByType)})`] : []),
    ...((c.refused ?? 0) > 0 ? [`${formatCount(c.refused ?? 0)} refused (NOPERM)`] : []),
    `${formatCount(Math.round(keysPerSec))} keys/s`,
  ];
  const line = parts.join(' · ');
  if (!opts.tty) return line;
  const f = total > 0 ? Math.min(1, c.scanned / total) : 0;
  return truncate(`${bar(f, opts.width >= 120 ? 20 : 10)} ${line}`, Math.max(1, opts.width - 1));
}

/** The first refused keys and the node's error text (bulk-writer.ts). */
export interface RefusedKeys {
  readonly keys: readonly string[];
  readonly reason: string | null;
}

export interface VerifyResult {
  readonly checked: number;
  readonly mismatches: readonly string[];
}

/** The report printed when the copy ends. */
export function importReport(c: ImportCounts, seconds: number, verify: VerifyResult | null, refused: RefusedKeys | null = null): string {
  const lines = [
    `keys scanned:        ${formatCount(c.scanned)}`,
    `strings copied:      ${formatCount(c.copied)} (${formatCount(c.withTtl)} with a TTL)`,
    `not copied (type):   ${skippedText(c.skippedByType)}`,
    `gone during copy:    ${formatCount(c.vanished)} (deleted or expired between SCAN and read)`,
    ...((c.refused ?? 0) > 0 ? [`refused by IrisDB:   ${formatCount(c.refused ?? 0)} (NOPERM: not written; the target user may not write them)`] : []),
    `time:                ${seconds.toFixed(1)} s (${formatCount(Math.round(c.copied / Math.max(seconds, 0.001)))} keys/s)`,
  ];
  for (const k of refused?.keys ?? []) lines.push(`  refused: ${truncate(k, 200)}`);
  if (refused?.reason != null) lines.push(`  reason: ${truncate(refused.reason, 300)}`);
  if (verify !== null) {
    lines.push(`verified:            ${formatCount(verify.checked)} keys, ${verify.mismatches.length === 0 ? 'all equal' : `${verify.mismatches.length} differ`}`);
    for (const m of verify.mismatches.slice(0, 10)) lines.push(`  differs: ${m}`);
  }
  return lines.join('\n') + '\n';
}
