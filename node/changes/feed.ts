/**
 * One change feed stream: pages through the shard's replication log from a
 * sequence, in bounded steps that each yield to the event loop, then
 * follows new commits (woken by the log's commit and the ack gate's
 * quorum notifications, not by polling). A change is sent only once the
 * replica acknowledgements its write waits for are in — one that timed out
 * (its writer got NOREPLICAS) waits until the replicas have it — so a
 * consumer never sees a change a failover then loses.
 */
import { keySlot } from '../../common/slot.js';
import type { Term } from '../../common/replication.js';
import type { BytesEncoding } from '../http/codec.js';
import { decodeBatch } from '../replication/batch-codec.js';
import { termAt } from '../replication/history.js';
import type { StoredBatch } from '../replication/log.js';
import { SSE_KEEPALIVE, changeEvent, sseMessage } from './event.js';
import type { OwnershipView } from './ownership.js';
import type { ChangeFeedMetrics } from './metrics.js';
import { formatPosition } from '../../common/change-position.js';

/** What a feed reads; the runtime implements it over the replication manager and the log. */
export interface ChangeLogSource {
  /** This node's shard id (position.ts STANDALONE_SHARD outside a cluster), null for a member without a map. */
  shard(): string | null;
  role(): 'primary' | 'replica';
  history(): readonly Term[];
  lastSeq(): number;
  logFirstSeq(): number | null;
  readLog(fromSeq: number, limit: number): StoredBatch[];
  /** Calls listener after every commit that added to the log; returns the unsubscribe function. */
  onCommitted(listener: () => void): () => void;
  /** Highest sequence with the replica acknowledgements writes wait for (Infinity when writes wait for none). */
  ackedSeq(): number;
  /** Calls listener when ackedSeq() moves; returns the unsubscribe function. */
  onAcked(listener: () => void): () => void;
  ownership(): { readonly view: OwnershipView; readonly provableFrom: number };
  /** True once the node is shutting down: streams end (with an `end` event) instead of holding the shutdown up. */
  shuttingDown(): boolean;
  onShutdown(listener: () => void): () => void;
  /** Absent in tests that do not look at metrics. */
  readonly metrics?: ChangeFeedMetrics;
}

/** Where the stream's bytes go (an HTTP response). */
export interface FeedSink {
  /** false: the buffer is full, wait for drain() before writing more. */
  write(chunk: string): boolean;
  drain(): Promise<void>;
  readonly closed: boolean;
  /** Resolves when the client goes away. */
  readonly gone: Promise<void>;
}

export interface FeedOptions {
  readonly shard: string;
  readonly fromSeq: number;
  readonly prefix: Buffer;
  readonly encoding: BytesEncoding;
  /** Most events in one write (then the feed yields to the event loop). */
  readonly pageEvents: number;
  readonly keepaliveMs: number;
  /** The keys the consumer's ACL user may read (absent: all); others are left out like other prefixes. */
  readonly keyFilter?: (key: Buffer) => boolean;
}

export type FeedEnd =
  | { readonly kind: 'client_gone' }
  | { readonly kind: 'not_primary'; readonly reason: string }
  | { readonly kind: 'gone'; readonly reason: string };

/** Log bytes one step reads before it yields to the event loop. */
const STEP_BYTES = 1024 * 1024;

function startsWith(key: Buffer, prefix: Buffer): boolean {
  return prefix.length === 0 || (key.length >= prefix.length && key.subarray(0, prefix.length).equals(prefix));
}

export class ChangeFeed {
  private next: number;
  private wake: (() => void) | null = null;

  constructor(private readonly src: ChangeLogSource, private readonly sink: FeedSink, private readonly opts: FeedOptions) {
    this.next = opts.fromSeq;
  }

  async run(): Promise<FeedEnd> {
    const unsubscribe = this.src.onCommitted(() => this.poke());
    const unsubscribeAcks = this.src.onAcked(() => this.poke());
    const unsubscribeShutdown = this.src.onShutdown(() => this.poke());
    let goneNow = false;
    void this.sink.gone.then(() => {
      goneNow = true;
      this.poke();
    });
    const keepalive = setInterval(() => {
      if (!this.sink.closed) this.sink.write(SSE_KEEPALIVE);
      this.poke();
    }, this.opts.keepaliveMs);
    try {
      for (;;) {
        if (goneNow || this.sink.closed) return { kind: 'client_gone' };
        const stop = this.stillServing();
        if (stop !== null) return stop;
        // Only acknowledged changes leave: one a failover could still lose (its writer got no OK, or NOREPLICAS) waits for its acks.
        const visible = Math.min(this.src.lastSeq(), this.src.ackedSeq());
        if (this.next > visible) {
          await new Promise<void>((resolve) => { this.wake = resolve; });
          continue;
        }
        const end = await this.step(visible);
        if (end !== null) return end;
      }
    } finally {
      clearInterval(keepalive);
      unsubscribe();
      unsubscribeAcks();
      unsubscribeShutdown();
    }
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private stillServing(): FeedEnd | null {
    if (this.src.shuttingDown()) return { kind: 'not_primary', reason: 'this node is shutting down: reconnect with your last position' };
    if (this.src.role() !== 'primary') return { kind: 'not_primary', reason: 'this node is no longer the shard\'s primary: reconnect to the new primary with your last position' };
    const shard = this.src.shard();
    if (shard !== this.opts.shard) return { kind: 'not_primary', reason: `this node now serves shard ${shard ?? '(none)'}, not ${this.opts.shard}` };
    return null;
  }

  /**
   * Sends the changes of the next stored batches up to `limit` — until
   * pageEvents events or STEP_BYTES of log were handled — then yields; null
   * to go on.
   */
  private async step(limit: number): Promise<FeedEnd | null> {
    const history = this.src.history();
    const { view } = this.src.ownership();
    const { shard, prefix, encoding, pageEvents } = this.opts;
    let out = '';
    let n = 0;
    let bytes = 0;
    let sentUpTo = this.next - 1;
    let upTo = this.next - 1;
    while (this.next <= limit && n < pageEvents && bytes < STEP_BYTES) {
      const first = this.src.logFirstSeq();
      if (first === null || this.next < first) {
        return { kind: 'gone', reason: `the log no longer holds sequence ${this.next} of shard ${shard}: this consumer fell behind the retained log (replBacklogOps)` };
      }
      const batch = this.src.readLog(this.next, 1)[0];
      if (batch === undefined || batch.firstSeq > this.next) {
        return { kind: 'gone', reason: `the log has no batch holding sequence ${this.next} of shard ${shard} (it was replaced by a resync)` };
      }
      bytes += batch.body.length;
      for (const { seq, m } of decodeBatch(batch.body)) {
        if (seq < this.next || seq > limit) continue;
        upTo = seq;
        if (m.op !== 'clear' && (!startsWith(m.key, prefix) || !view.owned(seq, keySlot(m.key)))) continue;
        if (m.op !== 'clear' && this.opts.keyFilter !== undefined && !this.opts.keyFilter(m.key)) continue;
        const ev = changeEvent(shard, termAt(history, seq)?.epoch ?? 0, seq, m, encoding);
        out += sseMessage('change', JSON.stringify(ev), ev.position);
        sentUpTo = seq;
        this.src.metrics?.events.inc();
        // A big batch (up to ~1 MiB of small entries) goes out in pages, each waiting for the socket.
        if (++n % pageEvents === 0) {
          if (!(await this.flush(out))) return { kind: 'client_gone' };
          out = '';
        }
      }
      this.next = Math.max(upTo, Math.min(batch.lastSeq, limit)) + 1;
    }
    if (upTo > sentUpTo) {
      // Changes filtered out (prefix, migration copies) still move the position: a resume then starts after them.
      const position = formatPosition({ shard, epoch: termAt(history, upTo)?.epoch ?? 0, seq: upTo });
      out += sseMessage('progress', JSON.stringify({ position }), position);
    }
    if (out !== '' && !(await this.flush(out))) return { kind: 'client_gone' };
    if (out === '') await new Promise<void>((resolve) => setImmediate(resolve));
    return null;
  }

  /** Writes, then waits for the socket to drain or at least for the next turn; false if the client left. */
  private async flush(chunk: string): Promise<boolean> {
    if (this.sink.closed) return false;
    if (this.sink.write(chunk)) await new Promise<void>((resolve) => setImmediate(resolve));
    else await Promise.race([this.sink.drain(), this.sink.gone]);
    return !this.sink.closed;
  }
}
