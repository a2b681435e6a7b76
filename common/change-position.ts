/**
 * Change feed positions (docs/change-feed.md "Positions"): `<shard>:<epoch>:<seq>`,
 * the last change a consumer has seen on one shard — the shard's id in the
 * cluster map (`standalone` without one), the epoch of the replication term
 * that wrote the change, and its sequence number in the shard's log. A list
 * of them, comma-separated, is what `irisctl watch --from` takes. Pure: no I/O.
 */
import { NODE_NAME } from './cluster-map.js';

export interface ChangePosition {
  readonly shard: string;
  readonly epoch: number;
  readonly seq: number;
}

/** The shard id of a node that is not in a cluster. */
export const STANDALONE_SHARD = 'standalone';

/** Most positions one list may hold (one per shard; a cluster map has at most this many nodes). */
export const MAX_POSITIONS = 1024;

export class ChangePositionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChangePositionError';
  }
}

export function formatPosition(p: ChangePosition): string {
  return `${p.shard}:${p.epoch}:${p.seq}`;
}

const DIGITS = /^(0|[1-9][0-9]{0,15})$/;

function wholeNumber(text: string, what: string, position: string): number {
  const n = DIGITS.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new ChangePositionError(`position ${JSON.stringify(position)}: ${what} ${JSON.stringify(text)} is not a whole number`);
  return n;
}

/** ChangePositionError for anything but `<shard>:<epoch>:<seq>` with a valid shard name and whole numbers. */
export function parsePosition(text: string): ChangePosition {
  const parts = text.split(':');
  if (parts.length !== 3) throw new ChangePositionError(`position ${JSON.stringify(text)} is not <shard>:<epoch>:<seq>`);
  const [shard, epoch, seq] = parts as [string, string, string];
  if (!NODE_NAME.test(shard)) throw new ChangePositionError(`position ${JSON.stringify(text)}: ${JSON.stringify(shard)} is not a shard id`);
  return { shard, epoch: wholeNumber(epoch, 'epoch', text), seq: wholeNumber(seq, 'sequence', text) };
}

/** Comma-separated positions, at most one per shard. An empty text is an empty list. */
export function parsePositionList(text: string): ChangePosition[] {
  if (text.trim() === '') return [];
  const items = text.split(',').map((s) => s.trim());
  if (items.length > MAX_POSITIONS) throw new ChangePositionError(`more than ${MAX_POSITIONS} positions`);
  const out: ChangePosition[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const p = parsePosition(item);
    if (seen.has(p.shard)) throw new ChangePositionError(`shard ${p.shard} appears twice in the position list`);
    seen.add(p.shard);
    out.push(p);
  }
  return out;
}

/** Sorted by shard id, so the same positions always print the same. */
export function formatPositionList(list: readonly ChangePosition[]): string {
  return [...list].sort((a, b) => (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : 0)).map(formatPosition).join(',');
}
