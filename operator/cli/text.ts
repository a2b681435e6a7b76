/** Small text helpers for the CLI's renderers: pure, no escape codes unless asked. */
import type { SlotRange } from '../../common/cluster-map.js';

const ESC = '\u001b[';

export type Color = 'red' | 'green' | 'yellow' | 'dim' | 'bold';
const CODES: Record<Color, string> = { red: '31', green: '32', yellow: '33', dim: '2', bold: '1' };

/** `s` wrapped in an ANSI colour when `on`, unchanged otherwise. */
export function paint(s: string, color: Color, on: boolean): string {
  return on ? `${ESC}${CODES[color]}m${s}${ESC}0m` : s;
}

/** Printable width (code points; escape sequences do not count). */
export function visibleLength(s: string): number {
  return [...s.replace(/\u001b\[[0-9;]*m/g, '')].length;
}

/** `s` cut to `width` code points, ending in … when cut. Plain text only. */
export function truncate(s: string, width: number): string {
  const cps = [...s];
  if (cps.length <= width) return s;
  if (width <= 0) return '';
  return cps.slice(0, width - 1).join('') + '…';
}

/** One line of text: control characters (newlines from a message) become spaces. */
export function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

/** "0-5460" or "42". */
export function formatRange([a, b]: SlotRange): string {
  return a === b ? String(a) : `${a}-${b}`;
}

/** Ranges joined by commas, at most `max` of them ("…+N more" after). */
export function formatRanges(ranges: readonly SlotRange[], max = 6): string {
  if (ranges.length === 0) return 'none';
  const shown = ranges.slice(0, max).map(formatRange).join(',');
  return ranges.length > max ? `${shown},…+${ranges.length - max} more` : shown;
}

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return Math.trunc(n).toLocaleString('en-US');
}

/** "1 shard", "3 shards". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Bytes in B/KiB/MiB/GiB with one decimal. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.trunc(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Rows aligned in columns (two spaces apart), each line prefixed by `indent`.
 * Cells may carry colour codes: widths are measured without them.
 */
export function table(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell)); });
  return rows.map((row) => {
    const cells = row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell))));
    return (indent + cells.join('  ')).trimEnd();
  });
}
