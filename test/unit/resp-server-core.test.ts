/**
 * RespServer in-process on a real loopback socket and a real SQLite engine
 * (group commit), with a small command set: pipelining, Promise replies,
 * commit failures, exceptions, QUIT, protocol errors, the registry and metrics.
 */
import { expect } from 'chai';
import type { RespServer } from '../../node/server/resp-server.js';
import { openEngine, type SqliteEngine } from '../../node/engine/open.js';
import type { NodeMetrics } from '../../node/observability/metrics.js';
import * as R from '../../node/resp/reply.js';
import type { NodeConfig } from '../../node/config/schema.js';
import { waitFor } from '../support/wait.js';
import { makeTempDir } from '../support/node-process.js';
import { ByteClient, TestServer, testCommands, type TestCommands } from '../support/resp-test-server.js';
import fs from 'node:fs';

describe('RESP server: commands, ordering, commits', () => {
  let h: TestCommands;
  let engine: SqliteEngine;
  let metrics: NodeMetrics;
  let server: RespServer;
  let port: number;
  let dir: string;
  let ts: TestServer;

  async function start(over: Partial<NodeConfig> = {}): Promise<void> {
    dir = await makeTempDir('irisdb-resp-');
    engine = openEngine({
      dataDir: dir,
      fsync: 'batch',
      compression: { algorithm: 'none', thresholdBytes: 1024 },
      readCache: { maxEntries: 0, maxBytes: 0 },
      activeExpiry: { intervalMs: 100, maxKeysPerCycle: 10, maxCycleMs: 5 },
    });
    h = testCommands(engine.keyspace);
    ts = await TestServer.start(h, engine.commits, over);
    ({ server, port, metrics } = ts);
  }

  const connect = (): Promise<ByteClient> => ts.connect();

  beforeEach(() => start());
  afterEach(async () => {
    await ts.close();
    engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers pipelined commands in order, however the request bytes are split', async () => {
    const c = await connect();
    let req = '';
    let expected = '';
    for (let i = 0; i < 500; i++) {
      req += i % 3 === 0 ? `ECHO v${i}\r\n` : `*2\r\n$4\r\nECHO\r\n$${String(i).length + 1}\r\nv${i}\r\n`;
      expected += `*2\r\n$4\r\nECHO\r\n$${String(i).length + 1}\r\nv${i}\r\n`;
    }
    const bytes = Buffer.from(req);
    for (let i = 0; i < bytes.length; i += 997) c.send(bytes.subarray(i, i + 997));
    await c.expect(expected);
  });

  it('writes after the group commit: a SET is durable when its +OK arrives', async () => {
    const c = await connect();
    c.send('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nGET k\r\n');
    await c.expect('+OK\r\n$5\r\nhello\r\n');
    expect(engine.commits.pending).to.equal(false);
  });

  it('holds later commands back while a Promise reply is pending, and keeps reply order', async () => {
    const c = await connect();
    c.send('ECHO a\r\nSLOW s1\r\nECHO b\r\nECHO c\r\n');
    await c.expect('*2\r\n$4\r\nECHO\r\n$1\r\na\r\n');
    await waitFor('SLOW to run', () => h.slow.has('s1'));
    const client = server.list()[0]!;
    expect(client.queryBufferBytes()).to.be.greaterThan(0);
    expect(h.log).to.deep.equal(['echo', 'slow']);
    h.slow.get('s1')!(R.bulk('done'));
    await c.expect('$4\r\ndone\r\n*2\r\n$4\r\nECHO\r\n$1\r\nb\r\n*2\r\n$4\r\nECHO\r\n$1\r\nc\r\n');
    expect(h.log).to.deep.equal(['echo', 'slow', 'echo', 'echo']);
  });

  it('turns every reply of a rolled-back turn into a commit-failed error', async () => {
    const c = await connect();
    c.send('SET a 1\r\n');
    await c.expect('+OK\r\n');
    engine.db.pragma(`max_page_count = ${engine.stats().pageCount}`);
    c.send(`SET b 2\r\nBIGSET huge 300000\r\nGET a\r\n`);
    const line = '-ERR IrisDB commit failed: database or disk is full\r\n';
    await c.expect(line + line + line);
    engine.db.pragma('max_page_count = 1073741823');
    c.send('GET b\r\n');
    await c.expect('$-1\r\n');
  });

  it('answers an exception with an internal error and keeps serving', async () => {
    const c = await connect();
    c.send('BOOM\r\nASYNCBOOM\r\nECHO x\r\n');
    await c.expect('-ERR internal error: boom\r\n-ERR internal error: async boom\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n');
  });

  it('QUIT: replies, then closes without running what follows', async () => {
    const c = await connect();
    c.send('QUIT\r\nECHO never\r\n');
    await c.expect('+OK\r\n');
    await c.closed();
    expect(h.log).to.deep.equal(['quit']);
    await waitFor('the client to be unregistered', () => server.count === 0);
    expect(h.closedIds).to.have.length(1);
  });

  it('still answers the last commands of a client that half-closes, then closes', async () => {
    const c = await connect();
    c.send('SET k v\r\nGET k\r\nSLOW h\r\nECHO dropped\r\n*2\r\n$3\r\nGET\r\n');
    c.socket.end();
    await c.expect('+OK\r\n$1\r\nv\r\n');
    await waitFor('SLOW to run', () => h.slow.has('h'));
    // White-box: release the pending reply only once the server has seen the FIN.
    const state = server.list()[0] as unknown as { peerEnded: boolean };
    await waitFor('the server to see the FIN', () => state.peerEnded);
    h.slow.get('h')!(R.bulk('late'));
    await c.expect('$4\r\nlate\r\n');
    await c.closed();
    // Like Redis at EOF: what follows is not run, the incomplete request is dropped.
    expect(c.data.length).to.equal(0);
    expect(h.log).to.deep.equal(['set', 'get', 'slow']);
  });

  it('a protocol error answers with the Redis text and closes only that connection', async () => {
    const other = await connect();
    const c = await connect();
    c.send('ECHO first\r\n*1\r\n$-5\r\nECHO never\r\n');
    await c.expect('*2\r\n$4\r\nECHO\r\n$5\r\nfirst\r\n-ERR Protocol error: invalid bulk length\r\n');
    await c.closed();
    other.send('ECHO still\r\n');
    await other.expect('*2\r\n$4\r\nECHO\r\n$5\r\nstill\r\n');
    const text = await metrics.registry.getSingleMetricAsString('irisdb_protocol_errors_total');
    expect(text).to.match(/irisdb_protocol_errors_total\{reason="invalid_bulk_length"\} 1/);
  });

  it('switches the encoding when a command sets protocol 3', async () => {
    const c = await connect();
    c.send('HELLO3\r\nNIL\r\n');
    await c.expect('%1\r\n$5\r\nproto\r\n:3\r\n_\r\n');
  });

  it('keeps a registry of clients with increasing ids and Redis-style addresses', async () => {
    const a = await connect();
    const b = await connect();
    await waitFor('both clients registered', () => server.count === 2);
    const [ca, cb] = server.list();
    expect(cb!.id).to.be.greaterThan(ca!.id);
    expect(server.get(ca!.id)).to.equal(ca);
    expect(ca!.addr).to.equal(`127.0.0.1:${a.localPort}`);
    expect(ca!.laddr).to.equal(`127.0.0.1:${port}`);
    expect(ca!.authenticated).to.equal(true);
    expect(ca!.protocol).to.equal(2);
    ca!.kill();
    await a.closed();
    await waitFor('one client left', () => server.count === 1);
    b.send('ECHO ok\r\n');
    await b.expect('*2\r\n$4\r\nECHO\r\n$2\r\nok\r\n');
  });

  it('records per-command metrics with bounded labels', async () => {
    const c = await connect();
    c.send('ECHO a\r\necho b\r\nNOSUCH x\r\nBOOM\r\n');
    await c.expect('*2\r\n$4\r\nECHO\r\n$1\r\na\r\n*2\r\n$4\r\necho\r\n$1\r\nb\r\n-ERR unknown command\r\n-ERR internal error: boom\r\n');
    const text = await metrics.registry.metrics();
    expect(text).to.match(/redis_commands_total\{cmd="echo"\} 2/);
    expect(text).to.match(/redis_commands_total\{cmd="unknown"\} 1/);
    expect(text).to.match(/redis_commands_failed_calls_total\{cmd="unknown"\} 1/);
    expect(text).to.match(/redis_commands_failed_calls_total\{cmd="boom"\} 1/);
    expect(text).to.match(/redis_commands_duration_seconds_count\{cmd="echo"\} 2/);
    expect(text).to.match(/redis_commands_duration_seconds_bucket\{le="\+Inf",cmd="echo"\} 2/);
    expect(text).to.match(/redis_connected_clients 1/);
    expect(text).to.match(/redis_connections_received_total 1/);
    // A second scrape adds only what happened since.
    c.send('ECHO c\r\n');
    await c.expect('*2\r\n$4\r\nECHO\r\n$1\r\nc\r\n');
    expect(await metrics.registry.metrics()).to.match(/redis_commands_total\{cmd="echo"\} 3/);
  });

  it('close() lets in-flight replies go out, then closes every connection', async () => {
    const c = await connect();
    c.send('SLOW s2\r\n');
    await waitFor('SLOW to run', () => h.slow.has('s2'));
    let closed = false;
    const closing = server.close(10_000).then(() => { closed = true; });
    await ByteClient.connect(port).then(
      (late) => { ts.clients.push(late); return late.closed(); },
      () => undefined,
    );
    expect(closed).to.equal(false);
    h.slow.get('s2')!(R.bulk('last'));
    await c.expect('$4\r\nlast\r\n');
    await c.closed();
    await closing;
    expect(server.count).to.equal(0);
  });
});
