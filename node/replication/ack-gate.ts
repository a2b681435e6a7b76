/**
 * Holds each turn's replies until enough replicas have acknowledged the
 * turn's sequence (minSyncReplicas, docs/architecture.md §3), or fails them after
 * ackTimeoutMs. Turns are released strictly in the order they were held, so
 * a client never sees a later reply before an earlier one, and a read that
 * was held behind a write is not answered before that write is acknowledged
 * (no dirty reads). Pure: time comes from the injected Timers.
 */
import type { ReleaseGate } from '../engine/types.js';

/** A write that did not get its acknowledgements in time. It is applied locally and may or may not survive a failover. */
export class AckTimeoutError extends Error {
  readonly code = 'replication_timeout';
  /** The RESP error line without the leading '-' ("NOREPLICAS " + message). */
  readonly respMessage: string;

  constructor(
    readonly timeoutMs: number,
    readonly minAcks: number,
    readonly acknowledgedBy: number,
    readonly seq: number,
    /** Why the node has too few good replicas, and since when (writability.ts), when it knows. */
    readonly why: string | null = null,
  ) {
    // Redis's min-replicas-to-write text first, so clients classify it the same; then why and what it means here.
    super(
      `Not enough good replicas to write${why !== null ? ` (${why})` : ''}: ` +
        `minSyncReplicas=${minAcks} did not acknowledge within ${timeoutMs} ms (acknowledged by ${acknowledgedBy}); ` +
        'it is applied on the primary and may or may not survive a failover',
    );
    this.name = 'AckTimeoutError';
    // As errors.ts: message for HTTP and logs, respMessage with the Redis error prefix.
    this.respMessage = `NOREPLICAS ${this.message}`;
  }
}

export interface Timers {
  now(): number;
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

export interface AckGateOptions {
  minAcks: number;
  /** How long a turn waits for acknowledgements; 0 waits without limit. */
  ackTimeoutMs: number;
  timers: Timers;
  /** Each turn that waited for acknowledgements (err === null at hold), when released: how long, and whether it got them. */
  onReleased?(waitedMs: number, ok: boolean): void;
  /** Why acknowledgements are missing (quoted in the NOREPLICAS text), or null. */
  explain?(): string | null;
}

type Release = (err: Error | null) => void;

interface Held {
  readonly seq: number;
  readonly err: Error | null;
  readonly release: Release;
  readonly heldAt: number;
}

interface AckWaiter {
  readonly seq: number;
  readonly n: number;
  readonly resolve: (count: number) => void;
  timer: { cancel(): void } | null;
}

/** Compact the queue's consumed prefix once it is this long (amortised O(1) dequeue). */
const COMPACT_AT = 1024;

export class AckGate implements ReleaseGate {
  private minAcks: number;
  private ackTimeoutMs: number;
  private readonly timers: Timers;
  private readonly onReleased: ((waitedMs: number, ok: boolean) => void) | undefined;
  private readonly explain: () => string | null;

  private queue: Held[] = [];
  private head = 0;
  private draining = false;
  /** The timer armed for the head turn's deadline, and which turn it is for. */
  private timer: { cancel(): void } | null = null;
  private timerFor: Held | null = null;
  /** Set by the head's timer: that turn's deadline has passed, whatever the clock reads. */
  private expired: Held | null = null;
  /** A failAll() from inside a release callback, for the running drain loop to apply. */
  private pendingFail: Error | null = null;

  private readonly acks = new Map<string, number>();
  private voters = new Set<string>();
  private quorum = 0;
  private waiters: AckWaiter[] = [];
  /** Told when the quorum sequence moves (the change feed sends changes up to it). */
  private readonly quorumListeners = new Set<() => void>();

  constructor(opts: AckGateOptions) {
    this.minAcks = checkCount(opts.minAcks, 'minAcks');
    this.ackTimeoutMs = checkCount(opts.ackTimeoutMs, 'ackTimeoutMs');
    this.timers = opts.timers;
    this.onReleased = opts.onReleased;
    this.explain = opts.explain ?? (() => null);
    this.recompute();
  }

  hold(seq: number, err: Error | null, release: Release): void {
    if (this.queue.length === this.head && !this.draining) {
      // Fast path: nothing ahead of this turn.
      if (err !== null) {
        release(err);
        return;
      }
      if (this.quorum >= seq) {
        this.report(0, true);
        release(null);
        return;
      }
    }
    this.queue.push({ seq, err, release, heldAt: this.timers.now() });
    this.drain();
  }

  releasesAt(seq: number): boolean {
    return this.queue.length === this.head && !this.draining && this.quorum >= seq;
  }

  ack(name: string, seq: number): void {
    const cur = this.acks.get(name);
    if (cur !== undefined && cur >= seq) return;
    this.acks.set(name, seq);
    this.changed(this.voters.has(name));
  }

  reset(name: string, seq: number | null): void {
    if (seq === null) this.acks.delete(name);
    else this.acks.set(name, seq);
    this.changed(this.voters.has(name));
  }

  setVoters(names: readonly string[]): void {
    this.voters = new Set(names);
    this.changed(true);
  }

  setMinAcks(n: number): void {
    this.minAcks = checkCount(n, 'minAcks');
    this.changed(true);
  }

  setAckTimeout(ms: number): void {
    this.ackTimeoutMs = checkCount(ms, 'ackTimeoutMs');
    // Deadlines are heldAt + the current timeout: the head's timer moves.
    this.disarm();
    this.drain();
  }

  quorumSeq(): number {
    return this.quorum;
  }

  /** Calls listener (which must not throw) every time quorumSeq() changes; returns the unsubscribe function. */
  onQuorumMoved(listener: () => void): () => void {
    this.quorumListeners.add(listener);
    return () => {
      this.quorumListeners.delete(listener);
    };
  }

  /** How many replicas have acknowledged seq: among the voters (default), or among all known replicas. */
  ackedBy(seq: number, among: 'voters' | 'all' = 'voters'): number {
    let n = 0;
    for (const [name, acked] of this.acks) {
      if (acked >= seq && (among === 'all' || this.voters.has(name))) n++;
    }
    return n;
  }

  /** WAIT: resolves with ackedBy(seq, 'all') once it reaches n, or at timeoutMs (0 = no timeout), or on failAll. */
  waitForAcks(seq: number, n: number, timeoutMs: number): Promise<number> {
    const now = this.ackedBy(seq, 'all');
    if (now >= n) return Promise.resolve(now);
    return new Promise((resolve) => {
      const w: AckWaiter = { seq, n, resolve, timer: null };
      this.waiters.push(w);
      if (timeoutMs > 0) {
        w.timer = this.timers.setTimer(() => {
          w.timer = null;
          this.settleWaiter(w);
        }, timeoutMs);
      }
    });
  }

  /** Fails every held turn (fencing, role change, shutdown), in order; a turn's own error wins over err. WAIT callers get their current counts. */
  failAll(err: Error): void {
    this.drain(err);
    for (const w of this.waiters.slice()) this.settleWaiter(w);
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  /** timers.now() when the oldest turn still waiting for acknowledgements was held, or null (lag reporting). */
  oldestPendingSince(): number | null {
    for (let i = this.head; i < this.queue.length; i++) {
      const h = this.queue[i]!;
      if (h.err === null) return h.heldAt;
    }
    return null;
  }

  // ---- internals -----------------------------------------------------------

  private changed(quorumMayMove: boolean): void {
    if (quorumMayMove) {
      const before = this.quorum;
      this.recompute();
      if (this.quorum !== before) {
        this.drain();
        for (const l of this.quorumListeners) l();
      }
    }
    if (this.waiters.length > 0) {
      for (const w of this.waiters.slice()) if (this.ackedBy(w.seq, 'all') >= w.n) this.settleWaiter(w);
    }
  }

  /** The highest seq at least minAcks voters have acknowledged (Infinity for minAcks 0, 0 when too few voters acked). */
  private recompute(): void {
    if (this.minAcks === 0) {
      this.quorum = Infinity;
      return;
    }
    const seqs: number[] = [];
    for (const name of this.voters) {
      const s = this.acks.get(name);
      if (s !== undefined) seqs.push(s);
    }
    if (seqs.length < this.minAcks) {
      this.quorum = 0;
      return;
    }
    seqs.sort((a, b) => b - a);
    this.quorum = seqs[this.minAcks - 1]!;
  }

  private settleWaiter(w: AckWaiter): void {
    const i = this.waiters.indexOf(w);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    w.timer?.cancel();
    w.timer = null;
    w.resolve(this.ackedBy(w.seq, 'all'));
  }

  private report(waitedMs: number, ok: boolean): void {
    this.onReleased?.(waitedMs, ok);
  }

  /**
   * Releases, in order, every head turn that may go: with its own error, with
   * its acknowledgements, past its deadline, or (failWith) unconditionally.
   * Re-entrant calls (a release callback that acks or holds) return at once:
   * the running loop re-reads the queue on every step. A throwing callback does
   * not stop the others; the first error is rethrown at the end.
   */
  private drain(failWith: Error | null = null): void {
    if (this.draining) {
      if (failWith !== null) this.pendingFail = failWith;
      return;
    }
    this.draining = true;
    let thrown: unknown = undefined;
    let failing = failWith;
    try {
      while (this.head < this.queue.length) {
        if (this.pendingFail !== null) {
          failing = this.pendingFail;
          this.pendingFail = null;
        }
        const h = this.queue[this.head]!;
        let err: Error | null;
        if (h.err !== null) {
          err = h.err;
        } else if (this.quorum >= h.seq) {
          err = null;
        } else if (failing !== null) {
          err = failing;
        } else if (this.expired === h || (this.ackTimeoutMs > 0 && this.timers.now() - h.heldAt >= this.ackTimeoutMs)) {
          err = new AckTimeoutError(this.ackTimeoutMs, this.minAcks, this.ackedBy(h.seq), h.seq, this.explain());
        } else {
          break;
        }
        this.dequeue();
        try {
          if (h.err === null) this.report(this.timers.now() - h.heldAt, err === null);
          h.release(err);
        } catch (e) {
          thrown ??= e;
        }
      }
    } finally {
      this.draining = false;
      this.expired = null;
      this.pendingFail = null;
    }
    this.arm();
    if (thrown !== undefined) throw thrown;
  }

  private dequeue(): void {
    this.head++;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AT) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** One timer, for the head turn: deadlines are in queue order, so later turns are checked when it fires. */
  private arm(): void {
    const h = this.head < this.queue.length ? this.queue[this.head]! : null;
    if (h === this.timerFor && this.timer !== null) return;
    this.disarm();
    if (h === null || this.ackTimeoutMs === 0) return;
    const ms = Math.max(0, h.heldAt + this.ackTimeoutMs - this.timers.now());
    this.timerFor = h;
    this.timer = this.timers.setTimer(() => {
      if (this.timerFor !== h) return;
      this.timer = null;
      this.timerFor = null;
      this.expired = h;
      this.drain();
    }, ms);
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = null;
    this.timerFor = null;
  }
}

function checkCount(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
  return n;
}
