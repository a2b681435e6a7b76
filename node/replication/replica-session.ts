/**
 * The primary's end of one replica's link: after the handshake it either
 * transfers a snapshot (full resync) or starts from the replica's position
 * (partial), catches up from the log table, then streams each committed turn
 * as it commits. Acknowledgements go to the ack gate.
 *
 * States: full_sync → catchup → online. A replica that falls too far behind
 * the socket (slow reader) drops back to catchup and is fed from the log.
 */
import type { ReplicaLinkState, SyncProgress } from '../../common/replication.js';
import type { StoredRow } from '../engine/types.js';
import type { BusSocket } from './bus-socket.js';
import type { PrimarySide } from './context.js';
import type { StoredBatch } from './log.js';
import type { HelloMsg } from './messages.js';
import { DIGEST_FORMAT_LATEST, decodeDigestReply } from './digest-codec.js';
import type { SlotDigestTable } from './digest.js';
import type { ResyncPlan } from './history.js';
import { FrameType, encodeFrame, encodeJsonFrame, type Frame } from './frames.js';
import { decodeAck, entriesFrame } from './batch-codec.js';
import { encodeRows, encodeSlotReset } from './row-codec.js';

/** Above this many unsent bytes a live replica is fed from the log instead (bounded memory per replica). */
const LIVE_BUFFER_LIMIT = 32 * 1024 * 1024;
/** Log rows read per catch-up step (each up to ~1 MiB). */
const CATCHUP_ROWS = 16;
/** Snapshot frame payload target. */
/** Snapshot rows per frame: the replica loads a frame in one go, so it stays small (issue #16: no long stall). */
const SNAPSHOT_CHUNK_BYTES = 128 * 1024;
/** Longest a snapshot read holds the primary's event loop before it yields. */
const SNAPSHOT_SLICE_MS = 10;

export class ReplicaSession {
  state: ReplicaLinkState = 'handshake';
  /** Next sequence to send. */
  nextSeq = 1;
  ackedSeq: number;
  fullSync: SyncProgress | null = null;
  /** Sequence the log must still hold for this replica (trim pin). */
  get neededSeq(): number {
    return Math.min(this.nextSeq, this.ackedSeq + 1);
  }
  private closed = false;
  private catchupScheduled = false;
  private readonly digestWaiters = new Map<number, (digests: SlotDigestTable | Error) => void>();

  constructor(readonly hello: HelloMsg, readonly bus: BusSocket, private readonly side: PrimarySide, private readonly onClosed: (s: ReplicaSession, reason: string) => void) {
    this.ackedSeq = hello.seq;
  }

  get name(): string {
    return this.hello.name;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends the Welcome and starts the resync the plan asks for. */
  start(plan: ResyncPlan): void {
    const side = this.side;
    const resp = side.respAddress();
    this.bus.attach({
      onFrame: (f) => this.onFrame(f),
      onClose: (reason) => this.closedBy(reason),
      onBytesIn: (n) => side.metrics.bytesReceived.inc(n),
      onBytesOut: (n) => side.metrics.bytesSent.inc(n),
    });
    this.bus.send(encodeJsonFrame(FrameType.Welcome, {
      epoch: side.epoch(), name: side.name, respHost: resp.host, respPort: resp.port,
      history: side.history(), mode: plan.kind, fromSeq: plan.kind === 'partial' ? plan.fromSeq : 0,
    }));
    side.metrics.resyncs.inc({ type: plan.kind, side: 'primary' });
    if (plan.kind === 'partial') {
      side.gate.ack(this.name, this.hello.seq);
      this.nextSeq = plan.fromSeq;
      this.state = 'catchup';
      this.scheduleCatchup();
    } else {
      side.logger.info('full resync of a replica: sending a snapshot', { replica: this.name, reason: plan.reason });
      // Its old position means nothing after the snapshot replaces its data.
      side.gate.reset(this.name, null);
      this.ackedSeq = 0;
      this.state = 'full_sync';
      void this.sendSnapshot();
    }
  }

  /** A turn committed on this primary: ship it now if this replica is live. */
  committed(batches: readonly StoredBatch[]): void {
    if (this.state !== 'online' || this.closed) return;
    const epoch = this.side.epoch();
    // A traced turn: its context goes ahead of its entries (only to replicas that asked for it).
    const traceparent = this.hello.trace === true ? this.side.tracing?.shippingTraceparent() ?? '' : '';
    if (traceparent !== '' && batches.length > 0) {
      this.bus.send(encodeJsonFrame(FrameType.TraceContext, { seq: batches[batches.length - 1]!.lastSeq, traceparent }));
    }
    for (const b of batches) {
      if (b.lastSeq < this.nextSeq) continue;
      if (b.firstSeq > this.nextSeq) {
        // Cannot happen while online (every committed batch passes here); recover through the log.
        this.state = 'catchup';
        this.scheduleCatchup();
        return;
      }
      this.bus.send(entriesFrame(epoch, b.body));
      this.nextSeq = b.lastSeq + 1;
    }
    if (this.bus.writableLength > LIVE_BUFFER_LIMIT) {
      this.state = 'catchup';
      this.bus.onDrain(() => this.scheduleCatchup());
    }
  }

  ping(): void {
    if (this.closed || this.state === 'handshake') return;
    this.bus.send(encodeJsonFrame(FrameType.Ping, { epoch: this.side.epoch(), seq: this.side.committedSeq(), time: Date.now() }));
  }

  /** Asks the replica for its digests at the position of everything sent so far (in-band, so both compare the same sequence). */
  requestDigests(id: number, timeoutMs: number): Promise<SlotDigestTable> {
    return new Promise((resolve, reject) => {
      if (this.closed || this.state !== 'online') {
        reject(new Error(`replica ${this.name} is not streaming (state ${this.closed ? 'disconnected' : this.state})`));
        return;
      }
      const timer = setTimeout(() => {
        this.digestWaiters.delete(id);
        reject(new Error(`replica ${this.name} did not answer the digest request within ${timeoutMs} ms`));
      }, timeoutMs);
      this.digestWaiters.set(id, (r) => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      });
      this.bus.send(encodeJsonFrame(FrameType.DigestRequest, { id, format: DIGEST_FORMAT_LATEST }));
    });
  }

  /** Replaces one slot's rows on the replica with the primary's (in-band, at the current stream position). */
  sendSlotReset(slot: number, rows: readonly StoredRow[]): void {
    this.bus.send(encodeFrame(FrameType.SlotReset, encodeSlotReset(slot, rows)));
  }

  close(reason: string): void {
    this.bus.close(reason);
    this.closedBy(reason);
  }

  private closedBy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.digestWaiters.values()) w(new Error(`replica ${this.name} disconnected: ${reason}`));
    this.digestWaiters.clear();
    this.onClosed(this, reason);
  }

  private onFrame(f: Frame): void {
    switch (f.type) {
      case FrameType.Ack: {
        const seq = decodeAck(f.body);
        if (seq > this.ackedSeq) this.ackedSeq = seq;
        if (this.state !== 'full_sync') this.side.gate.ack(this.name, this.ackedSeq);
        return;
      }
      case FrameType.DigestReply: {
        const msg = decodeDigestReply(f.body);
        const w = this.digestWaiters.get(msg.id);
        if (w !== undefined) {
          this.digestWaiters.delete(msg.id);
          w(msg.table);
        }
        return;
      }
      default:
        throw new Error(`unexpected frame type ${f.type} from replica ${this.name}`);
    }
  }

  private scheduleCatchup(): void {
    if (this.catchupScheduled || this.closed) return;
    this.catchupScheduled = true;
    setImmediate(() => {
      this.catchupScheduled = false;
      this.catchupStep();
    });
  }

  /** Feeds the replica from the log table, a bounded step per event-loop turn, until it reaches the head. */
  private catchupStep(): void {
    if (this.closed || this.state !== 'catchup') return;
    if (this.bus.writableLength > LIVE_BUFFER_LIMIT / 4) {
      this.bus.onDrain(() => this.scheduleCatchup());
      return;
    }
    const head = this.side.committedSeq();
    if (this.nextSeq > head) {
      this.state = 'online';
      return;
    }
    const batches = this.side.log.readFrom(this.nextSeq, CATCHUP_ROWS);
    if (batches.length === 0 || batches[0]!.firstSeq > this.nextSeq) {
      this.close(`the replication log no longer holds seq ${this.nextSeq} (oldest is ${batches[0]?.firstSeq ?? 'none'}): the replica needs a full resync`);
      return;
    }
    const epoch = this.side.epoch();
    for (const b of batches) {
      if (b.lastSeq > head) break; // never ship past what is committed
      this.bus.send(entriesFrame(epoch, b.body));
      this.nextSeq = b.lastSeq + 1;
    }
    if (this.nextSeq > head) this.state = 'online';
    else this.scheduleCatchup();
  }

  private async sendSnapshot(): Promise<void> {
    const side = this.side;
    let reader;
    try {
      reader = side.openSnapshot();
    } catch (err) {
      this.close(`cannot open a snapshot: ${(err as Error).message}`);
      return;
    }
    try {
      this.nextSeq = reader.seq + 1;
      this.fullSync = { keys: 0, bytes: 0, totalKeys: reader.totalKeys };
      this.bus.send(encodeJsonFrame(FrameType.SnapshotBegin, { seq: reader.seq, keys: reader.totalKeys, history: side.history() }));
      let lastLogged = Date.now();
      for (;;) {
        if (this.closed) return;
        if (this.bus.writableLength > SNAPSHOT_CHUNK_BYTES * 8) {
          await new Promise<void>((resolve) => this.bus.onDrain(resolve));
          continue;
        }
        const rows = reader.next(SNAPSHOT_CHUNK_BYTES, undefined, SNAPSHOT_SLICE_MS);
        if (rows === null) break;
        const body = encodeRows(rows);
        this.bus.send(encodeFrame(FrameType.SnapshotRows, body));
        this.fullSync = { keys: this.fullSync.keys + rows.length, bytes: this.fullSync.bytes + body.length, totalKeys: reader.totalKeys };
        side.metrics.fullSyncKeys.inc({ side: 'primary' }, rows.length);
        if (Date.now() - lastLogged > 2000) {
          lastLogged = Date.now();
          side.logger.info('full resync progress', { replica: this.name, ...this.fullSync });
        }
        // Let the node serve clients between chunks.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      this.bus.send(encodeJsonFrame(FrameType.SnapshotEnd, { seq: reader.seq, keys: this.fullSync.keys, bytes: this.fullSync.bytes }));
      side.logger.info('full resync sent; streaming from the log', { replica: this.name, seq: reader.seq, keys: this.fullSync.keys, bytes: this.fullSync.bytes });
      this.fullSync = null;
      this.state = 'catchup';
      this.scheduleCatchup();
    } catch (err) {
      this.close(`snapshot transfer failed: ${(err as Error).message}`);
    } finally {
      reader.close();
    }
  }
}
