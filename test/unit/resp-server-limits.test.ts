/**
 * RespServer limits on a real loopback socket: max clients, the slowloris
 * guard, output and query buffer limits, unauthenticated request caps; in
 * every case the offending connection is closed and the others keep working.
 */
import { expect } from 'chai';
import type { RespServer } from '../../node/server/resp-server.js';
import type { NodeMetrics } from '../../node/observability/metrics.js';
import type { NodeConfig } from '../../node/config/schema.js';
import type { CommitScheduler } from '../../node/engine/types.js';
import { waitFor } from '../support/wait.js';
import { ByteClient, TestServer, testCommands } from '../support/resp-test-server.js';

/** Commits nothing (these commands never write) but keeps the one-turn delay of the real scheduler. */
class NoWrites implements CommitScheduler {
  readonly pending = false;
  afterCommit(cb: (err: Error | null) => void): void {
    setImmediate(() => cb(null));
  }
  barrier(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
  flushNow(): void {}
}

describe('RESP server: limits', () => {
  let metrics: NodeMetrics;
  let server: RespServer;
  let ts: TestServer;

  async function start(over: Partial<NodeConfig>): Promise<void> {
    ts = await TestServer.start(testCommands(null), new NoWrites(), over);
    ({ server, metrics } = ts);
  }

  const connect = (): Promise<ByteClient> => ts.connect();

  async function rejected(reason: string): Promise<number> {
    const text = await metrics.registry.getSingleMetricAsString('redis_rejected_connections_total');
    const m = new RegExp(`reason="${reason}"\\} (\\d+)`).exec(text);
    return m ? Number(m[1]) : 0;
  }

  async function stillServed(c: ByteClient): Promise<void> {
    c.send('PING\r\n');
    await c.expect('+PONG\r\n');
  }

  afterEach(async () => {
    await ts.close();
  });

  it('refuses connections beyond maxClients with the Redis error', async () => {
    await start({ maxClients: 2 });
    const a = await connect();
    const b = await connect();
    await waitFor('two clients', () => server.count === 2);
    const c = await connect();
    await c.expect('-ERR max number of clients reached\r\n');
    await c.closed();
    expect(await rejected('maxclients')).to.equal(1);
    await stillServed(a);
    await stillServed(b);
    a.destroy();
    await waitFor('a slot to free up', () => server.count === 1);
    await stillServed(await connect());
  });

  it('closes a connection that holds an incomplete request past partialFrameTimeoutMs', async () => {
    await start({ partialFrameTimeoutMs: 150 });
    const idle = await connect();
    const slow = await connect();
    slow.send('*2\r\n$4\r\nECHO\r\n');
    await slow.expect('-ERR Protocol error: incomplete request not completed within 150 ms\r\n');
    await slow.closed();
    expect(await rejected('partial_frame_timeout')).to.equal(1);
    // A connection with nothing pending is never timed out.
    await stillServed(idle);
  });

  it('does not let a trickle of bytes restart the clock, but a completed request does', async () => {
    await start({ partialFrameTimeoutMs: 60_000 });
    const c = await connect();
    await waitFor('the client', () => server.count === 1);
    const state = server.list()[0]! as unknown as { partialSince: number; queryBufferBytes(): number };
    c.send('*2\r\n$4\r\nECHO\r\n$3\r\nab');
    await waitFor('a partial frame', () => state.partialSince > 0);
    const first = state.partialSince;
    c.send('c');
    await waitFor('the byte to arrive', () => state.queryBufferBytes() === 3);
    expect(state.partialSince).to.equal(first);
    c.send('\r\n*1\r\n$4\r\nPI');
    await c.expect('*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n');
    expect(state.partialSince).to.be.greaterThan(first);
    c.send('NG\r\n');
    await c.expect('+PONG\r\n');
    expect(state.partialSince).to.equal(0);
  });

  it('closes a client that trickles one request forever', async () => {
    await start({ partialFrameTimeoutMs: 150 });
    const other = await connect();
    const c = await connect();
    c.send('*1\r\n$100000\r\n');
    // Load, not synchronisation: keep the frame growing until the server gives up on it.
    const trickle = setInterval(() => c.send('x'), 10);
    try {
      await c.expect('-ERR Protocol error: incomplete request not completed within 150 ms\r\n');
      await c.closed();
    } finally {
      clearInterval(trickle);
    }
    await stillServed(other);
  });

  it('disconnects a client that does not read its replies past maxOutputBufferBytes', async () => {
    await start({ maxOutputBufferBytes: 1024 * 1024 });
    const other = await connect();
    const c = await connect();
    c.socket.pause();
    // 40 MB of replies: more than the kernel buffers of both sides absorb.
    for (let i = 0; i < 160; i++) c.send('BIG 262144\r\n');
    await waitFor('the non-reading client to be dropped', async () => (await rejected('output_buffer')) === 1);
    await waitFor('it to leave the registry', () => server.count === 1);
    c.socket.resume();
    await c.closed();
    await stillServed(other);
  });

  it('closes a client whose unparsed input exceeds maxQueryBufferBytes', async () => {
    await start({ maxQueryBufferBytes: 64 * 1024 });
    const other = await connect();
    const c = await connect();
    c.send('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n');
    c.send(Buffer.alloc(100_000, 'v'));
    await c.expect('-ERR Protocol error: client query buffer limit reached\r\n');
    await c.closed();
    expect(await rejected('query_buffer')).to.equal(1);
    await stillServed(other);
  });

  it('caps requests of clients that have not authenticated, as Redis does', async () => {
    await start({ requirePass: 'secret' });
    const c = await connect();
    await waitFor('the client', () => server.count === 1);
    expect(server.list()[0]!.authenticated).to.equal(false);
    c.send('*11\r\n');
    await c.expect('-ERR Protocol error: unauthenticated multibulk length\r\n');
    await c.closed();
    const d = await connect();
    await waitFor('the client', () => server.count === 1);
    server.list()[0]!.authenticated = true;
    d.send(`*2\r\n$4\r\nECHO\r\n$20000\r\n${'y'.repeat(20000)}\r\n`);
    await d.expect(`*2\r\n$4\r\nECHO\r\n$20000\r\n${'y'.repeat(20000)}\r\n`);
  });
});
