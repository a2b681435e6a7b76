/**
 * The cluster bus listener. Every connection first authenticates (bus-auth.ts:
 * mutual HMAC challenge–response over the cluster secret; a peer that fails
 * gets a generic AuthRefused and is closed, counted and logged). Then its
 * first frame says what it is — Hello (a replica wants to stream) or Probe
 * (a peer asks who leads at which epoch) — or another first frame that a
 * handler added on this server takes (slot migration). Anything else is closed.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logger.js';
import { AUTH_REFUSED_MESSAGE, ServerHandshake, parseAuthHello, parseAuthProof } from './bus-auth.js';
import { BusSocket } from './bus-socket.js';
import { FrameType, HANDSHAKE_FRAME_BYTES, encodeJsonFrame, type Frame } from './frames.js';
import { parseHello, parseProbe, type HelloMsg, type ProbeMsg, type RefuseMsg } from './messages.js';
import { createTlsServer, type TlsServerSetup } from '../tls/server.js';

/** A connection that does not authenticate and send its first frame in this time is closed. */
const FIRST_FRAME_TIMEOUT_MS = 10_000;

export interface BusHandlers {
  onHello(bus: BusSocket, hello: HelloMsg): void;
  onProbe(bus: BusSocket, probe: ProbeMsg): void;
}

/** How this server authenticates its peers. */
export interface BusServerAuth {
  /** The cluster secret (the admin token); empty refuses every peer. */
  readonly secret: string;
  /** This node's name (bound into the proofs). */
  readonly name: string;
  /** A peer failed authentication (metrics, the audit log); remote is unknown for a refused TLS handshake. */
  onRefused(remote: string | null, claimedName: string | null, reason: string): void;
}

/** Takes a connection whose first frame is neither Hello nor Probe (slot migration); false if it does not. */
export type FirstFrameHandler = (bus: BusSocket, first: Frame) => boolean;

export class BusServer {
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  /** Handlers for other first frames, asked in the order they were added. */
  private readonly others = new Set<FirstFrameHandler>();

  /** tls (tlsCluster): only peers with a certificate from the cluster CA get to the handshake. */
  constructor(private readonly handlers: BusHandlers, private readonly logger: Logger, private readonly auth: BusServerAuth, tls?: TlsServerSetup) {
    this.server = tls === undefined
      ? net.createServer((socket) => this.accept(socket))
      : createTlsServer({ ...tls, authClients: 'yes' }, { handshakeTimeout: FIRST_FRAME_TIMEOUT_MS }, (socket) => this.accept(socket), (reason) => this.auth.onRefused(null, null, reason));
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
    const hs = new ServerHandshake(this.auth.secret, this.auth.name);
    let phase: 'hello' | 'proof' | 'first' | 'done' | 'refused' = 'hello';
    bus.attach({
      onFrame: (f) => {
        if (phase === 'hello' || phase === 'proof') {
          // Nothing but the handshake is read before the peer proved itself; any failure gets the same answer.
          try {
            if (phase === 'hello') {
              if (f.type !== FrameType.AuthHello) throw new Error(`first frame must be AuthHello, got ${FrameType[f.type] ?? f.type}`);
              bus.send(encodeJsonFrame(FrameType.AuthChallenge, hs.challenge(parseAuthHello(f.body))));
              phase = 'proof';
            } else {
              if (f.type !== FrameType.AuthProof) throw new Error(`expected AuthProof, got ${FrameType[f.type] ?? f.type}`);
              hs.verify(parseAuthProof(f.body));
              phase = 'first';
            }
          } catch (err) {
            phase = 'refused';
            clearTimeout(timer);
            this.refuseAuth(bus, hs.peerName, (err as Error).message);
          }
          return;
        }
        // A refused peer's further frames are dropped unread while the refusal is flushed.
        if (phase === 'refused') return;
        if (phase !== 'first') throw new Error('frame before the handshake was handled');
        phase = 'done';
        clearTimeout(timer);
        if (f.type === FrameType.Hello) {
          this.handlers.onHello(bus, parseHello(f.body));
        } else if (f.type === FrameType.Probe) {
          this.handlers.onProbe(bus, parseProbe(f.body));
        } else {
          if (!this.takeOther(bus, f)) throw new Error(`first frame must be Hello or Probe, got type ${f.type}`);
        }
        // Handlers that refuse close before returning; the rest may send full-size frames.
        if (!bus.isClosed && !bus.socket.writableEnded) bus.trust();
      },
      onClose: (reason) => {
        clearTimeout(timer);
        if (phase !== 'done' && phase !== 'refused') this.logger.debug('bus connection closed before its handshake', { remote: bus.remote, reason });
      },
    });
  }

  /** The generic refusal: says nothing about this node, its epoch or its shard. */
  private refuseAuth(bus: BusSocket, claimed: string | null, reason: string): void {
    this.auth.onRefused(bus.remote, claimed, reason);
    this.logger.warn('bus peer refused: authentication failed', { remote: bus.remote, claimedName: claimed ?? undefined, reason });
    bus.endWith(encodeJsonFrame(FrameType.AuthRefused, { message: AUTH_REFUSED_MESSAGE }), 'refused: authentication failed');
  }
}

/** Answers with a Refuse and closes. */
export function refuse(bus: BusSocket, msg: RefuseMsg): void {
  bus.endWith(encodeJsonFrame(FrameType.Refuse, msg), `refused: ${msg.code}`);
}
