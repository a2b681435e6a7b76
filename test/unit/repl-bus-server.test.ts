/**
 * The cluster bus listener routes first frames other than Hello/Probe to
 * the handlers added on that server instance (no registry shared between
 * servers), and closes a connection no handler takes. Also the commit-time
 * record behind a replica's lag in milliseconds (fake clock).
 */
import { expect } from 'chai';
import net from 'node:net';
import { silentLogger } from '../../common/logger.js';
import { BusServer } from '../../node/replication/bus-server.js';
import { CommitTimes } from '../../node/replication/commit-times.js';
import { FrameType, encodeJsonFrame } from '../../node/replication/frames.js';

/** Connects, sends one frame, and resolves when the server closes the connection. */
function sendAndWaitForClose(port: number, frame: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(frame));
    socket.on('error', reject);
    socket.on('data', () => undefined);
    socket.on('close', () => resolve());
  });
}

describe('replication: bus server first-frame handlers', () => {
  const servers: BusServer[] = [];
  const refuseAll = { onHello: () => undefined, onProbe: () => undefined };

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('each server asks only the handlers added on it; an unregistered handler is not asked again', async () => {
    const a = new BusServer(refuseAll, silentLogger());
    const b = new BusServer(refuseAll, silentLogger());
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
    const frame = encodeJsonFrame(FrameType.MigrateAbort, {});

    await sendAndWaitForClose(portA, frame);
    expect(seenA).to.deep.equal([FrameType.MigrateAbort]);
    expect(seenB).to.deep.equal([]);

    offA();
    await sendAndWaitForClose(portA, frame);
    expect(seenA).to.have.length(1);
    expect(seenB).to.deep.equal([]);

    await sendAndWaitForClose(portB, frame);
    expect(seenB).to.deep.equal([FrameType.MigrateAbort]);
  });

  it('a handler that declines leaves the frame to the next one', async () => {
    const s = new BusServer(refuseAll, silentLogger());
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
    await sendAndWaitForClose(port, encodeJsonFrame(FrameType.MigrateBegin, {}));
    expect(asked).to.deep.equal(['first', 'second']);
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
