/**
 * The retry table (docs/clients.md "Which errors are retried"): pure
 * functions from an error (RESP reply text, error code, HTTP status) and
 * the kind of command to a decision. Reads are idempotent and retried after
 * any transient failure; writes only after an error that proves the command
 * did not run, because a write retried after an unknown outcome could apply
 * twice (INCR, APPEND) or overwrite a newer value.
 */
import type { Outcome } from './errors.js';

export type CommandKind = 'read' | 'write';

export interface RetryDecision {
  /** Try again (after a backoff). */
  readonly retry: boolean;
  /** Whether the failed attempt may have run. */
  readonly outcome: Outcome;
  /** Counts against the node's circuit breaker (the node, not the command, failed). */
  readonly nodeFailure: boolean;
  /** The slot map may be stale: ask another node for CLUSTER SLOTS. */
  readonly refreshMap: boolean;
  /** A short name for metrics and logs. */
  readonly reason: string;
}

function decide(kind: CommandKind, outcome: Outcome, reason: string, extra: { nodeFailure?: boolean; refreshMap?: boolean } = {}): RetryDecision {
  const retry = outcome === 'not-applied' || (outcome === 'unknown' && kind === 'read');
  return { retry, outcome, reason, nodeFailure: extra.nodeFailure ?? false, refreshMap: extra.refreshMap ?? false };
}

/** Error codes of sockets that never connected: nothing was sent. */
const NOT_CONNECTED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** Error codes of a connection that broke: a command sent on it may have run. */
const BROKEN_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export interface ErrorFacts {
  /** The error's message (for a RESP error reply, the reply text: "CLUSTERDOWN ..."). */
  readonly message: string;
  /** A Node.js error code (err.code), if any. */
  readonly code?: string;
  /** The error's class name (err.name). */
  readonly name?: string;
}

/** What an unknown thrown value says about itself. */
export function errorFacts(err: unknown): ErrorFacts {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    // fetch() wraps the socket error in `cause`.
    const causeCode = cause instanceof Error ? (cause as { code?: unknown }).code : undefined;
    const c = typeof code === 'string' ? code : typeof causeCode === 'string' ? causeCode : undefined;
    return { message: err.message, name: err.name, ...(c !== undefined ? { code: c } : {}) };
  }
  return { message: String(err) };
}

/**
 * The RESP table. `MOVED`/`ASK` are followed by ioredis itself; they only
 * reach here when it gave up (too many redirections), which means the map
 * is changing: nothing ran.
 */
export function classifyRespError(e: ErrorFacts, kind: CommandKind): RetryDecision {
  const m = e.message;
  const word = m.split(' ', 1)[0] ?? '';
  if (e.name === 'CircuitOpenError') return decide(kind, 'not-applied', 'circuit_open', { refreshMap: true });
  if (e.code !== undefined && NOT_CONNECTED_CODES.has(e.code)) return decide(kind, 'not-applied', 'connect_refused', { nodeFailure: true, refreshMap: true });
  switch (word) {
    case 'CLUSTERDOWN': return decide(kind, 'not-applied', 'clusterdown', { refreshMap: true });
    case 'TRYAGAIN': return decide(kind, 'not-applied', 'tryagain');
    case 'LOADING': return decide(kind, 'not-applied', 'loading');
    case 'MASTERDOWN': return decide(kind, 'not-applied', 'masterdown', { refreshMap: true });
    // A write sent to a replica or a demoted primary: refused before running.
    case 'READONLY': return decide(kind, 'not-applied', 'readonly', { refreshMap: true });
    case 'MOVED': case 'ASK': return decide(kind, 'not-applied', 'moved', { refreshMap: true });
    // The write ran on the primary but not enough replicas acknowledged it in time: it may or may not survive a failover.
    case 'NOREPLICAS': return decide(kind, 'unknown', 'noreplicas');
    default: break;
  }
  if (m.startsWith('Too many Cluster redirections')) {
    const last = /Last error: (?:\w*Error: )?(.*)$/.exec(m)?.[1] ?? '';
    const inner = classifyRespError({ message: last }, kind);
    return inner.reason === 'server_error' ? decide(kind, 'unknown', 'redirections', { refreshMap: true }) : { ...inner, refreshMap: true };
  }
  if (m === 'Command timed out' || e.name === 'IrisTimeoutError') return decide(kind, 'unknown', 'timeout', { nodeFailure: true, refreshMap: true });
  // ioredis: the node's connection closed with the command queued or sent.
  if (m === 'Connection is closed.' || (e.code !== undefined && BROKEN_CODES.has(e.code))) return decide(kind, 'unknown', 'connection_lost', { nodeFailure: true, refreshMap: true });
  // ioredis Cluster before it has a slot map (startup or every seed unreachable): nothing was sent.
  if (m.startsWith('Failed to refresh slots cache') || m.startsWith('None of startup nodes is available') || m === "Cluster isn't ready and enableOfflineQueue options is false") {
    return decide(kind, 'not-applied', 'no_slot_map', { refreshMap: true });
  }
  return { retry: false, outcome: 'applied-error', nodeFailure: false, refreshMap: false, reason: 'server_error' };
}

/** The HTTP table (docs/http-api.md "Errors"), by status and the body's error code. */
export function classifyHttpStatus(status: number, code: string | null, kind: CommandKind): RetryDecision {
  if (status === 503 && code === 'write_failed') return decide(kind, 'not-applied', 'write_failed');
  if (status === 503 && code === 'cluster_down') return decide(kind, 'not-applied', 'cluster_down', { refreshMap: true });
  if (status === 503 && code === 'not_confirmed') return decide(kind, 'not-applied', 'not_confirmed', { refreshMap: true });
  if (status === 503 && code === 'replication_timeout') return decide(kind, 'unknown', 'replication_timeout');
  if (status === 503 && code === 'not_ready') return decide(kind, 'not-applied', 'not_ready', { nodeFailure: true });
  if (status === 421) return decide(kind, 'not-applied', code ?? 'moved', { refreshMap: true });
  if (status === 502 && code === 'forward_failed') return decide(kind, 'not-applied', 'forward_failed');
  if (status === 504) return decide(kind, 'unknown', 'forward_timeout');
  if (status === 429) return decide(kind, 'not-applied', 'too_many_requests');
  // 503 without a known code (a proxy, a node shutting down): nothing is known about it.
  if (status === 503) return decide(kind, 'unknown', 'unavailable', { nodeFailure: true });
  return { retry: false, outcome: status >= 500 ? 'unknown' : 'applied-error', nodeFailure: false, refreshMap: false, reason: code ?? `http_${status}` };
}

/** An HTTP request that got no response: refused before sending, or lost after. */
export function classifyHttpTransport(e: ErrorFacts, kind: CommandKind): RetryDecision {
  if (e.name === 'CircuitOpenError') return decide(kind, 'not-applied', 'circuit_open');
  if (e.code !== undefined && NOT_CONNECTED_CODES.has(e.code)) return decide(kind, 'not-applied', 'connect_refused', { nodeFailure: true });
  if (e.name === 'IrisTimeoutError' || e.name === 'TimeoutError') return decide(kind, 'unknown', 'timeout', { nodeFailure: true });
  return decide(kind, 'unknown', 'connection_lost', { nodeFailure: true });
}

export interface BackoffOptions {
  /** The first retry waits up to this long (ms). */
  readonly baseDelayMs: number;
  /** No wait is longer than this (ms). */
  readonly maxDelayMs: number;
}

/**
 * "Full jitter" exponential backoff: a uniform random wait in
 * [0, min(max, base·2^(attempt-1))], so clients retrying after the same
 * failover spread out instead of arriving together. `random` is in [0, 1).
 */
export function backoffDelayMs(attempt: number, o: BackoffOptions, random: () => number): number {
  const cap = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}
