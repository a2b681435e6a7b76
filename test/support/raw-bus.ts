/**
 * A raw cluster-bus peer for tests: a plain TCP socket speaking the frame
 * protocol (node/replication/frames.ts), recording every byte it received,
 * with the client side of the authentication handshake available (for a
 * peer that knows the secret) or skipped (for one that does not).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { ClientHandshake, parseAuthChallenge } from '../../node/replication/bus-auth.js';
import { FrameReader, FrameType, encodeJsonFrame, type Frame } from '../../node/replication/frames.js';
import { waitFor } from './wait.js';

export class RawBusPeer {
  readonly frames: Frame[] = [];
  /** Every byte received, in order. */
  received = Buffer.alloc(0);
  closed = false;
  private readonly reader = new FrameReader();
  private taken = 0;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.reader.push(chunk);
      for (let f = this.reader.next(); f !== null; f = this.reader.next()) this.frames.push(f);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawBusPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => {
        socket.off('error', reject);
        resolve(new RawBusPeer(socket));
      });
      socket.once('error', reject);
    });
  }

  send(type: FrameType, body: unknown): void {
    this.socket.write(encodeJsonFrame(type, body));
  }

  /** The next frame not yet taken (bounded wait); null if the connection closed first. */
  async next(what: string, timeoutMs = 5000): Promise<Frame | null> {
    return waitFor(what, () => {
      if (this.taken < this.frames.length) return { f: this.frames[this.taken++]! };
      return this.closed ? { f: null } : null;
    }, { timeoutMs, intervalMs: 10 }).then((r) => r.f);
  }

  /** Runs the client handshake with `secret` (hello, verify the server's proof, send ours); throws if the server did not answer with a valid AuthChallenge. */
  async authenticate(secret: string, name: string): Promise<void> {
    const hs = new ClientHandshake(secret, name);
    this.send(FrameType.AuthHello, hs.hello());
    const ch = await this.next('AuthChallenge');
    if (ch === null || ch.type !== FrameType.AuthChallenge) throw new Error(`expected AuthChallenge, got ${ch === null ? 'a close' : FrameType[ch.type]}`);
    this.send(FrameType.AuthProof, hs.answer(parseAuthChallenge(ch.body)));
  }

  /** An intruder's handshake: hello, take the server's challenge, answer with a proof made without the secret. Returns the challenge. */
  async forgeProof(name: string): Promise<Frame | null> {
    this.send(FrameType.AuthHello, { v: 1, name, nonce: randomBytes(32).toString('hex') });
    const ch = await this.next('AuthChallenge');
    if (ch !== null && ch.type === FrameType.AuthChallenge) this.send(FrameType.AuthProof, { proof: randomBytes(32).toString('hex') });
    return ch;
  }

  waitClosed(timeoutMs = 5000): Promise<true> {
    return waitFor('the bus connection to close', () => (this.closed ? true : null), { timeoutMs, intervalMs: 10 });
  }

  close(): void {
    this.socket.destroy();
  }
}
