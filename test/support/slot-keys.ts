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

/**
 * `keys` in groups that share a hash slot (one MSET or MGET each: a cluster client's fewest commands for them),
 * the groups in batches of about `batchKeys` keys to send at once. Each group keeps the order of `keys`.
 */
export function slotBatches(keys: readonly string[], batchKeys = 2000): string[][][] {
  const groups = new Map<number, string[]>();
  for (const k of keys) {
    const slot = keySlot(k);
    const g = groups.get(slot);
    if (g === undefined) groups.set(slot, [k]);
    else g.push(k);
  }
  const batches: string[][][] = [];
  let batch: string[][] = [];
  let inBatch = 0;
  for (const g of groups.values()) {
    batch.push(g);
    inBatch += g.length;
    if (inBatch >= batchKeys) {
      batches.push(batch);
      batch = [];
      inBatch = 0;
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
