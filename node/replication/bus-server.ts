/**
 * The cluster bus listener: every connection starts with one frame that says
 * what it is — Hello (a replica wants to stream) or Probe (a peer asks who
 * leads at which epoch). Anything else is closed.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logger.js';
import { BusSocket } from './bus-socket.js';
import { FrameType, HANDSHAKE_FRAME_BYTES, encodeJsonFrame, type Frame } from './frames.js';
import { parseHello, parseProbe, type HelloMsg, type ProbeMsg, type RefuseMsg } from './messages.js';

/** A connection that sends nothing useful in this time is closed. */
const FIRST_FRAME_TIMEOUT_MS = 10_000;

export interface BusHandlers {
  onHello(bus: BusSocket, hello: HelloMsg): void;
  onProbe(bus: BusSocket, probe: ProbeMsg): void;
  /** Any other first frame (slot migration); returns false if it does not take the connection. */
  onOther?(bus: BusSocket, first: Frame): boolean;
}

export type OtherFrameHandler = (bus: BusSocket, first: Frame) => boolean;

/**
 * Handlers for other first frames, by the bus port they were registered for:
 * the slot migration registers itself on the node's bus after the
 * replication manager opened it, without the manager knowing about it.
 */
const otherHandlers = new Map<number, OtherFrameHandler>();

/** Routes first frames other than Hello/Probe arriving on `busPort` to `handler`; returns the unregister function. */
export function registerBusHandler(busPort: number, handler: OtherFrameHandler): () => void {
  otherHandlers.set(busPort, handler);
  return () => {
    if (otherHandlers.get(busPort) === handler) otherHandlers.delete(busPort);
  };
}

export class BusServer {
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  private port = 0;

  constructor(private readonly handlers: BusHandlers, private readonly logger: Logger) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  close(): Promise<void> {
    for (const s of this.open) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    const bus = new BusSocket(socket, HANDSHAKE_FRAME_BYTES);
    const timer = setTimeout(() => bus.close('no handshake'), FIRST_FRAME_TIMEOUT_MS);
    let first = true;
    bus.attach({
      onFrame: (f) => {
        if (!first) throw new Error('frame before the handshake was handled');
        first = false;
        clearTimeout(timer);
        if (f.type === FrameType.Hello) {
          this.handlers.onHello(bus, parseHello(f.body));
        } else if (f.type === FrameType.Probe) {
          this.handlers.onProbe(bus, parseProbe(f.body));
        } else {
          const other = this.handlers.onOther ?? otherHandlers.get(this.port);
          if (other === undefined || !other(bus, f)) throw new Error(`first frame must be Hello or Probe, got type ${f.type}`);
        }
        // Handlers close a peer that fails authentication before returning; the rest may send full-size frames.
        if (!bus.isClosed && !bus.socket.writableEnded) bus.trust();
      },
      onClose: (reason) => {
        clearTimeout(timer);
        if (first) this.logger.debug('bus connection closed before its handshake', { remote: bus.remote, reason });
      },
    });
  }
}

/** Answers with a Refuse and closes. */
export function refuse(bus: BusSocket, msg: RefuseMsg): void {
  bus.endWith(encodeJsonFrame(FrameType.Refuse, msg), `refused: ${msg.code}`);
}
