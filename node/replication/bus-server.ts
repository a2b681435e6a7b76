/**
 * The cluster bus listener: every connection starts with one frame that says
 * what it is — Hello (a replica wants to stream) or Probe (a peer asks who
 * leads at which epoch) — or another first frame that a handler added on
 * this server takes (slot migration). Anything else is closed.
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
}

/** Takes a connection whose first frame is neither Hello nor Probe (slot migration); false if it does not. */
export type FirstFrameHandler = (bus: BusSocket, first: Frame) => boolean;

export class BusServer {
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  /** Handlers for other first frames, asked in the order they were added. */
  private readonly others = new Set<FirstFrameHandler>();

  constructor(private readonly handlers: BusHandlers, private readonly logger: Logger) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /**
   * Routes first frames other than Hello/Probe to `handler` (the slot
   * migration registers itself on the bus the replication opened, without
   * the replication knowing about it); returns the unregister function.
   */
  addFirstFrameHandler(handler: FirstFrameHandler): () => void {
    this.others.add(handler);
    return () => {
      this.others.delete(handler);
    };
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    for (const s of this.open) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private takeOther(bus: BusSocket, first: Frame): boolean {
    for (const handler of this.others) {
      if (handler(bus, first)) return true;
    }
    return false;
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
          if (!this.takeOther(bus, f)) throw new Error(`first frame must be Hello or Probe, got type ${f.type}`);
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
