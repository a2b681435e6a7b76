/** Options and hooks shared by the RESP and HTTP clients. */
import type { BreakerOptions, BreakerState } from './circuit-breaker.js';
import type { CommandKind } from './retry-policy.js';

/** `default`: the primary answers. `eventual`: a replica may answer (it may lag). `strong`: the primary first proves it still leads its shard (RESP: IRIS.CONSISTENCY strong around the read; HTTP: ?consistency=strong). */
export type ReadConsistency = 'strong' | 'default' | 'eventual';

export interface RetryOptions {
  /** Attempts in all, the first included (1 = never retry). */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 500 };

export interface PoolOptions {
  /** Commands in flight at once on this client; more wait. */
  readonly maxInFlight: number;
  /** Commands allowed to wait for a slot; more fail at once with PoolExhaustedError. */
  readonly maxWaiting: number;
}

export const DEFAULT_POOL: PoolOptions = { maxInFlight: 1000, maxWaiting: 10_000 };

/** Callbacks for metrics; each must be cheap and must not throw. */
export interface MetricsHooks {
  /** Every finished command: its total time (all attempts) and whether it succeeded. */
  onCommand?(e: { command: string; kind: CommandKind; durationMs: number; attempts: number; ok: boolean; error?: string }): void;
  /** Before each retry. */
  onRetry?(e: { command: string; attempt: number; reason: string; delayMs: number; node: string | null }): void;
  /** A node's breaker changed state. */
  onBreakerStateChange?(e: { node: string; from: BreakerState; to: BreakerState }): void;
  /** The client asked for a fresh slot map. */
  onSlotMapRefresh?(e: { reason: string }): void;
}

/** Per-call options. */
export interface CallOptions {
  /** Abort the call (it rejects with IrisAbortError; a command already sent may still run). */
  readonly signal?: AbortSignal;
  /** Give up after this long, all attempts included (ms). */
  readonly deadlineMs?: number;
}

export interface ReadOptions extends CallOptions {
  readonly consistency?: ReadConsistency;
}

export type { BreakerOptions };
