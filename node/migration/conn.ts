/**
 * The source's end of a migration connection to the target's cluster bus:
 * connect and authenticate (both sides prove they know the cluster secret,
 * replication/bus-auth.ts) with a deadline, send frames, and either wait for one of a set of
 * frame types (request/answer phases) or hand every frame to a handler
 * (the copy, where acknowledgements stream back).
 */
import net from 'node:net';
import { BusAuthError } from '../replication/bus-auth.js';
import { authenticateBus, type BusCredentials } from '../replication/bus-auth-client.js';
import { dialBus, type BusTlsFiles } from '../tls/bus-transport.js';
import { BusSocket } from '../replication/bus-socket.js';
import { FrameError, FrameType, HANDSHAKE_FRAME_BYTES, type Frame } from '../replication/frames.js';
import { MigrationError } from './plan.js';
import { parseError } from './messages.js';

export interface PeerBusAddress {
  readonly name: string;
  readonly host: string;
  readonly busPort: number;
}

interface Waiter {
  readonly types: readonly FrameType[];
  readonly resolve: (f: Frame) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class MigrationConn {
  private waiter: Waiter | null = null;
  private handler: ((f: Frame) => void) | null = null;
  private closedReason: string | null = null;
  private readonly closeListeners: Array<(reason: string) => void> = [];

  private constructor(readonly peer: PeerBusAddress, readonly bus: BusSocket) {
    bus.attach({
      onFrame: (f) => this.onFrame(f),
      onClose: (reason) => this.closedBy(reason),
    });
  }

  /** Connects and authenticates within timeoutMs; a peer that refuses us or fails to prove itself rejects with target_refused. */
  static async connect(peer: PeerBusAddress, creds: BusCredentials, timeoutMs: number): Promise<MigrationConn> {
    const started = Date.now();
    const socket = await MigrationConn.open(peer, timeoutMs, creds.tls);
    const bus = new BusSocket(socket, HANDSHAKE_FRAME_BYTES);
    try {
      await authenticateBus(bus, creds, peer.name, Math.max(1, timeoutMs - (Date.now() - started)));
    } catch (err) {
      const refused = err instanceof BusAuthError && err.kind !== 'connection';
      throw new MigrationError(refused ? 'target_refused' : 'connection', `authenticating with ${peer.name} at ${peer.host}:${peer.busPort}: ${(err as Error).message}`);
    }
    // Proven: the target's answers may be as large as any bus frame.
    bus.trust();
    const conn = new MigrationConn(peer, bus);
    bus.resume();
    return conn;
  }

  private static open(peer: PeerBusAddress, timeoutMs: number, tls: BusTlsFiles | undefined): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dialBus(peer.host, peer.busPort, tls);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new MigrationError('connection', `could not connect to ${peer.name} at ${peer.host}:${peer.busPort} within ${timeoutMs} ms`));
      }, timeoutMs);
      // Over TLS: once the peer's certificate is verified.
      socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new MigrationError('connection', `could not connect to ${peer.name} at ${peer.host}:${peer.busPort}: ${err.message}`));
      });
    });
  }

  get closed(): boolean {
    return this.closedReason !== null || this.bus.isClosed;
  }

  /** Why it closed, once it has. */
  get closeReason(): string | null {
    return this.closedReason ?? (this.bus.isClosed ? 'connection closed' : null);
  }

  get writableLength(): number {
    return this.bus.writableLength;
  }

  send(frame: Buffer): void {
    if (this.closed) throw new MigrationError('connection', `the connection to ${this.peer.name} is closed (${this.closedReason ?? 'closed'})`);
    this.bus.send(frame);
  }

  /** The next frame of one of `types`; a MigrateError frame, a close or the deadline rejects. */
  next(types: readonly FrameType[], timeoutMs: number, what: string): Promise<Frame> {
    if (this.waiter !== null) throw new Error('MigrationConn: one waiter at a time');
    if (this.closedReason !== null) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new MigrationError('connection', `${this.peer.name} did not answer ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { types, resolve, reject, timer };
    });
  }

  /** Frames no waiter asked for go to `handler` (a MigrateError frame closes the connection: see onClose). */
  stream(handler: (f: Frame) => void): void {
    this.handler = handler;
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closedReason !== null) listener(this.closedReason);
    else this.closeListeners.push(listener);
  }

  close(reason: string): void {
    this.fail(reason);
  }

  private onFrame(f: Frame): void {
    if (f.type === FrameType.MigrateError) {
      const msg = parseError(f.body);
      this.fail(`${this.peer.name} refused: ${msg.message} (${msg.code})`);
      return;
    }
    const w = this.waiter;
    if (w !== null && w.types.includes(f.type)) {
      this.waiter = null;
      clearTimeout(w.timer);
      w.resolve(f);
      return;
    }
    if (this.handler !== null) {
      this.handler(f);
      return;
    }
    throw new FrameError(`unexpected frame ${FrameType[f.type] ?? f.type} from ${this.peer.name}`);
  }

  private fail(reason: string): void {
    this.closedReason ??= reason;
    this.bus.close(reason);
  }

  private closedBy(reason: string): void {
    this.closedReason ??= reason;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      clearTimeout(w.timer);
      w.reject(this.closedError());
    }
    for (const l of this.closeListeners.splice(0)) l(this.closedReason);
  }

  private closedError(): MigrationError {
    const refused = this.closedReason?.includes(' refused: ') === true;
    return new MigrationError(refused ? 'target_refused' : 'connection', `connection to ${this.peer.name}: ${this.closedReason ?? 'closed'}`);
  }
}
