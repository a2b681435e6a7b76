/**
 * Helpers for tests of the RESP server (node/server): a byte-level socket
 * client, a full default NodeConfig, and a tiny real command set to run
 * through RespServer without the command table.
 */
import net from 'node:net';
import { SETTINGS, type NodeConfig } from '../../node/config/schema.js';
import type { ClientState, CommandResult } from '../../node/commands/types.js';
import type { CommitScheduler, Keyspace } from '../../node/engine/types.js';
import { createNodeMetrics, type NodeMetrics } from '../../node/observability/metrics.js';
import { silentLogger } from '../../common/logger.js';
import { RespServer } from '../../node/server/resp-server.js';
import * as R from '../../node/resp/reply.js';
import type { Reply } from '../../node/resp/reply.js';
import { waitFor } from './wait.js';

/** Every setting at its default, with overrides (no validation: tests use tiny limits). */
export function testConfig(over: Partial<NodeConfig> = {}): NodeConfig {
  const base = Object.fromEntries(SETTINGS.map((s) => [s.key, s.default])) as unknown as NodeConfig;
  return { ...base, ...over };
}

/**
 * Raw bytes over a real socket: send anything, assert exactly what comes
 * back (in order, across pipelined replies) and when the server closes.
 */
export class ByteClient {
  /** Received and not yet consumed by expect(). */
  data: Buffer = Buffer.alloc(0);
  isClosed = false;
  private readonly whenClosed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.data = this.data.length === 0 ? d : Buffer.concat([this.data, d]);
    });
    socket.on('error', () => { /* a reset shows up through closed() */ });
    this.whenClosed = new Promise((resolve) => socket.once('close', () => {
      this.isClosed = true;
      resolve();
    }));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<ByteClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => {
        s.off('error', reject);
        resolve(new ByteClient(s));
      });
      s.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  send(bytes: string | Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Waits until `text` (latin1) has arrived, asserts it is exactly the next bytes, consumes it. */
  async expect(text: string | Buffer, timeoutMs = 10_000): Promise<void> {
    const want = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    await waitFor(`${JSON.stringify(want.toString('latin1').slice(0, 100))} from the server`, () => {
      if (this.data.length >= want.length) return true;
      if (this.isClosed) throw new Error(`closed after receiving ${JSON.stringify(this.data.toString('latin1').slice(0, 300))}`);
      return false;
    }, { timeoutMs, intervalMs: 5 });
    const got = this.data.subarray(0, want.length);
    if (!got.equals(want)) {
      throw new Error(`expected ${JSON.stringify(want.toString('latin1').slice(0, 300))}\n     got ${JSON.stringify(got.toString('latin1').slice(0, 300))}`);
    }
    this.data = this.data.subarray(want.length);
  }

  /** Resolves once the server has closed the connection (FIN or reset). */
  async closed(timeoutMs = 10_000): Promise<void> {
    await waitFor('the server to close the connection', () => this.isClosed, { timeoutMs, intervalMs: 5 });
    await this.whenClosed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface TestCommands {
  execute(client: ClientState, argv: Buffer[]): CommandResult;
  /** Lower-case names execute() knows (for commandLabel). */
  readonly known: Set<string>;
  /** Lower-case names of the commands run, in order. */
  readonly log: string[];
  /** Pending SLOW commands by their argument: call to settle. */
  readonly slow: Map<string, (r: Reply) => void>;
  readonly closedIds: number[];
}

/**
 * A small, real command set: ECHO (replies argv), SET/GET/BIGSET on a real
 * keyspace, SLOW (a Promise reply the test settles), BOOM/ASYNCBOOM (throw,
 * reject), QUIT, HELLO3 (switch to RESP3), BIG n (an n-byte bulk), NIL.
 */
export function testCommands(keyspace: Keyspace | null): TestCommands {
  const log: string[] = [];
  const slow = new Map<string, (r: Reply) => void>();
  const bigs = new Map<number, Buffer>();
  const known = new Set(['echo', 'set', 'get', 'bigset', 'slow', 'boom', 'asyncboom', 'quit', 'hello3', 'big', 'nil', 'ping']);
  const execute = (client: ClientState, argv: Buffer[]): CommandResult => {
    const name = argv[0]!.toString('latin1').toLowerCase();
    log.push(name);
    switch (name) {
      case 'echo':
        return R.array(argv.map((a) => R.bulk(a)));
      case 'ping':
        return R.simple('PONG');
      case 'set':
        keyspace!.set(Buffer.from(argv[1]!), Buffer.from(argv[2]!), null);
        return R.OK;
      case 'bigset':
        keyspace!.set(Buffer.from(argv[1]!), Buffer.alloc(Number(argv[2]!.toString()), 'v'), null);
        return R.OK;
      case 'get':
        return R.bulkOrNull(keyspace!.get(argv[1]!, Date.now())?.value);
      case 'slow':
        return new Promise<Reply>((resolve) => slow.set(argv[1]!.toString(), resolve));
      case 'boom':
        throw new Error('boom');
      case 'asyncboom':
        return Promise.reject(new Error('async boom'));
      case 'quit':
        client.closeAfterReply = true;
        return R.OK;
      case 'hello3':
        client.protocol = 3;
        return R.map([[R.bulk('proto'), R.integer(3)]]);
      case 'big': {
        // One shared buffer per size: a flood of BIG replies costs no memory per reply.
        const n = Number(argv[1]!.toString());
        let b = bigs.get(n);
        if (b === undefined) bigs.set(n, (b = Buffer.alloc(n, 'x')));
        return R.bulk(b);
      }
      case 'nil':
        return R.NULL;
      default:
        return R.error('ERR unknown command');
    }
  };
  return { execute, known, log, slow, closedIds: [] };
}

/**
 * A RespServer on an ephemeral loopback port running a TestCommands set,
 * with its own metrics; close() destroys the clients from connect() (and any
 * pushed onto `clients`), closes the server at once and then the metrics.
 */
export class TestServer {
  readonly clients: ByteClient[] = [];

  private constructor(readonly server: RespServer, readonly port: number, readonly metrics: NodeMetrics) {}

  static async start(commands: TestCommands, commits: CommitScheduler, over: Partial<NodeConfig> = {}): Promise<TestServer> {
    const metrics = createNodeMetrics();
    const server = new RespServer({
      config: testConfig(over),
      commits,
      execute: commands.execute,
      onClientClosed: (c: ClientState) => commands.closedIds.push(c.id),
      logger: silentLogger(),
      metrics,
      commandLabel: (name) => (commands.known.has(name.toLowerCase()) ? name.toLowerCase() : 'unknown'),
    });
    return new TestServer(server, await server.listen(0, '127.0.0.1'), metrics);
  }

  async connect(): Promise<ByteClient> {
    const c = await ByteClient.connect(this.port);
    this.clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients.splice(0)) c.destroy();
    await this.server.close(0);
    this.metrics.close();
  }
}
