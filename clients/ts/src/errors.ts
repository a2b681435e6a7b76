/**
 * The errors the IrisDB clients throw. Every one says whether the command
 * may have run (`outcome`), so a caller knows whether a write needs
 * checking before it is tried again.
 */

/** `not-applied`: proven not to have run; `unknown`: it may have run (a write timed out, a connection broke after sending). */
export type Outcome = 'not-applied' | 'unknown' | 'applied-error';

export class IrisClientError extends Error {
  constructor(
    message: string,
    readonly outcome: Outcome,
    /** How many attempts were made (1 = no retry). */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IrisClientError';
  }
}

/** The server answered with an error reply (WRONGTYPE, ERR ..., or an HTTP 4xx/5xx) that the retry table does not retry. */
export class IrisServerError extends IrisClientError {
  constructor(message: string, readonly code: string, outcome: Outcome, attempts: number, readonly status?: number, options?: { cause?: unknown }) {
    super(message, outcome, attempts, options);
    this.name = 'IrisServerError';
  }
}

/** The command did not complete within its timeout or deadline; a write's outcome is unknown. */
export class IrisTimeoutError extends IrisClientError {
  constructor(message: string, outcome: Outcome, attempts: number, options?: { cause?: unknown }) {
    super(message, outcome, attempts, options);
    this.name = 'IrisTimeoutError';
  }
}

/** The caller's AbortSignal fired. */
export class IrisAbortError extends IrisClientError {
  constructor(outcome: Outcome, attempts: number, options?: { cause?: unknown }) {
    super('the command was aborted by its signal', outcome, attempts, options);
    this.name = 'IrisAbortError';
  }
}

/** The node's circuit breaker is open: nothing was sent to it. */
export class CircuitOpenError extends IrisClientError {
  constructor(readonly node: string, attempts = 1) {
    super(`circuit breaker open for ${node}: not sent`, 'not-applied', attempts);
    this.name = 'CircuitOpenError';
  }
}

/** More commands wait for a slot than `pool.maxWaiting` allows: not sent. */
export class PoolExhaustedError extends IrisClientError {
  constructor(readonly inFlight: number, readonly waiting: number) {
    super(`client pool exhausted: ${inFlight} commands in flight and ${waiting} waiting`, 'not-applied', 0);
    this.name = 'PoolExhaustedError';
  }
}

/** A connection-level failure (refused, reset, closed) after the retries. */
export class IrisConnectionError extends IrisClientError {
  constructor(message: string, outcome: Outcome, attempts: number, options?: { cause?: unknown }) {
    super(message, outcome, attempts, options);
    this.name = 'IrisConnectionError';
  }
}
