/**
 * Data sets for the import tests and benchmark: string keys in every RDB
 * encoding (integers, short text, long repetitive values that Redis stores
 * LZF-compressed, binary), some with a TTL, loaded into a real Redis with
 * pipelines; and comparing every key of a source with IrisDB.
 */
import type { Cluster, Redis } from 'ioredis';

/** The value of the i-th key: a mix of encodings. */
export function fixtureValue(prefix: string, i: number): Buffer {
  switch (i % 4) {
    case 0: return Buffer.from(String(i * 7919 - 1_000_000));
    case 1: return Buffer.from(`${prefix}value-${i}`);
    case 2: return Buffer.from(`${prefix}${'abc'.repeat(10 + (i % 20))}${i}`);
    default: return Buffer.from([0xff, 0x00, i & 0xff, (i >> 8) & 0xff, 0xfe]);
  }
}

/** Loads `n` keys `${prefix}${i}`; every `ttlEvery`-th one gets a TTL of 200-1200 s. Returns how many have a TTL. */
export async function loadStrings(r: Redis | Cluster, prefix: string, n: number, ttlEvery = 5): Promise<number> {
  let withTtl = 0;
  const CHUNK = 5000;
  for (let start = 0; start < n; start += CHUNK) {
    const writes: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(n, start + CHUNK); i++) {
      const key = `${prefix}${i}`;
      if (i % ttlEvery === 0) {
        withTtl++;
        writes.push(r.set(key, fixtureValue(prefix, i), 'PX', 200_000 + (i % 1000) * 1000));
      } else writes.push(r.set(key, fixtureValue(prefix, i)));
    }
    await Promise.all(writes);
  }
  return withTtl;
}

export interface Difference {
  readonly key: string;
  readonly why: string;
}

/**
 * Every key of `source` (a node: SCAN covers what it holds) whose name
 * starts with `prefix` read again from both sides: value equal, expiry on
 * both or neither, within `ttlToleranceMs`.
 */
export async function compareAll(source: Redis, target: Cluster, prefix: string, ttlToleranceMs: number): Promise<{ checked: number; differences: Difference[] }> {
  const differences: Difference[] = [];
  let checked = 0;
  let cursor = '0';
  do {
    const [next, keys] = await source.scanBuffer(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next.toString();
    const [src, dst] = await Promise.all([
      Promise.all(keys.map((k) => Promise.all([source.getBuffer(k).catch(() => null), source.pttl(k)]))),
      Promise.all(keys.map((k) => Promise.all([target.getBuffer(k), target.pttl(k)]))),
    ]);
    keys.forEach((k, i) => {
      const [sv, st] = src[i]!;
      const [dv, dt] = dst[i]!;
      if (sv === null) return; // not a string
      checked++;
      const key = k.toString('latin1');
      if (dv === null || !sv.equals(dv)) differences.push({ key, why: `value ${dv === null ? 'missing' : 'differs'}` });
      else if ((st > 0) !== (dt > 0)) differences.push({ key, why: `pttl ${st} at the source, ${dt} in IrisDB` });
      else if (st > 0 && Math.abs(st - dt) > ttlToleranceMs) differences.push({ key, why: `pttl ${st} at the source, ${dt} in IrisDB` });
    });
  } while (cursor !== '0');
  return { checked, differences };
}

/**
 * Starts two things at once and waits for both: when one fails, the other
 * is still handed to `keep` (so the suite's after hook stops it) before the
 * failure is thrown.
 */
export async function startBoth<A, B>(a: Promise<A>, b: Promise<B>, keep: (a: A | undefined, b: B | undefined) => void): Promise<void> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  keep(ra.status === 'fulfilled' ? ra.value : undefined, rb.status === 'fulfilled' ? rb.value : undefined);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
}
