/**
 * The verification pass: a sample of the keys copied (reservoir-sampled
 * over the whole copy) read again from the source and from IrisDB; a key
 * differs when its value differs, or one side has an expiry and the other
 * not, or the two expiries are more than `ttlToleranceMs` apart. A key
 * changed at the source after it was copied differs too (that is what
 * --follow is for).
 */
import type { Cluster, Redis } from 'ioredis';
import type { VerifyResult } from './import-counts.js';

/** Algorithm R: keeps a uniform sample of `size` of everything offered. */
export class Reservoir<T> {
  readonly items: T[] = [];
  private seen = 0;
  constructor(private readonly size: number, private readonly random: () => number = Math.random) {}
  offer(x: T): void {
    this.seen++;
    if (this.items.length < this.size) this.items.push(x);
    else {
      const j = Math.floor(this.random() * this.seen);
      if (j < this.size) this.items[j] = x;
    }
  }
}

function show(k: Buffer): string {
  const s = k.toString('utf8');
  return /^[\x20-\x7e]*$/.test(s) ? JSON.stringify(s) : `base64:${k.toString('base64')}`;
}

/** The source's value and PTTL of a key. */
export type ReadKey = (k: Buffer) => Promise<[Buffer | null, number]>;

export function readFrom(r: Redis | Cluster): ReadKey {
  return (k) => Promise.all([r.getBuffer(k).catch(() => null), r.pttl(k)]);
}

export async function verifySample(keys: readonly Buffer[], readSource: ReadKey, target: Cluster, ttlToleranceMs: number): Promise<VerifyResult> {
  const mismatches: string[] = [];
  const CHUNK = 500;
  for (let i = 0; i < keys.length; i += CHUNK) {
    const part = keys.slice(i, i + CHUNK);
    const [src, dst] = await Promise.all([
      Promise.all(part.map(readSource)),
      Promise.all(part.map(readFrom(target))),
    ]);
    part.forEach((k, j) => {
      const [sv, st] = src[j]!;
      const [dv, dt] = dst[j]!;
      if (sv === null && dv === null) return;
      if (sv === null || dv === null || !sv.equals(dv)) mismatches.push(`${show(k)}: value ${sv === null ? 'missing at the source' : dv === null ? 'missing in IrisDB' : 'differs'}`);
      else if ((st > 0) !== (dt > 0)) mismatches.push(`${show(k)}: expiry ${st > 0 ? `${st} ms at the source, none in IrisDB` : `none at the source, ${dt} ms in IrisDB`}`);
      else if (st > 0 && Math.abs(st - dt) > ttlToleranceMs) mismatches.push(`${show(k)}: TTL ${st} ms at the source, ${dt} ms in IrisDB`);
    });
  }
  return { checked: keys.length, mismatches };
}
