/**
 * Per-slot digests for the consistency checks (docs/architecture.md §3): a count and an
 * order-independent hash of every row's key, value and expiry, so a primary
 * and a replica can compare a slot without shipping it, whatever order their
 * rows are stored in. Pure: no I/O.
 */
import { createHash, hash } from 'node:crypto';
import type { SlotDigest } from '../../common/replication.js';
import { SLOT_COUNT } from '../../common/slot.js';

const SCRATCH_BYTES = 64 * 1024;

interface SlotSum {
  count: number;
  hi: number;
  lo: number;
}

/**
 * Each row contributes SHA-1(u32 keyLen|key|u32 valueLen|value|f64 expiresAt
 * or -1); a slot's hash is the sum mod 2^32 of the digest's first two 32-bit
 * lanes over its rows (addition commutes, so row order does not matter),
 * printed as 16 lowercase hex characters.
 */
export class DigestAccumulator {
  private readonly slots = new Map<number, SlotSum>();
  /** Small rows are laid out here and hashed in one call: cheaper than five update() calls per row. */
  private readonly scratch = Buffer.alloc(SCRATCH_BYTES);

  add(slot: number, key: Buffer, value: Buffer, expiresAt: number | null): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) throw new RangeError(`slot ${slot} is not in 0..${SLOT_COUNT - 1}`);
    const d = key.length + value.length + 16 <= SCRATCH_BYTES ? this.hashSmall(key, value, expiresAt) : hashLarge(key, value, expiresAt);
    let s = this.slots.get(slot);
    if (s === undefined) {
      s = { count: 0, hi: 0, lo: 0 };
      this.slots.set(slot, s);
    }
    s.count++;
    s.hi = (s.hi + d.readUInt32BE(0)) >>> 0;
    s.lo = (s.lo + d.readUInt32BE(4)) >>> 0;
  }

  private hashSmall(key: Buffer, value: Buffer, expiresAt: number | null): Buffer {
    const b = this.scratch;
    let p = b.writeUInt32BE(key.length, 0);
    p += key.copy(b, p);
    p = b.writeUInt32BE(value.length, p);
    p += value.copy(b, p);
    p = b.writeDoubleBE(expiresAt ?? -1, p);
    return hash('sha1', b.subarray(0, p), 'buffer');
  }

  /** Digests of the non-empty slots, ascending by slot. */
  result(): SlotDigest[] {
    return [...this.slots.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([slot, s]) => ({ slot, count: s.count, hash: hex8(s.hi) + hex8(s.lo) }));
  }
}

/** Large values are streamed into the hash rather than copied. */
function hashLarge(key: Buffer, value: Buffer, expiresAt: number | null): Buffer {
  const field = Buffer.allocUnsafe(8);
  const h = createHash('sha1');
  field.writeUInt32BE(key.length, 0);
  h.update(field.subarray(0, 4));
  h.update(key);
  field.writeUInt32BE(value.length, 0);
  h.update(field.subarray(0, 4));
  h.update(value);
  field.writeDoubleBE(expiresAt ?? -1, 0);
  h.update(field);
  return h.digest();
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Slots whose digests differ between two reports (present in only one, or count/hash differ), ascending. */
export function diffDigests(a: readonly SlotDigest[], b: readonly SlotDigest[]): number[] {
  const inB = new Map<number, SlotDigest>();
  for (const d of b) inB.set(d.slot, d);
  const out = new Set<number>();
  const seen = new Set<number>();
  for (const d of a) {
    seen.add(d.slot);
    const o = inB.get(d.slot);
    if (o === undefined || o.count !== d.count || o.hash !== d.hash) out.add(d.slot);
  }
  for (const d of b) if (!seen.has(d.slot)) out.add(d.slot);
  return [...out].sort((x, y) => x - y);
}
