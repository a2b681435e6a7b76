/**
 * The RESP (Redis protocol) TCP server: accepts connections up to maxClients,
 * runs commands through `execute` with per-command metrics, enforces the
 * slowloris guard, and is the ClientRegistry behind CLIENT LIST / INFO.
 * Protocol handling per connection lives in connection.ts.
 */
import net from 'node:net';
import type tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { ClientRegistry, ClientState, CommandResult } from '../commands/types.js';
import type { CommitScheduler } from '../engine/types.js';
import type { NodeConfig } from '../config/schema.js';
import type { Logger } from '../../common/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';
import type { Reply } from '../resp/reply.js';
import { internalError } from '../commands/invoke.js';
import { ReplyWriter } from '../resp/encoder.js';
import { Connection, type ConnectionHost } from './connection.js';
import { CommandMetricsBuffer, type CommandStat } from './command-metrics-buffer.js';
import type { NodeTracing } from '../tracing/node-tracing.js';
import { createTlsServer, type TlsServerSetup } from '../tls/server.js';

export interface RespServerOptions {
  config: NodeConfig;
  commits: CommitScheduler;
  execute(client: ClientState, argv: Buffer[]): CommandResult;
  onClientClosed?(client: ClientState): void;
  /** Every command's duration (µs, the same measurement as the metrics): slow log, latency monitor, INFO commandstats. */
  onCommandDone?(client: ClientState, argv: readonly Buffer[], command: string, durationUs: number, reply: Reply): void;
  logger: Logger;
  metrics: NodeMetrics;
  /** Maps argv[0] as sent to a bounded metric label, e.g. 'unknown' for unknown commands. */
  commandLabel(name: string): string;
  /** Command spans (docs/tracing.md); null or absent: tracing off, no span objects at all. */
  tracing?: NodeTracing | null;
  /** Whether the ACL "default" user is on with nopass (an aclfile may give it a password without requirePass); absent: requirePass decides. */
  defaultOpen?(): boolean;
}

const RESP_SOCKET_OPTIONS = { allowHalfOpen: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: 300_000 };

const MAX_CLIENTS_REPLY = '-ERR max number of clients reached\r\n';

export class RespServer implements ClientRegistry, ConnectionHost {
  readonly config: NodeConfig;
  readonly commits: CommitScheduler;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  /** Shared by all connections: each batch is taken out before another connection runs. */
  readonly writer = new ReplyWriter();
  readonly commandMetrics: CommandMetricsBuffer;
  draining = false;

  private readonly server: net.Server;
  /** The tls-port listener (docs/security.md), when configured. */
  private tlsServer: tls.Server | null = null;
  private readonly conns = new Map<number, Connection>();
  private nextId = 1;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** performance.now() of the last cross-protocol warning logged (at most one a minute, as Redis). */
  private lastSecurityWarning = -Infinity;
  private closing: Promise<void> | null = null;
  private allClosed: (() => void) | null = null;
  private readonly tracing: NodeTracing | null;

  constructor(private readonly opts: RespServerOptions) {
    this.config = opts.config;
    this.commits = opts.commits;
    this.logger = opts.logger;
    this.metrics = opts.metrics;
    this.commandMetrics = new CommandMetricsBuffer(opts.metrics, opts.commandLabel);
    this.tracing = opts.tracing ?? null;
    this.server = net.createServer(RESP_SOCKET_OPTIONS, (socket) => this.accept(socket));
  }

  get count(): number {
    return this.conns.size;
  }

  list(): ClientState[] {
    return [...this.conns.values()];
  }

  get(id: number): ClientState | undefined {
    return this.conns.get(id);
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host: string): Promise<number> {
    return this.listenOn(this.server, port, host, 'RESP server error');
  }

  /** Starts the TLS listener (Redis's tls-port): the same protocol and limits over TLS. */
  listenTls(port: number, host: string, setup: TlsServerSetup): Promise<number> {
    const refused = (reason: string): void => this.metrics.rejectedConnections.inc({ reason });
    this.tlsServer = createTlsServer(setup, RESP_SOCKET_OPTIONS, (socket) => this.accept(socket), refused);
    return this.listenOn(this.tlsServer, port, host, 'RESP TLS server error');
  }

  private listenOn(server: net.Server, port: number, host: string, errorMessage: string): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (err) => this.logger.error(errorMessage, { err: err.message }));
        if (this.sweepTimer === null) {
          const timeout = Math.min(this.config.partialFrameTimeoutMs, this.authTimeoutMs() || Infinity);
          this.sweepTimer = setInterval(() => this.sweep(), Math.min(1000, Math.max(25, Math.floor(timeout / 4))));
          this.sweepTimer.unref();
        }
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  /**
   * Stops accepting, lets in-flight replies go out, closes every connection;
   * connections still open after graceMs are destroyed.
   */
  close(graceMs: number): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.draining = true;
      if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
      if (this.server.listening) this.server.close();
      this.tlsServer?.close();
      const force = setTimeout(() => {
        for (const c of this.conns.values()) c.kill();
      }, graceMs);
      this.allClosed = () => {
        clearTimeout(force);
        this.commandMetrics.flush();
        resolve();
      };
      if (this.conns.size === 0) this.allClosed();
      else for (const c of [...this.conns.values()]) c.drain();
    });
    return this.closing;
  }

  now(): number {
    return performance.now();
  }

  /** ConnectionHost.ranUntil: the end of the last command done() measured. */
  ranUntil = 0;

  run(client: ClientState, argv: Buffer[], t0: number): CommandResult {
    const stat = this.commandMetrics.lookup(argv[0]!);
    const span = this.tracing === null ? null : this.tracing.startCommand(argv);
    let result: CommandResult;
    try {
      result = this.opts.execute(client, argv);
    } catch (err) {
      result = this.internalError(err, stat.label);
    }
    if (span !== null) this.tracing!.commandRan(span, result);
    // Read now: a pipelined command may run before this one's Promise settles.
    const command = client.lastCommand;
    if (result instanceof Promise) {
      return result.then(
        (reply) => this.done(stat, t0, reply, client, argv, command),
        (err: unknown) => this.done(stat, t0, this.internalError(err, stat.label), client, argv, command),
      );
    }
    return this.done(stat, t0, result, client, argv, command);
  }

  crossProtocolAttempt(conn: Connection, command: string): void {
    this.metrics.rejectedConnections.inc({ reason: 'cross_protocol' });
    const now = performance.now();
    if (now - this.lastSecurityWarning < 60_000) return;
    this.lastSecurityWarning = now;
    this.logger.warn('Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to IrisDB. '
      + 'This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your IrisDB instance. Connection aborted.',
    { client: conn.id, addr: conn.addr, command: command.slice(0, 16) });
  }

  /** A new connection is authenticated as "default" (Redis: the default user is on and nopass). */
  defaultOpen(): boolean {
    return this.opts.defaultOpen?.() ?? this.config.requirePass === '';
  }

  /** With a password on "default", how long a connection may stay unauthenticated (0: no limit). */
  private authTimeoutMs(): number {
    return this.defaultOpen() ? 0 : this.config.authTimeoutMs;
  }

  closed(conn: Connection): void {
    if (this.conns.get(conn.id) !== conn) return;
    this.conns.delete(conn.id);
    this.metrics.connectedClients.dec();
    try {
      this.opts.onClientClosed?.(conn);
    } catch (err) {
      this.logger.error('onClientClosed failed', { client: conn.id, err: (err as Error).message });
    }
    if (this.conns.size === 0 && this.allClosed !== null) this.allClosed();
  }

  private done(stat: CommandStat, t0: number, reply: Reply, client: ClientState, argv: Buffer[], command: string): Reply {
    const end = performance.now();
    this.ranUntil = end;
    const ms = end - t0;
    this.commandMetrics.record(stat, ms / 1000, reply.kind === 'error');
    if (this.opts.onCommandDone !== undefined) {
      try {
        this.opts.onCommandDone(client, argv, command, ms * 1000, reply);
      } catch (err) {
        this.logger.error('recording a command for the slow log or INFO failed', { command: stat.label, err: (err as Error).message });
      }
    }
    return reply;
  }

  private internalError(err: unknown, command: string): Reply {
    const e = err instanceof Error ? err : new Error(String(err));
    this.logger.error('command failed with an exception', { command, err: e.message, stack: e.stack });
    return internalError(e);
  }

  private accept(socket: net.Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    socket.on('error', () => { /* reported by the connection, or irrelevant once rejected */ });
    if (this.conns.size >= this.config.maxClients) {
      this.metrics.rejectedConnections.inc({ reason: 'maxclients' });
      socket.end(MAX_CLIENTS_REPLY);
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    const conn = new Connection(this.nextId++, socket, this);
    this.conns.set(conn.id, conn);
    this.metrics.connectionsReceived.inc();
    this.metrics.connectedClients.inc();
  }

  /** Slowloris guard: closes connections that have held an incomplete request too long, or stayed unauthenticated too long. */
  private sweep(): void {
    const timeout = this.config.partialFrameTimeoutMs;
    const authTimeout = this.authTimeoutMs();
    const now = performance.now();
    for (const c of this.conns.values()) {
      if (authTimeout > 0) {
        if (c.authenticated) c.unauthenticatedSince = 0;
        else if (c.unauthenticatedSince === 0) c.unauthenticatedSince = now; // de-authenticated by RESET
        else if (now - c.unauthenticatedSince >= authTimeout) {
          c.abort('auth_timeout', `ERR Protocol error: not authenticated within ${authTimeout} ms (authTimeoutMs)`);
          continue;
        }
      }
      if (c.partialSince > 0 && now - c.partialSince >= timeout) {
        c.abort('partial_frame_timeout', `ERR Protocol error: incomplete request not completed within ${timeout} ms`);
      }
    }
  }
}
