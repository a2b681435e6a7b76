/**
 * The cluster bus listener routes first frames other than Hello/Probe to
 * the handlers added on that server instance (no registry shared between
 * servers), and closes a connection no handler takes; every connection
 * authenticates first, and a peer that does not gets the generic refusal
 * and reaches no handler. Also the commit-time record behind a replica's
 * lag in milliseconds (fake clock).
 */
import { expect } from 'chai';
import { silentLogger } from '../../common/logger.js';
import { AUTH_REFUSED_MESSAGE, ClientHandshake, parseAuthRefused } from '../../node/replication/bus-auth.js';
import { BusServer } from '../../node/replication/bus-server.js';
import { CommitTimes } from '../../node/replication/commit-times.js';
import { FrameType } from '../../node/replication/frames.js';
import { RawBusPeer } from '../support/raw-bus.js';

const SECRET = 'bus-unit-secret';

/** Connects, authenticates, sends one frame, and resolves when the server closes the connection. */
async function sendAndWaitForClose(port: number, type: FrameType, body: unknown): Promise<void> {
  const peer = await RawBusPeer.connect(port);
  await peer.authenticate(SECRET, 'unit-peer');
  peer.send(type, body);
  await peer.waitClosed();
}

describe('replication: bus server first-frame handlers', () => {
  const servers: BusServer[] = [];
  const refuseAll = { onHello: () => undefined, onProbe: () => undefined };
  const auth = { secret: SECRET, name: 'unit-server', onRefused: () => undefined };

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('each server asks only the handlers added on it; an unregistered handler is not asked again', async () => {
    const a = new BusServer(refuseAll, silentLogger(), auth);
    const b = new BusServer(refuseAll, silentLogger(), auth);
    servers.push(a, b);
    const portA = await a.listen(0, '127.0.0.1');
    const portB = await b.listen(0, '127.0.0.1');
    const seenA: FrameType[] = [];
    const seenB: FrameType[] = [];
    const offA = a.addFirstFrameHandler((bus, f) => {
      seenA.push(f.type);
      bus.close('taken by a');
      return true;
    });
    b.addFirstFrameHandler((bus, f) => {
      seenB.push(f.type);
      bus.close('taken by b');
      return true;
    });
    const frame = [FrameType.MigrateAbort, {}] as const;

    await sendAndWaitForClose(portA, ...frame);
    expect(seenA).to.deep.equal([FrameType.MigrateAbort]);
    expect(seenB).to.deep.equal([]);

    offA();
    await sendAndWaitForClose(portA, ...frame);
    expect(seenA).to.have.length(1);
    expect(seenB).to.deep.equal([]);

    await sendAndWaitForClose(portB, ...frame);
    expect(seenB).to.deep.equal([FrameType.MigrateAbort]);
  });

  it('a handler that declines leaves the frame to the next one', async () => {
    const s = new BusServer(refuseAll, silentLogger(), auth);
    servers.push(s);
    const port = await s.listen(0, '127.0.0.1');
    const asked: string[] = [];
    s.addFirstFrameHandler(() => {
      asked.push('first');
      return false;
    });
    s.addFirstFrameHandler((bus) => {
      asked.push('second');
      bus.close('taken');
      return true;
    });
    await sendAndWaitForClose(port, FrameType.MigrateBegin, {});
    expect(asked).to.deep.equal(['first', 'second']);
  });

  it('a peer that does not prove the secret reaches no handler and gets only the generic refusal, counted', async () => {
    let refusals = 0;
    const reached: string[] = [];
    const s = new BusServer(
      { onHello: () => reached.push('hello'), onProbe: () => reached.push('probe') },
      silentLogger(),
      { ...auth, onRefused: () => refusals++ },
    );
    servers.push(s);
    s.addFirstFrameHandler(() => {
      reached.push('other');
      return true;
    });
    const port = await s.listen(0, '127.0.0.1');
    const cases: Array<(p: RawBusPeer) => Promise<void>> = [
      // No handshake at all: a Hello first (it once carried the token).
      async (p) => p.send(FrameType.Probe, { token: SECRET, name: 'x', epoch: 1 }),
      async (p) => p.send(FrameType.MigrateBegin, { v: 1, token: SECRET }),
      // The handshake without the secret: the server's challenge comes, the forged proof fails.
      async (p) => {
        await p.forgeProof('intruder');
        p.send(FrameType.Hello, { v: 1 });
      },
      // A malformed hello.
      async (p) => p.send(FrameType.AuthHello, { v: 1, name: 'x', nonce: 'short' }),
    ];
    for (const [i, run] of cases.entries()) {
      const p = await RawBusPeer.connect(port);
      await run(p);
      await p.waitClosed();
      const last = p.frames[p.frames.length - 1];
      expect(last?.type, `case ${i}`).to.equal(FrameType.AuthRefused);
      expect(parseAuthRefused(last!.body), `case ${i}`).to.deep.equal({ message: AUTH_REFUSED_MESSAGE });
      expect(JSON.parse(last!.body.toString('utf8')), `case ${i}: nothing but the message`).to.deep.equal({ message: AUTH_REFUSED_MESSAGE });
    }
    expect(reached).to.deep.equal([]);
    expect(refusals).to.equal(cases.length);
  });

  it('refuses every peer when no secret is configured, even one with the empty secret', async () => {
    let refusals = 0;
    const s = new BusServer(refuseAll, silentLogger(), { secret: '', name: 'unit-server', onRefused: () => refusals++ });
    servers.push(s);
    const port = await s.listen(0, '127.0.0.1');
    const p = await RawBusPeer.connect(port);
    p.send(FrameType.AuthHello, new ClientHandshake('', 'n').hello());
    await p.waitClosed();
    expect(p.frames.map((f) => f.type)).to.deep.equal([FrameType.AuthRefused]);
    expect(refusals).to.equal(1);
  });
});

describe('replication: commit times for lag in milliseconds', () => {
  it('the lag is the age of the oldest commit above the acknowledged sequence', () => {
    let now = 1000;
    const times = new CommitTimes(() => now);
    times.record(5);
    now = 1100;
    times.record(9);
    now = 1250;
    expect(times.lagMs(0)).to.equal(250);
    expect(times.lagMs(5)).to.equal(150);
    expect(times.lagMs(9)).to.equal(0);
    expect(times.lagMs(100)).to.equal(0);
  });
});
