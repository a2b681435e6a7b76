/**
 * The attempt loop both clients share: run an attempt, classify its error
 * with the client's table, back off with jitter and try again while the
 * decision, the attempt limit, the deadline and the signal allow.
 */
import { IrisAbortError, IrisClientError, IrisConnectionError, IrisServerError, IrisTimeoutError } from './errors.js';
import type { MetricsHooks, RetryOptions } from './options.js';
import { backoffDelayMs, type CommandKind, type RetryDecision } from './retry-policy.js';
import { sleep } from '../../../common/abortable-sleep.js';

export interface AttemptFailure {
  readonly error: unknown;
  readonly decision: RetryDecision;
  /** The node the attempt went to (for the breaker and metrics). */
  readonly node: string | null;
}

export interface RetryLoopParams<T> {
  readonly command: string;
  readonly kind: CommandKind;
  readonly retry: RetryOptions;
  readonly metrics: MetricsHooks;
  readonly random: () => number;
  readonly signal?: AbortSignal;
  readonly deadlineMs?: number;
  /** One attempt: resolves with the result, or rejects with an AttemptFailure. */
  readonly attempt: (n: number, signal: AbortSignal) => Promise<T>;
}

function isFailure(x: unknown): x is AttemptFailure {
  return typeof x === 'object' && x !== null && 'decision' in x && 'error' in x;
}

/** The typed error for a final failure. */
export function finalError(f: AttemptFailure, attempts: number, outcome: RetryDecision['outcome']): IrisClientError {
  const err = f.error;
  if (err instanceof IrisClientError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const cause = { cause: err };
  if (f.decision.reason === 'timeout') return new IrisTimeoutError(`${msg} (after ${attempts} attempt(s))`, outcome, attempts, cause);
  if (f.decision.reason === 'connection_lost' || f.decision.reason === 'connect_refused') return new IrisConnectionError(`${msg} (after ${attempts} attempt(s))`, outcome, attempts, cause);
  const code = (err as { irisCode?: unknown }).irisCode;
  const status = (err as { status?: unknown }).status;
  return new IrisServerError(msg, typeof code === 'string' ? code : (msg.split(' ', 1)[0] ?? 'ERR'), outcome, attempts, typeof status === 'number' ? status : undefined, cause);
}

export async function withRetries<T>(p: RetryLoopParams<T>): Promise<T> {
  const started = Date.now();
  const deadline = p.deadlineMs !== undefined ? started + p.deadlineMs : Infinity;
  const ctl = new AbortController();
  const onAbort = (): void => ctl.abort();
  if (p.signal?.aborted === true) ctl.abort();
  else p.signal?.addEventListener('abort', onAbort, { once: true });
  const deadlineTimer = Number.isFinite(deadline) ? setTimeout(onAbort, deadline - started) : null;
  // Once any attempt may have run, the final outcome stays unknown even if a later one was refused.
  let outcome: RetryDecision['outcome'] = 'not-applied';
  let attempts = 0;
  const finish = (ok: boolean, error?: string): void => p.metrics.onCommand?.({ command: p.command, kind: p.kind, durationMs: Date.now() - started, attempts, ok, ...(error !== undefined ? { error } : {}) });
  try {
    for (;;) {
      if (ctl.signal.aborted) {
        const byDeadline = p.signal?.aborted !== true;
        finish(false, byDeadline ? 'deadline' : 'aborted');
        throw byDeadline ? new IrisTimeoutError(`${p.command}: deadline of ${p.deadlineMs} ms passed after ${attempts} attempt(s)`, outcome, attempts) : new IrisAbortError(outcome, attempts);
      }
      attempts += 1;
      try {
        const r = await p.attempt(attempts, ctl.signal);
        finish(true);
        return r;
      } catch (x) {
        if (!isFailure(x)) throw x;
        if (x.decision.outcome !== 'not-applied') outcome = x.decision.outcome;
        if (ctl.signal.aborted) continue;
        const delayMs = backoffDelayMs(attempts, p.retry, p.random);
        if (!x.decision.retry || attempts >= p.retry.maxAttempts || Date.now() + delayMs >= deadline) {
          finish(false, x.decision.reason);
          throw finalError(x, attempts, outcome === 'applied-error' ? 'applied-error' : outcome);
        }
        p.metrics.onRetry?.({ command: p.command, attempt: attempts, reason: x.decision.reason, delayMs, node: x.node });
        await sleep(delayMs, ctl.signal);
      }
    }
  } finally {
    p.signal?.removeEventListener('abort', onAbort);
    if (deadlineTimer !== null) clearTimeout(deadlineTimer);
  }
}

/** Rejects when the signal fires, so a caller stops waiting for an attempt it cannot cancel. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new IrisAbortError('unknown', 0));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new IrisAbortError('unknown', 0));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); }, (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); });
  });
}
