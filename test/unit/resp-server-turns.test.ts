/**
 * RespServer (real loopback socket, real SQLite engine): a read is never
 * answered ahead of a write it could have read that still waits for its
 * replicas (no dirty reads); command durations stay per command when one
 * clock read per command serves as the next command's start.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { openEngine, type SqliteEngine } from '../../node/engine/open.js';
import type { ClientState, CommandResult } from '../../node/commands/types.js';
import { RespServer } from '../../node/server/resp-server.js';
import { createNodeMetrics, type NodeMetrics } from '../../node/observability/metrics.js';
import { silentLogger } from '../../common/logger.js';
import { AckGate } from '../../node/replication/ack-gate.js';
import * as R from '../../node/resp/reply.js';
import { engineOptions } from '../support/engine-fixture.js';
import { makeTempDir } from '../support/node-process.js';
import { ByteClient, testCommands, testConfig, type TestCommands } from '../support/resp-test-server.js';
import { waitFor } from '../support/wait.js';

/** BUSY spins this long inside the command, so its measured duration has a floor. */
const BUSY_MS = 3;

describe('RESP server: reads behind held writes, per-command durations', () => {
  let dir: string;
  let engine: SqliteEngine;
  let h: TestCommands;
  let metrics: NodeMetrics;
  let server: RespServer;
  let port: number;
  let durations: Array<{ command: string; us: number }>;
  const clients: ByteClient[] = [];

  beforeEach(async () => {
    dir = await makeTempDir('irisdb-resp-turns-');
    engine = openEngine(engineOptions(dir, { activeExpiry: { intervalMs: 100, maxKeysPerCycle: 10, maxCycleMs: 5 } }));
    h = testCommands(engine.keyspace);
    const execute = (client: ClientState, argv: Buffer[]): CommandResult => {
      if (argv[0]!.toString('latin1').toLowerCase() !== 'busy') return h.execute(client, argv);
      const until = performance.now() + BUSY_MS;
      while (performance.now() < until) { /* spin: a command that takes BUSY_MS */ }
      return R.OK;
    };
    durations = [];
    metrics = createNodeMetrics();
    server = new RespServer({
      config: testConfig(),
      commits: engine.commits,
      execute,
      onCommandDone: (_client, argv, _command, us) => durations.push({ command: argv[0]!.toString('latin1').toLowerCase(), us }),
      logger: silentLogger(),
      metrics,
      commandLabel: (name) => name.toLowerCase(),
    });
    port = await server.listen(0, '127.0.0.1');
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await server.close(0);
    metrics.close();
    engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function connect(): Promise<ByteClient> {
    const c = await ByteClient.connect(port);
    clients.push(c);
    return c;
  }

  it('holds a read behind a write that waits for replica acknowledgements (no dirty read)', async () => {
    const gate = new AckGate({ minAcks: 1, ackTimeoutMs: 0, timers: { now: () => 0, setTimer: () => ({ cancel: () => {} }) } });
    gate.setVoters(['r']);
    engine.setReleaseGate(gate);
    const writer = await connect();
    const reader = await connect();
    writer.send('SET k v1\r\n');
    await waitFor('the write to be held for its acknowledgement', () => gate.pending === 1);
    reader.send('GET k\r\n');
    await waitFor('the GET to run', () => h.log.filter((n) => n === 'get').length === 1);
    // The GET saw v1: its reply waits in the connection with the held turn, not in the socket.
    const readerState = server.list().reduce((a, b) => (b.id > a.id ? b : a)); // connected second
    expect(readerState.outputBytes()).to.be.greaterThan(0);
    expect(reader.data.length).to.equal(0);
    // Same connection: a read after its own held write comes after the write's reply.
    writer.send('GET k\r\n');
    await waitFor('the second GET to run', () => h.log.filter((n) => n === 'get').length === 2);
    gate.ack('r', engine.stats().lastSeq);
    await writer.expect('+OK\r\n$2\r\nv1\r\n');
    await reader.expect('$2\r\nv1\r\n');
    // Everything acknowledged: the next read waits for nothing.
    reader.send('GET k\r\n');
    await reader.expect('$2\r\nv1\r\n');
  });

  it('measures each command of a pipelined batch from the end of the one before', async () => {
    const c = await connect();
    const t0 = performance.now();
    c.send('BUSY\r\nBUSY\r\nBUSY\r\nECHO x\r\n');
    await c.expect('+OK\r\n+OK\r\n+OK\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n');
    const elapsedUs = (performance.now() - t0) * 1000;
    expect(durations.map((d) => d.command)).to.deep.equal(['busy', 'busy', 'busy', 'echo']);
    for (const d of durations.slice(0, 3)) expect(d.us).to.be.at.least(BUSY_MS * 1000);
    // Durations that overlapped (each counted from the batch's start) would add up to more than the wall time.
    const sum = durations.reduce((a, d) => a + d.us, 0);
    expect(sum).to.be.at.most(elapsedUs);
  });
});
