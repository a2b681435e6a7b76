/**
 * Mutual challenge–response authentication of cluster-bus peers
 * (docs/architecture.md §7). The connecting side (client) and the listening
 * side (server) each send a fresh random nonce; each proves it knows the
 * cluster secret with HMAC-SHA256(secret, label || client nonce || server
 * nonce || client name || server name), the label saying which side made
 * the proof (so one side's proof is never a valid proof of the other side).
 * The secret never crosses the wire, a recorded proof is worthless on
 * another connection (the other side's nonce is new), and proofs are
 * compared in constant time. Pure apart from drawing random nonces.
 *
 *   client → AuthHello {v, name, nonce}
 *   server → AuthChallenge {name, nonce, proof}   (server's proof)
 *   client → AuthProof {proof}                    (client's proof), then its first frame
 *   server → AuthRefused {message} and close, if anything was wrong
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { FrameError, parseJsonObject } from '../../common/frame-fields.js';

export const AUTH_VERSION = 1;
/** Bytes of a nonce; hex on the wire. */
export const NONCE_BYTES = 32;
/** The only text a peer that failed authentication gets: nothing about the node or its shard. */
export const AUTH_REFUSED_MESSAGE = 'authentication failed';

const HEX64 = /^[0-9a-f]{64}$/;
const LABEL_SERVER = 'irisdb-bus-auth-v1 server';
const LABEL_CLIENT = 'irisdb-bus-auth-v1 client';

/** A peer did not prove it knows the cluster secret (or broke the handshake). The message is for the local log only. */
export class BusAuthError extends Error {
  /** refused: the peer refused us; unproven: the peer did not prove itself; connection: closed or timed out meanwhile. */
  constructor(message: string, readonly kind: 'refused' | 'unproven' | 'connection' = 'unproven') {
    super(message);
    this.name = 'BusAuthError';
  }
}

export interface AuthHelloMsg {
  v: 1;
  name: string;
  nonce: string;
}

export interface AuthChallengeMsg {
  name: string;
  nonce: string;
  proof: string;
}

export interface AuthProofMsg {
  proof: string;
}

export interface AuthRefusedMsg {
  message: string;
}

/** Randomness and comparison, injectable so tests can show every check goes through the constant-time compare. */
export interface HandshakeCrypto {
  nonce(): Buffer;
  equal(a: Buffer, b: Buffer): boolean;
}

export const defaultHandshakeCrypto: HandshakeCrypto = {
  nonce: () => randomBytes(NONCE_BYTES),
  equal: timingSafeEqual,
};

/** Length-prefixed parts: no two different transcripts give the same MAC input. */
function transcript(label: string, clientNonce: Buffer, serverNonce: Buffer, clientName: string, serverName: string): Buffer {
  const parts = [Buffer.from(label, 'utf8'), clientNonce, serverNonce, Buffer.from(clientName, 'utf8'), Buffer.from(serverName, 'utf8')];
  const out: Buffer[] = [];
  for (const p of parts) {
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(p.length, 0);
    out.push(len, p);
  }
  return Buffer.concat(out);
}

function mac(secret: string, data: Buffer): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

function requireSecret(secret: string): void {
  // An empty secret would make every proof computable by anyone.
  if (secret === '') throw new BusAuthError('no cluster secret is configured (the admin token is empty): the bus refuses every peer');
}

/** The connecting side: hello, then verify the server's proof and answer with ours. */
export class ClientHandshake {
  private readonly nonce: Buffer;
  private answered = false;

  constructor(private readonly secret: string, private readonly name: string, private readonly crypto: HandshakeCrypto = defaultHandshakeCrypto) {
    this.nonce = crypto.nonce();
  }

  hello(): AuthHelloMsg {
    return { v: AUTH_VERSION, name: this.name, nonce: this.nonce.toString('hex') };
  }

  /** Verifies the server's proof; returns this side's proof. Throws BusAuthError if the server did not prove it knows the secret. */
  answer(ch: AuthChallengeMsg): AuthProofMsg {
    requireSecret(this.secret);
    if (this.answered) throw new BusAuthError('a second challenge on one connection');
    this.answered = true;
    const serverNonce = Buffer.from(ch.nonce, 'hex');
    if (serverNonce.equals(this.nonce)) throw new BusAuthError('the server echoed our nonce');
    const expected = mac(this.secret, transcript(LABEL_SERVER, this.nonce, serverNonce, this.name, ch.name));
    if (!this.crypto.equal(expected, Buffer.from(ch.proof, 'hex'))) throw new BusAuthError(`${ch.name} did not prove it knows the cluster secret`);
    return { proof: mac(this.secret, transcript(LABEL_CLIENT, this.nonce, serverNonce, this.name, ch.name)).toString('hex') };
  }
}

/** The listening side: challenge with our proof, then verify the client's. */
export class ServerHandshake {
  private readonly nonce: Buffer;
  private hello: AuthHelloMsg | null = null;
  private verified = false;

  constructor(private readonly secret: string, private readonly name: string, private readonly crypto: HandshakeCrypto = defaultHandshakeCrypto) {
    this.nonce = crypto.nonce();
  }

  /** The peer that said hello (its claimed name: trusted only once verify() passed). */
  get peerName(): string | null {
    return this.hello?.name ?? null;
  }

  challenge(hello: AuthHelloMsg): AuthChallengeMsg {
    requireSecret(this.secret);
    if (this.hello !== null) throw new BusAuthError('a second hello on one connection');
    const clientNonce = Buffer.from(hello.nonce, 'hex');
    // A client reflecting our own nonce back could otherwise replay our proof.
    if (clientNonce.equals(this.nonce)) throw new BusAuthError('the client sent our nonce');
    this.hello = hello;
    const proof = mac(this.secret, transcript(LABEL_SERVER, clientNonce, this.nonce, hello.name, this.name));
    return { name: this.name, nonce: this.nonce.toString('hex'), proof: proof.toString('hex') };
  }

  /** Throws BusAuthError unless the client proved it knows the secret on this connection. */
  verify(p: AuthProofMsg): void {
    const hello = this.hello;
    if (hello === null) throw new BusAuthError('a proof before the hello');
    if (this.verified) throw new BusAuthError('a second proof on one connection');
    const expected = mac(this.secret, transcript(LABEL_CLIENT, Buffer.from(hello.nonce, 'hex'), this.nonce, hello.name, this.name));
    if (!this.crypto.equal(expected, Buffer.from(p.proof, 'hex'))) throw new BusAuthError(`the peer calling itself ${hello.name} did not prove it knows the cluster secret`);
    this.verified = true;
  }
}

// ---- message parsers (FrameError on anything malformed) ----------------------

export function parseAuthHello(body: Buffer): AuthHelloMsg {
  const f = parseJsonObject(body, 'AuthHello');
  if (f.get('v') !== AUTH_VERSION) f.fail('v', `the auth protocol version ${AUTH_VERSION}`, f.get('v'));
  return { v: 1, name: f.nodeName('name'), nonce: f.matching('nonce', HEX64, '64 lowercase hex characters') };
}

export function parseAuthChallenge(body: Buffer): AuthChallengeMsg {
  const f = parseJsonObject(body, 'AuthChallenge');
  return {
    name: f.nodeName('name'),
    nonce: f.matching('nonce', HEX64, '64 lowercase hex characters'),
    proof: f.matching('proof', HEX64, '64 lowercase hex characters'),
  };
}

export function parseAuthProof(body: Buffer): AuthProofMsg {
  const f = parseJsonObject(body, 'AuthProof');
  return { proof: f.matching('proof', HEX64, '64 lowercase hex characters') };
}

export function parseAuthRefused(body: Buffer): AuthRefusedMsg {
  const f = parseJsonObject(body, 'AuthRefused');
  return { message: f.str('message') };
}

export { FrameError };
