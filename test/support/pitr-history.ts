/**
 * The history of a point-in-time restore test: each write with the times it
 * was issued and acknowledged, and what a restore to a time T must hold
 * (every write acknowledged before T, none issued after; a write in flight
 * at T, or one that failed, may be either: those keys are not checked).
 */
import { expect } from 'chai';
import type { Cluster } from 'ioredis';
import type { LocalCluster } from './local-cluster.js';

export interface PitrWrite {
  readonly key: string;
  /** null: a DEL. */
  readonly value: string | null;
  readonly ttl: boolean;
  readonly issuedAt: number;
  ackedAt: number | null;
  failed: boolean;
}

export class PitrHistory {
  readonly writes: PitrWrite[] = [];

  constructor(private readonly shortTtlMs: number) {}

  /** A SET (or DEL when value is null, or SET PX shortTtlMs when ttl), recorded with its issue and acknowledgement times. */
  async write(client: Cluster, key: string, value: string | null, ttl = false): Promise<void> {
    const w: PitrWrite = { key, value, ttl, issuedAt: Date.now(), ackedAt: null, failed: false };
    this.writes.push(w);
    const op = value === null ? client.del(key) : ttl ? client.set(key, value, 'PX', this.shortTtlMs) : client.set(key, value);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([op, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), 5000)))]);
      w.ackedAt = Date.now();
    } catch {
      w.failed = true;
      op.catch(() => undefined);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Per key: the expected value at `t` (null: absent), or undefined when a write in flight at t or a failed one makes it uncertain. */
  expectedAt(t: number): Map<string, string | null | undefined> {
    const out = new Map<string, string | null | undefined>();
    for (const w of this.writes) {
      if (w.issuedAt > t) continue;
      const prev = out.get(w.key);
      if (prev === undefined && out.has(w.key)) continue;
      if (w.failed || w.ackedAt === null || w.ackedAt > t) out.set(w.key, undefined);
      else out.set(w.key, w.ttl ? null : w.value); // a short TTL has run out by the time of the restore
    }
    return out;
  }

  /** Checks a restored cluster against expectedAt(t); resolves with how many keys were checked. */
  async checkRestored(c: LocalCluster, t: number): Promise<number> {
    const want = this.expectedAt(t);
    const keys = [...new Set(this.writes.map((w) => w.key))];
    const got = await c.getAll(keys);
    const wrong: string[] = [];
    let checked = 0;
    keys.forEach((k, i) => {
      if (!want.has(k)) {
        if (got[i] !== null) wrong.push(`${k}: first written after T, restored as ${got[i]}`);
        return;
      }
      const v = want.get(k);
      if (v === undefined) return;
      checked++;
      if (got[i] !== v) wrong.push(`${k}: want ${v} got ${got[i]}`);
    });
    expect(wrong.slice(0, 5), `${wrong.length} keys differ`).to.deep.equal([]);
    return checked;
  }
}
