/**
 * The data stream of one migration attempt, source side: the snapshot rows
 * of the slots, then every committed write to them after the snapshot's
 * sequence, in commit order, as frames on the attempt's connection —
 * flow-controlled by the target's acknowledgements (a bounded window), the
 * writes queued in a bounded backlog meanwhile. The runner (SourceRun)
 * decides when to fence; this class only moves data and reports progress.
 */
import { performance } from 'node:perf_hooks';
import type { StoredRow } from '../engine/types.js';
import { FrameType, encodeFrame, type Frame } from '../replication/frames.js';
import { decodeBatch, encodeBatch } from '../replication/batch-codec.js';
import { encodeRows } from '../replication/row-codec.js';
import type { StoredBatch } from '../replication/log.js';
import type { MigrationConn } from './conn.js';
import { decodeMigrateAck } from './messages.js';
import { AckWindow, Backlog, MigrationError, filterEntries, forwardToMutation, type Forward, type SlotSet } from './plan.js';
import type { SlotSnapshot } from './snapshot.js';

/**
 * Payload of one rows or entries frame. A frame is one write transaction on
 * the target: large ones amortise its commit (fewer pages written per key).
 */
export const FRAME_BYTES = 512 * 1024;
/**
 * Unacknowledged bytes in flight to the target. The target acknowledges a
 * frame once its replicas have it, so this also bounds how far migrated data
 * can put the target's replicas behind its clients' writes.
 */
export const WINDOW_BYTES = 2 * 1024 * 1024;
/** Snapshot bytes read per event-loop turn: a frame is assembled over several turns, so this node's clients wait little. */
const READ_CHUNK_BYTES = 64 * 1024;
/** Writes to the migrating slots that may wait in memory to be forwarded. */
export const MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

export interface CopyEvents {
  /** Rows or forwarded writes went out (counts of this frame). */
  sent(delta: { keys: number; bytes: number; entries: number }): void;
  /** Something changed the runner may be waiting for (an acknowledgement, rows done, more to send). */
  changed(): void;
  /** The stream cannot go on (backlog overflow, a bad acknowledgement, a send error). */
  failed(err: Error): void;
  /** A write reached a migrating slot after the flip was sent (it bypassed the fence: it will not reach the target). */
  lateWrite(count: number): void;
  rowsDone(): void;
}

export class CopyStream {
  readonly seq: number;
  readonly totalKeys: number;
  private snapshot: SlotSnapshot | null;
  private readonly backlog = new Backlog(MAX_BACKLOG_BYTES);
  private readonly window = new AckWindow(WINDOW_BYTES);
  private pendingRows: StoredRow[] = [];
  private pendingBytes = 0;
  private forwardSeq = 0;
  private pumpScheduled = false;
  private flipSent = false;
  private closed = false;
  private late = 0;
  lastAckAt = performance.now();

  constructor(private readonly conn: MigrationConn, snapshot: SlotSnapshot, private readonly slots: SlotSet, private readonly events: CopyEvents) {
    this.snapshot = snapshot;
    this.seq = snapshot.seq;
    this.totalKeys = snapshot.totalKeys;
    conn.stream((f) => this.onFrame(f));
    this.schedulePump();
  }

  get rowsSent(): boolean {
    return this.snapshot === null;
  }

  get backlogEntries(): number {
    return this.backlog.length;
  }

  get backlogBytes(): number {
    return this.backlog.bytes;
  }

  get unackedBytes(): number {
    return this.window.unackedBytes;
  }

  get sentFrames(): number {
    return this.window.sentFrames;
  }

  /** Committed turns (inside the group commit): their writes to the slots after the snapshot join the backlog. */
  committed(batches: readonly StoredBatch[]): void {
    if (this.closed) return;
    try {
      for (const b of batches) {
        if (b.lastSeq <= this.seq) continue;
        const fw = filterEntries(decodeBatch(b.body), this.slots, this.seq);
        if (fw.length === 0) continue;
        if (this.flipSent) {
          this.late += fw.length;
          this.events.lateWrite(this.late);
          continue;
        }
        this.backlog.push(fw);
      }
    } catch (err) {
      this.events.failed(err as Error);
      return;
    }
    this.schedulePump();
  }

  /**
   * At the fence, once every write that ran is committed: sends whatever is
   * queued, ignoring the window (the backlog is small by then), and marks
   * the stream finished — later writes to the slots are late.
   */
  finish(): void {
    while (this.backlog.length > 0) this.sendForwards(this.backlog.take(FRAME_BYTES));
    this.flipSent = true;
  }

  close(): void {
    this.closed = true;
    this.snapshot?.close();
    this.snapshot = null;
    this.pendingRows = [];
    this.backlog.clear();
  }

  private onFrame(f: Frame): void {
    if (f.type !== FrameType.MigrateAck) throw new MigrationError('target_refused', `unexpected frame ${FrameType[f.type] ?? f.type} from the target`);
    this.window.ack(decodeMigrateAck(f.body));
    this.lastAckAt = performance.now();
    this.schedulePump();
    this.events.changed();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  /** Rows first, then forwarded writes, while the window allows; one bounded step per turn. */
  private pump(): void {
    this.pumpScheduled = false;
    if (this.closed || this.flipSent || this.conn.closed) return;
    let more = false;
    try {
      if (this.window.canSend()) {
        if (this.snapshot !== null) {
          const rows = this.snapshot.next(READ_CHUNK_BYTES);
          for (const r of rows) {
            this.pendingRows.push(r);
            this.pendingBytes += r.key.length + r.value.length + 32;
          }
          const ended = rows.length === 0;
          if (this.pendingBytes >= FRAME_BYTES || (ended && this.pendingRows.length > 0)) this.sendRows();
          if (ended) {
            this.snapshot.close();
            this.snapshot = null;
            this.events.rowsDone();
          }
          more = true;
        } else if (this.backlog.length > 0) {
          this.sendForwards(this.backlog.take(FRAME_BYTES));
          more = true;
        }
      }
    } catch (err) {
      this.events.failed(err as Error);
      return;
    }
    if (more && this.window.canSend()) this.schedulePump();
    this.events.changed();
  }

  private sendRows(): void {
    const rows = this.pendingRows;
    this.pendingRows = [];
    this.pendingBytes = 0;
    const body = encodeRows(rows);
    this.conn.send(encodeFrame(FrameType.MigrateRows, body));
    this.window.sent(body.length);
    let bytes = 0;
    for (const row of rows) bytes += row.key.length + row.value.length;
    this.events.sent({ keys: rows.length, bytes, entries: 0 });
  }

  private sendForwards(fw: readonly Forward[]): void {
    const body = encodeBatch(fw.map((f) => ({ seq: ++this.forwardSeq, m: forwardToMutation(f) })));
    this.conn.send(encodeFrame(FrameType.MigrateEntries, body));
    this.window.sent(body.length);
    this.events.sent({ keys: 0, bytes: 0, entries: fw.length });
  }
}
