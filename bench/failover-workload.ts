/**
 * The workload of the failover-vs-redis benchmark, the same for IrisDB and
 * Redis Cluster: unpipelined loops, LOOPS_PER_SHARD per shard, each on its
 * own keys of that shard's slots, doing SET key <increasing sequence> then
 * GET key, WRITES_PER_KEY times per key before moving to a fresh key (so a
 * lost write is rarely hidden by a later one). Every SET and GET is recorded
 * with its send and reply times for the register check
 * (failover-register.ts); a probe measures, on the shard under fault, the
 * first OK to a write sent after the signal and the longest stretch without
 * any OK.
 */
import { performance } from 'node:perf_hooks';
import type { Cluster } from 'ioredis';
import type { SlotRange } from '../common/cluster-map.js';
import { SLOT_COUNT, keySlot } from '../common/slot.js';
import { seqOf, valueFor } from '../test/support/repl-shard.js';
import { delay } from './control-plane.js';
import type { ReadOp, WriteOp } from './failover-register.js';

const LOOPS_PER_SHARD = 2;
const WRITES_PER_KEY = 3;
/** After an error a loop waits this long, so a shard without a primary is not hammered. */
const ERROR_BACKOFF_MS = 10;

/** The measurement on the shard under fault. */
interface Probe {
  readonly shard: number;
  readonly from: number;
  /** First OK to a write sent at or after `from`. */
  firstAck: number | null;
  lastAck: number;
  maxGapMs: number;
  closed: boolean;
}

export interface ProbeResult {
  /** Signal → first OK to a write sent after it (ms); null if none came. */
  readonly recoveryMs: number | null;
  /** The longest stretch without any OK on the shard, from the last OK before the signal to the window's end (ms). */
  readonly unavailableMs: number;
}

export class FailoverWorkload {
  readonly writes: WriteOp[] = [];
  readonly reads: ReadOp[] = [];
  readonly keys: string[] = [];
  errors = 0;
  readonly errorKinds = new Set<string>();
  private readonly lastAckAt: number[];
  private readonly lastAckedSent: number[];
  private probe: Probe | null = null;
  private stopFlag = false;
  private readonly loops: Promise<void>[] = [];

  /** `prefix` makes this workload's keys its own; the loops end by themselves after `boundMs`. */
  constructor(private readonly client: Cluster, shardSlots: readonly (readonly SlotRange[])[], prefix: string, boundMs: number) {
    this.lastAckAt = shardSlots.map(() => -Infinity);
    this.lastAckedSent = shardSlots.map(() => -Infinity);
    const deadline = performance.now() + boundMs;
    shardSlots.forEach((ranges, shard) => {
      const mine = new Uint8Array(SLOT_COUNT);
      for (const [a, b] of ranges) mine.fill(1, a, b + 1);
      for (let l = 0; l < LOOPS_PER_SHARD; l++) {
        const id = shard * LOOPS_PER_SHARD + l;
        this.loops.push(this.loop(shard, id, `${prefix}${id}:`, mine, deadline));
      }
    });
  }

  private async loop(shard: number, id: number, prefix: string, mine: Uint8Array, deadline: number): Promise<void> {
    let seq = 0;
    for (let i = 0; !this.stopFlag && performance.now() < deadline; i++) {
      const key = `${prefix}${i}`;
      if (mine[keySlot(key)] !== 1) continue;
      this.keys.push(key);
      for (let w = 0; w < WRITES_PER_KEY && !this.stopFlag && performance.now() < deadline; w++) {
        seq++;
        if (!(await this.set(shard, id, key, seq))) await delay(ERROR_BACKOFF_MS);
        if (!(await this.get(key))) await delay(ERROR_BACKOFF_MS);
      }
    }
  }

  private async set(shard: number, id: number, key: string, seq: number): Promise<boolean> {
    const call = performance.now();
    const op = { key, seq, call, ack: null as number | null };
    this.writes.push(op);
    try {
      const reply = await this.client.set(key, valueFor(id, seq));
      if (reply !== 'OK') throw new Error(`SET answered ${String(reply)}`);
    } catch (err) {
      // No OK: the write may or may not have landed, which the check allows.
      this.noteError(err);
      return false;
    }
    const ack = performance.now();
    op.ack = ack;
    this.lastAckAt[shard] = Math.max(this.lastAckAt[shard]!, ack);
    this.lastAckedSent[shard] = Math.max(this.lastAckedSent[shard]!, call);
    const p = this.probe;
    if (p !== null && p.shard === shard && !p.closed) {
      if (p.firstAck === null && call >= p.from) p.firstAck = ack;
      p.maxGapMs = Math.max(p.maxGapMs, ack - p.lastAck);
      p.lastAck = Math.max(p.lastAck, ack);
    }
    return true;
  }

  private async get(key: string): Promise<boolean> {
    const call = performance.now();
    try {
      const v = await this.client.get(key);
      this.reads.push({ key, seq: v === null ? null : seqOf(v), call, ret: performance.now() });
      return true;
    } catch (err) {
      this.noteError(err);
      return false;
    }
  }

  private noteError(err: unknown): void {
    this.errors++;
    if (this.errorKinds.size < 20) this.errorKinds.add((err as Error).message.replace(/\d+/g, 'N').slice(0, 120));
  }

  /** Writes to `shard` are being acknowledged: one sent at or after `since` got OK. */
  healthy(shard: number, since: number): boolean {
    return this.lastAckedSent[shard]! >= since;
  }

  /** Starts measuring `shard` from `from` (performance.now()); the gap counts from its last OK before. */
  arm(shard: number, from: number): void {
    const last = this.lastAckAt[shard]!;
    this.probe = { shard, from, firstAck: null, lastAck: Number.isFinite(last) ? last : from, maxGapMs: 0, closed: false };
  }

  /** The probe's first OK (performance.now()) or null. */
  firstAck(): number | null {
    return this.probe?.firstAck ?? null;
  }

  /** Ends the measurement window. */
  closeProbe(): ProbeResult {
    const p = this.probe;
    if (p === null) throw new Error('closeProbe() before arm()');
    if (!p.closed) {
      p.maxGapMs = Math.max(p.maxGapMs, performance.now() - p.lastAck);
      p.closed = true;
    }
    return { recoveryMs: p.firstAck === null ? null : p.firstAck - p.from, unavailableMs: p.maxGapMs };
  }

  async stop(): Promise<void> {
    this.stopFlag = true;
    await Promise.all(this.loops);
  }
}
