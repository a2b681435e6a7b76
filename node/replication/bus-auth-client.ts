/**
 * The connecting side of the bus handshake (bus-auth.ts) over a BusSocket:
 * replication links, isolation probes and slot-migration connections all
 * authenticate the node they reach, and prove themselves, before their
 * first real frame.
 */
import type { BusSocket } from './bus-socket.js';
import { BusAuthError, ClientHandshake, parseAuthChallenge, parseAuthRefused } from './bus-auth.js';
import { FrameType, encodeJsonFrame, type Frame } from './frames.js';
import type { BusTlsFiles } from '../tls/bus-transport.js';

/** What a node proves itself with on the bus: the cluster secret (never sent) and its name. */
export interface BusCredentials {
  readonly secret: string;
  readonly name: string;
  /** tlsCluster: the connection is mutual TLS with these files (node/tls/bus-transport.ts). */
  readonly tls?: BusTlsFiles | undefined;
}

/** One connection's client handshake: begin() once connected, then hand it every frame until it returns true. */
export class BusClientAuth {
  private readonly hs: ClientHandshake;
  private state: 'idle' | 'waiting' | 'done' = 'idle';

  constructor(private readonly bus: BusSocket, creds: BusCredentials, private readonly peer: string) {
    this.hs = new ClientHandshake(creds.secret, creds.name);
  }

  get done(): boolean {
    return this.state === 'done';
  }

  begin(): void {
    this.state = 'waiting';
    this.bus.send(encodeJsonFrame(FrameType.AuthHello, this.hs.hello()));
  }

  /**
   * A frame that came before the handshake finished. True once both sides
   * are proven (our proof is sent: the first real frame may follow at once);
   * throws BusAuthError when the peer refused us or did not prove itself.
   */
  onFrame(f: Frame): boolean {
    if (f.type === FrameType.AuthRefused) throw new BusAuthError(`${this.peer} refused us: ${parseAuthRefused(f.body).message}`, 'refused');
    if (this.state !== 'waiting' || f.type !== FrameType.AuthChallenge) {
      throw new BusAuthError(`expected AuthChallenge from ${this.peer}, got ${FrameType[f.type] ?? f.type}`);
    }
    const proof = this.hs.answer(parseAuthChallenge(f.body));
    this.bus.send(encodeJsonFrame(FrameType.AuthProof, proof));
    this.state = 'done';
    return true;
  }
}

/**
 * Authenticates a connected bus and resolves with it PAUSED: the caller
 * attaches its own hooks, then resume()s. Rejects (and closes the socket)
 * on refusal, a failed proof, a close or the deadline.
 */
export function authenticateBus(bus: BusSocket, creds: BusCredentials, peer: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const auth = new BusClientAuth(bus, creds, peer);
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      bus.close(err.message);
      reject(err);
    };
    const timer = setTimeout(() => fail(new BusAuthError(`no authentication answer from ${peer} within ${timeoutMs} ms`, 'connection')), timeoutMs);
    bus.attach({
      onFrame: (f) => {
        if (settled) return;
        try {
          if (!auth.onFrame(f)) return;
        } catch (err) {
          fail(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        settled = true;
        clearTimeout(timer);
        bus.pause();
        resolve();
      },
      onClose: (reason) => fail(new BusAuthError(`connection to ${peer} closed during authentication: ${reason}`, 'connection')),
    });
    auth.begin();
  });
}
