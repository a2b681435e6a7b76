/**
 * The failover benchmark's checker (failover.ts): one ioredis Cluster
 * client, unpipelined write loops on keys of every shard's slots, every
 * acknowledged write recorded, and the measurement of the first OK on a
 * shard after a fault.
 */
import { performance } from 'node:perf_hooks';
import { Cluster } from 'ioredis';
import type { SlotRange } from '../common/cluster-map.js';
import { AckLog } from '../test/support/ack-log.js';
import { valueFor } from '../test/support/repl-shard.js';
import { keysInSlots } from '../test/support/slot-keys.js';
import { delay } from './control-plane.js';

/** The checker's client: see docs/benchmarks.md (a paused primary sends no error; the client must time out and re-read the slots). */
export const CHECKER_CLIENT = {
  commandTimeoutMs: Number(process.env.BENCH_FAILOVER_COMMAND_TIMEOUT_MS ?? 500),
  slotsRefreshIntervalMs: 250,
  slotsRefreshTimeoutMs: 500,
  retryDelayOnFailoverMs: 100,
} as const;
const LOOPS_PER_SHARD = 2;
const KEYS_PER_LOOP = 100;
/** After an error a loop waits this long before its next write, so a shard without a primary is not hammered. */
const ERROR_BACKOFF_MS = 10;

export function checkerClient(seedPort: number): Cluster {
  const c = new Cluster([{ host: '127.0.0.1', port: seedPort }], {
    maxRedirections: 64,
    retryDelayOnTryAgain: 50,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: CHECKER_CLIENT.retryDelayOnFailoverMs,
    slotsRefreshInterval: CHECKER_CLIENT.slotsRefreshIntervalMs,
    slotsRefreshTimeout: CHECKER_CLIENT.slotsRefreshTimeoutMs,
    redisOptions: { enableReadyCheck: false, commandTimeout: CHECKER_CLIENT.commandTimeoutMs },
  });
  c.on('error', () => {});
  return c;
}

/** A measurement on one shard: the first OK to a write sent at or after `from`, and the gaps between OKs after it. */
interface Armed {
  readonly shard: number;
  readonly from: number;
  ackAt: number | null;
  lastAckAt: number;
  maxGapMs: number;
  /** The gap window is over: later OKs no longer count. */
  closed: boolean;
  readonly errors: Map<string, number>;
}

/**
 * Unpipelined SET loops, LOOPS_PER_SHARD per shard, each on its own keys of
 * that shard's slots with increasing sequences (so the AckLog can tell a
 * lost write from an in-flight one). arm() starts a measurement: the first
 * OK, on that shard, to a write sent at or after the given instant.
 */
export class Checker {
  readonly log = new AckLog();
  errors = 0;
  readonly errorKinds = new Set<string>();
  /** Per shard index: the send time of the latest acknowledged write. */
  private readonly lastAckedSent: number[];
  private armed: Armed | null = null;
  private stopFlag = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly client: Cluster, shardSlots: readonly (readonly SlotRange[])[], deadlineMs: number) {
    this.lastAckedSent = shardSlots.map(() => -Infinity);
    const deadline = Date.now() + deadlineMs;
    shardSlots.forEach((ranges, shard) => {
      for (let l = 0; l < LOOPS_PER_SHARD; l++) {
        const id = shard * LOOPS_PER_SHARD + l;
        this.loops.push(this.loop(shard, id, keysInSlots(`fo${id}:`, ranges, KEYS_PER_LOOP), deadline));
      }
    });
  }

  private async loop(shard: number, id: number, keys: readonly string[], deadline: number): Promise<void> {
    for (let seq = 1; !this.stopFlag && Date.now() < deadline; seq++) {
      const key = keys[seq % keys.length]!;
      this.log.sent(key, seq);
      const sentAt = performance.now();
      try {
        const reply = await this.client.set(key, valueFor(id, seq));
        if (reply !== 'OK') throw new Error(`SET answered ${String(reply)}`);
        const ackAt = performance.now();
        this.log.acked(key, seq);
        this.lastAckedSent[shard] = Math.max(this.lastAckedSent[shard]!, sentAt);
        const a = this.armed;
        if (a !== null && a.shard === shard) {
          if (a.ackAt === null && sentAt >= a.from) {
            a.ackAt = ackAt;
            a.lastAckAt = ackAt;
          } else if (a.ackAt !== null && !a.closed) {
            a.maxGapMs = Math.max(a.maxGapMs, ackAt - a.lastAckAt);
            a.lastAckAt = Math.max(a.lastAckAt, ackAt);
          }
        }
      } catch (err) {
        // Its reply was lost: the write may or may not have landed, which the log allows.
        this.errors++;
        const kind = (err as Error).message.replace(/\d+/g, 'N').slice(0, 120);
        if (this.errorKinds.size < 20) this.errorKinds.add(kind);
        const a = this.armed;
        if (a !== null && a.shard === shard && a.ackAt === null && a.errors.size < 20) a.errors.set(kind, (a.errors.get(kind) ?? 0) + 1);
        await delay(ERROR_BACKOFF_MS);
      }
    }
  }

  /** Writes to `shard` are being acknowledged: one sent at or after `since` got OK. */
  healthy(shard: number, since: number): boolean {
    return this.lastAckedSent[shard]! >= since;
  }

  arm(shard: number, from: number): void {
    this.armed = { shard, from, ackAt: null, lastAckAt: from, maxGapMs: 0, closed: false, errors: new Map() };
  }

  /** Ends the gap window: the longest gap between OKs since the first one, up to now (null if there was none). */
  closeGapWindow(): number | null {
    const a = this.armed;
    if (a === null || a.ackAt === null) return null;
    if (!a.closed) {
      a.maxGapMs = Math.max(a.maxGapMs, performance.now() - a.lastAckAt);
      a.closed = true;
    }
    return a.maxGapMs;
  }

  /** The errors the armed shard's loops got so far, message → count. */
  armedErrors(): Record<string, number> {
    return Object.fromEntries(this.armed?.errors ?? []);
  }

  /** The armed measurement's first OK (performance.now()), or null. */
  armedAck(): number | null {
    return this.armed?.ackAt ?? null;
  }

  async stop(): Promise<void> {
    this.stopFlag = true;
    await Promise.all(this.loops);
  }
}
