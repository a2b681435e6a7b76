/**
 * One cluster-bus TCP connection: frames in (in order, pausable), frames out,
 * and one close path that says why. Both ends of replication use it.
 */
import type { Socket } from 'node:net';
import { FrameError, FrameReader, MAX_FRAME_BYTES, type Frame } from './frames.js';

export interface BusSocketHooks {
  onFrame(frame: Frame): void;
  onClose(reason: string): void;
  onBytesIn?(n: number): void;
  onBytesOut?(n: number): void;
}

export class BusSocket {
  private readonly reader: FrameReader;
  private paused = false;
  private closed = false;
  private hooks: BusSocketHooks | null = null;
  private closeReason = 'connection closed by peer';

  constructor(readonly socket: Socket, maxBodyBytes: number = MAX_FRAME_BYTES) {
    this.reader = new FrameReader(maxBodyBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.hooks?.onBytesIn?.(chunk.length);
      this.reader.push(chunk);
      this.pump();
    });
    socket.on('error', (err: Error) => {
      this.closeReason = err.message;
    });
    socket.on('close', () => {
      this.closed = true;
      this.hooks?.onClose(this.closeReason);
    });
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? 0}`;
  }

  get isClosed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  /** Bytes queued in the socket and not yet sent. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** Starts (or hands over) frame delivery; frames already buffered are delivered now. */
  attach(hooks: BusSocketHooks): void {
    this.hooks = hooks;
    if (this.closed) {
      hooks.onClose(this.closeReason);
      return;
    }
    this.pump();
  }

  /** The peer is authenticated: accept frames up to the full limit. */
  trust(): void {
    this.reader.setMaxBodyBytes(MAX_FRAME_BYTES);
  }

  /** Writes a whole frame; false when the socket buffer is over its high-water mark (wait for onDrain). */
  send(frame: Buffer): boolean {
    if (this.isClosed) return false;
    this.hooks?.onBytesOut?.(frame.length);
    return this.socket.write(frame);
  }

  onDrain(cb: () => void): void {
    this.socket.once('drain', cb);
  }

  /** Stops delivering frames (they stay buffered) until resume(). */
  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    // Deliver what is already buffered without waiting for more bytes.
    setImmediate(() => this.pump());
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.socket.destroy();
  }

  /** Sends a last frame, then closes. */
  endWith(frame: Buffer, reason: string): void {
    if (this.isClosed) return;
    this.closeReason = reason;
    this.socket.end(frame);
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private pump(): void {
    if (this.hooks === null) return;
    // isClosed, not closed: a handler that closed the socket stops delivery of what is still buffered.
    while (!this.paused && !this.isClosed) {
      let frame: Frame | null;
      try {
        frame = this.reader.next();
      } catch (err) {
        this.close(err instanceof FrameError ? `bad frame from ${this.remote}: ${err.message}` : String(err));
        return;
      }
      if (frame === null) return;
      try {
        this.hooks.onFrame(frame);
      } catch (err) {
        this.close(err instanceof Error ? err.message : String(err));
        return;
      }
    }
  }
}
