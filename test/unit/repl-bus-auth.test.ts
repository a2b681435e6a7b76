/**
 * The bus handshake (node/replication/bus-auth.ts) on plain data: both sides
 * with the right secret prove themselves; a wrong secret on either side
 * fails; recorded proofs and nonces are worthless on a new connection; the
 * secret never appears in anything sent; every proof check goes through the
 * injected constant-time comparison (crypto.timingSafeEqual by default).
 */
import { expect } from 'chai';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  BusAuthError, ClientHandshake, ServerHandshake, defaultHandshakeCrypto, parseAuthChallenge, parseAuthHello, parseAuthProof,
  type HandshakeCrypto,
} from '../../node/replication/bus-auth.js';
import { FrameError } from '../../common/frame-fields.js';

const SECRET = 'correct horse battery staple';

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v), 'utf8');
}

/** Runs a whole exchange through the wire parsers; returns what crossed the wire. */
function exchange(client: ClientHandshake, server: ServerHandshake): string[] {
  const wire: string[] = [];
  const hello = client.hello();
  wire.push(JSON.stringify(hello));
  const ch = server.challenge(parseAuthHello(json(hello)));
  wire.push(JSON.stringify(ch));
  const proof = client.answer(parseAuthChallenge(json(ch)));
  wire.push(JSON.stringify(proof));
  server.verify(parseAuthProof(json(proof)));
  return wire;
}

describe('replication: bus peer authentication (challenge–response)', () => {
  it('both sides with the secret prove themselves, and the secret is in nothing sent', () => {
    const wire = exchange(new ClientHandshake(SECRET, 'node-1'), new ServerHandshake(SECRET, 'node-0'));
    expect(wire).to.have.length(3);
    for (const w of wire) {
      expect(w).not.to.contain(SECRET);
      expect(w).not.to.contain(Buffer.from(SECRET).toString('hex'));
      expect(w).not.to.contain(Buffer.from(SECRET).toString('base64'));
    }
  });

  it('a server without the secret is caught by the client before the client proves anything', () => {
    const client = new ClientHandshake(SECRET, 'node-1');
    const server = new ServerHandshake('wrong', 'node-0');
    const ch = server.challenge(client.hello());
    expect(() => client.answer(ch)).to.throw(BusAuthError, /node-0 did not prove it knows the cluster secret/);
  });

  it('a client without the secret is refused by the server', () => {
    // This client skips checking the server (its comparison says yes) and proves with the wrong secret.
    const careless: HandshakeCrypto = { nonce: () => randomBytes(32), equal: () => true };
    const client = new ClientHandshake('wrong', 'node-1', careless);
    const server = new ServerHandshake(SECRET, 'node-0');
    const proof = client.answer(server.challenge(client.hello()));
    expect(() => server.verify(proof)).to.throw(BusAuthError, /calling itself node-1 did not prove/);
    const other = new ServerHandshake(SECRET, 'node-0');
    other.challenge(new ClientHandshake('wrong', 'node-1').hello());
    expect(() => other.verify({ proof: randomBytes(32).toString('hex') })).to.throw(BusAuthError, /did not prove/);
  });

  it('a recorded client proof is refused on a new connection (the server nonce is new)', () => {
    const client = new ClientHandshake(SECRET, 'node-1');
    const hello = client.hello();
    const first = new ServerHandshake(SECRET, 'node-0');
    const proof = client.answer(first.challenge(hello));
    first.verify(proof);
    // Replay the same hello and proof to another connection.
    const second = new ServerHandshake(SECRET, 'node-0');
    second.challenge(hello);
    expect(() => second.verify(proof)).to.throw(BusAuthError);
  });

  it('a recorded server challenge is refused by a new client (the client nonce is new)', () => {
    const first = new ClientHandshake(SECRET, 'node-1');
    const ch = new ServerHandshake(SECRET, 'node-0').challenge(first.hello());
    first.answer(ch);
    expect(() => new ClientHandshake(SECRET, 'node-1').answer(ch)).to.throw(BusAuthError, /did not prove/);
  });

  it('a reflected nonce is refused on both sides, and each side answers once', () => {
    const fixed = randomBytes(32);
    const same: HandshakeCrypto = { nonce: () => fixed, equal: timingSafeEqual };
    const server = new ServerHandshake(SECRET, 'node-0', same);
    expect(() => server.challenge({ v: 1, name: 'x', nonce: fixed.toString('hex') })).to.throw(BusAuthError, /our nonce/);
    const client = new ClientHandshake(SECRET, 'node-1', same);
    expect(() => client.answer({ name: 'node-0', nonce: fixed.toString('hex'), proof: fixed.toString('hex') })).to.throw(BusAuthError, /echoed our nonce/);

    const c = new ClientHandshake(SECRET, 'node-1');
    const s = new ServerHandshake(SECRET, 'node-0');
    const ch = s.challenge(c.hello());
    expect(() => s.challenge(c.hello())).to.throw(BusAuthError, /second hello/);
    const p = c.answer(ch);
    expect(() => c.answer(ch)).to.throw(BusAuthError, /second challenge/);
    s.verify(p);
    expect(() => s.verify(p)).to.throw(BusAuthError, /second proof/);
  });

  it('the names are bound into the proofs', () => {
    const client = new ClientHandshake(SECRET, 'node-1');
    const server = new ServerHandshake(SECRET, 'node-0');
    const ch = server.challenge(client.hello());
    // The challenge relabelled as coming from another node fails the client's check.
    expect(() => client.answer({ ...ch, name: 'node-9' })).to.throw(BusAuthError);
  });

  it('an empty secret authenticates nobody', () => {
    const client = new ClientHandshake('', 'node-1');
    const server = new ServerHandshake('', 'node-0');
    expect(() => server.challenge(client.hello())).to.throw(BusAuthError, /no cluster secret/);
  });

  it('every proof check goes through the constant-time comparison (timingSafeEqual by default)', () => {
    expect(defaultHandshakeCrypto.equal).to.equal(timingSafeEqual);
    const calls: Array<[number, number]> = [];
    // A comparison that says yes to anything: if a check bypassed it, the wrong proofs below would still fail.
    const yes: HandshakeCrypto = { nonce: () => randomBytes(32), equal: (a, b) => (calls.push([a.length, b.length]), true) };
    const client = new ClientHandshake('one secret', 'node-1', yes);
    const server = new ServerHandshake('another secret', 'node-0', yes);
    const ch = server.challenge(client.hello());
    server.verify(client.answer(ch));
    expect(calls).to.deep.equal([[32, 32], [32, 32]]);
  });

  it('the wire parsers reject malformed handshake messages with the field named', () => {
    expect(() => parseAuthHello(json({ v: 2, name: 'a', nonce: 'ab'.repeat(32) }))).to.throw(FrameError, /'v'/);
    expect(() => parseAuthHello(json({ v: 1, name: 'a', nonce: 'AB'.repeat(32) }))).to.throw(FrameError, /'nonce' must be 64 lowercase hex/);
    expect(() => parseAuthChallenge(json({ name: 'a', nonce: 'ab'.repeat(32), proof: 'x' }))).to.throw(FrameError, /'proof'/);
    expect(() => parseAuthProof(json({}))).to.throw(FrameError, /'proof'/);
    expect(() => parseAuthProof(Buffer.from('nope'))).to.throw(FrameError, /not valid JSON/);
  });
});
