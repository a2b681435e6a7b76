/** Key names whose hash slots lie in given ranges (to load or write one shard's slots). Pure. */
import type { SlotRange } from '../../common/cluster-map.js';
import { SLOT_COUNT, keySlot } from '../../common/slot.js';

/** The first `n` keys `${prefix}0`, `${prefix}1`, … whose slots lie in `ranges`. */
export function keysInSlots(prefix: string, ranges: readonly SlotRange[], n: number): string[] {
  const want = new Uint8Array(SLOT_COUNT);
  for (const [a, b] of ranges) want.fill(1, a, b + 1);
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (want[keySlot(`${prefix}${i}`)] === 1) out.push(`${prefix}${i}`);
  return out;
}
