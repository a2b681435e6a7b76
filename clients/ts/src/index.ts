/** @irisdb/client: the IrisDB clients for Node.js (docs/clients.md). */
export { IrisClient, type IrisClientOptions, type CommandOptions, type SetOptions } from './resp-client.js';
export { IrisHttpClient, type IrisHttpClientOptions, type KvItem, type GetResult, type PutOptions, type BatchOp, type BatchResult, type ScanOptions, type ChangeEvent, type ChangePosition } from './http-client.js';
export { CircuitBreaker, BreakerSet, DEFAULT_BREAKER, type BreakerOptions, type BreakerState } from './circuit-breaker.js';
export { classifyRespError, classifyHttpStatus, classifyHttpTransport, backoffDelayMs, errorFacts, type CommandKind, type RetryDecision, type ErrorFacts, type BackoffOptions } from './retry-policy.js';
export { DEFAULT_RETRY, DEFAULT_POOL, type ReadConsistency, type RetryOptions, type PoolOptions, type MetricsHooks, type CallOptions, type ReadOptions } from './options.js';
export { IrisClientError, IrisServerError, IrisTimeoutError, IrisAbortError, IrisConnectionError, CircuitOpenError, PoolExhaustedError, type Outcome } from './errors.js';
