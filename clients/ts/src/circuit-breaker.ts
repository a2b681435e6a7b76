/**
 * A per-node circuit breaker, as a pure state machine over an injected
 * clock: `failureThreshold` consecutive failures open it; while open
 * nothing is sent to the node; after `openMs` one trial (a command or the
 * client's probe) is let through (half-open): success closes it, failure
 * opens it again for another `openMs`.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** How long it stays open before a trial (ms). */
  readonly openMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 3, openMs: 1000 };

export class CircuitBreaker {
  private st: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;

  constructor(
    private readonly opts: BreakerOptions,
    private readonly now: () => number,
    /** Called on every change of state (metrics, logs). */
    private readonly onChange: (from: BreakerState, to: BreakerState) => void = () => {},
  ) {
    if (!(opts.failureThreshold >= 1) || !(opts.openMs >= 0)) throw new RangeError(`bad breaker options: failureThreshold ${opts.failureThreshold} (>= 1), openMs ${opts.openMs} (>= 0)`);
  }

  get state(): BreakerState {
    return this.st;
  }

  /** Whether the open period has passed, so a trial may go. */
  trialDue(): boolean {
    return this.st === 'open' && this.now() - this.openedAt >= this.opts.openMs;
  }

  /** May a request go to the node now? In half-open, only one trial at a time. */
  allow(): boolean {
    if (this.st === 'closed') return true;
    if (this.st === 'open') {
      if (!this.trialDue()) return false;
      this.move('half-open');
    }
    if (this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.failures = 0;
    this.trialInFlight = false;
    if (this.st !== 'closed') this.move('closed');
  }

  /**
   * A request that may have been the half-open trial ended without saying
   * whether the node is alive (the caller's abort or deadline, an error that
   * is neither an answer nor a node failure). Without it the trial would stay
   * in flight, and the breaker half-open with no request ever allowed.
   */
  abandon(): void {
    this.trialInFlight = false;
  }

  /** Open with its period over, or half-open with no trial in flight: the prober may send one. */
  trialPossible(): boolean {
    return this.trialDue() || (this.st === 'half-open' && !this.trialInFlight);
  }

  onFailure(): void {
    this.trialInFlight = false;
    this.failures += 1;
    if (this.st === 'half-open' || (this.st === 'closed' && this.failures >= this.opts.failureThreshold)) this.open();
  }

  /** Opens at once (the client saw proof the node is gone, e.g. it left the slot map while failing). */
  open(): void {
    this.openedAt = this.now();
    if (this.st !== 'open') this.move('open');
  }

  private move(to: BreakerState): void {
    const from = this.st;
    this.st = to;
    this.onChange(from, to);
  }
}

/** One breaker per node, created on first use. */
export class BreakerSet {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    private readonly opts: BreakerOptions,
    private readonly now: () => number,
    private readonly onChange: (node: string, from: BreakerState, to: BreakerState) => void,
  ) {}

  get(node: string): CircuitBreaker {
    let b = this.breakers.get(node);
    if (b === undefined) {
      b = new CircuitBreaker(this.opts, this.now, (from, to) => this.onChange(node, from, to));
      this.breakers.set(node, b);
    }
    return b;
  }

  /** Every node's state. */
  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers].map(([n, b]) => [n, b.state]));
  }

  /** Nodes whose breaker may take a trial now (open and due, or half-open with none in flight). */
  dueForTrial(): string[] {
    return [...this.breakers].filter(([, b]) => b.trialPossible()).map(([n]) => n);
  }
}
