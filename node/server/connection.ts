/**
 * One RESP client connection: its ClientState, its request parser, and the
 * order in which its replies leave.
 *
 * Each 'data' event parses and runs every complete command, encoding the
 * replies into one batch. The batch is handed to the group commit
 * (afterCommit) and written with one socket write once the turn's writes are
 * durable; if the commit failed, every reply of the batch is replaced by a
 * commit-failed error, so a client never sees a write acknowledged that was
 * rolled back. A command answering with a Promise (WAIT, replicated writes)
 * holds back the commands after it until it settles.
 */
import type { Socket } from 'node:net';
import type { ClientState, CommandResult, QueuedCommand } from '../commands/types.js';
import type { CommitScheduler } from '../engine/types.js';
import type { NodeConfig } from '../config/schema.js';
import type { Logger } from '../../common/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';
import type { Reply } from '../resp/reply.js';
import { RequestParser } from '../resp/parser.js';
import type { Encoded, ReplyWriter } from '../resp/encoder.js';

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly config: NodeConfig;
  readonly commits: CommitScheduler;
  readonly writer: ReplyWriter;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  /** True once the server is shutting down: finish in-flight work, start nothing new. */
  readonly draining: boolean;
  /**
   * Runs one command with metrics; never throws, and a returned Promise never
   * rejects. `startedAt`: now() when the command began (within a batch, the
   * previous command's end, so each command costs one clock read).
   */
  run(client: ClientState, argv: Buffer[], startedAt: number): CommandResult;
  /** now() read when the last command run() finished synchronously ended. */
  readonly ranUntil: number;
  /** Monotonic milliseconds (slowloris clock, command durations). */
  now(): number;
  /** An HTTP request arrived on the RESP port: log it (rate-limited); the connection closes itself. */
  crossProtocolAttempt(conn: Connection, command: string): void;
  closed(conn: Connection): void;
  /** A new connection starts authenticated as "default" (on and nopass); absent: when requirePass is empty. */
  defaultOpen?(): boolean;
}

/** After we end our side, how long a peer may keep the socket open before it is destroyed. */
const LINGER_MS = 2000;

function formatAddress(ip: string | undefined, port: number | undefined): string {
  let host = ip ?? '?';
  if (host.startsWith('::ffff:') && host.includes('.')) host = host.slice(7);
  return host.includes(':') ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}

/**
 * Redis's guard against cross-protocol scripting: a browser POSTing to the
 * RESP port sends "POST / HTTP/1.1" and "Host: ..." lines first, which
 * parse as inline commands. Such a connection is closed before anything in
 * the body (AUTH, SET) can run.
 */
export function isHttpCommandName(name: Buffer): boolean {
  if (name.length !== 4 && name.length !== 5) return false;
  const n = name.toString('latin1').toLowerCase();
  return n === 'post' || n === 'host:';
}

function singleLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

/** The error line replacing a turn's replies: the error's own RESP text (replication errors carry one), else a commit failure. */
function errorLine(err: Error): string {
  const resp = (err as { respMessage?: unknown }).respMessage;
  return typeof resp === 'string' ? singleLine(resp) : `ERR IrisDB commit failed: ${singleLine(err.message)}`;
}

export class Connection implements ClientState {
  name = '';
  protocol: 2 | 3 = 2;
  readonly addr: string;
  readonly laddr: string;
  /** Came in on the tls-port: CLUSTER replies and MOVED name TLS ports (cluster-view.ts, routing.ts). */
  readonly tls: boolean;
  readonly createdAt = Date.now();
  lastCommand = '';
  authenticated: boolean;
  readonly_ = false;
  asking = false;
  multi: { queue: QueuedCommand[]; bytes: number; aborted: boolean } | null = null;
  readonly watched = new Map<string, Buffer>();
  watchDirty = false;
  closeAfterReply = false;

  /**
   * host.now() since when the connection has been unauthenticated (at accept,
   * or first seen so by the sweep after RESET); 0 while authenticated.
   */
  unauthenticatedSince: number;

  /** host.now() when the current incomplete request began; 0 when none (read by the slowloris sweep). */
  partialSince = 0;

  /** host.now() when request bytes last arrived: the batch's start time, so no wall-clock read per batch. */
  private lastInteraction: number;

  private readonly parser: RequestParser;
  /** Waiting for a Promise reply; later commands wait in the parser. */
  private blocked = false;
  /** No further command will run (QUIT, protocol error, a limit, kill). */
  private stopped = false;
  /** Batches handed to afterCommit and not yet written. */
  private inflight = 0;
  private inflightBytes = 0;
  private destroyed = false;
  /** The peer sent FIN: run nothing new, close once the replies already due are written. */
  private peerEnded = false;
  private linger: NodeJS.Timeout | null = null;
  /** Inside process(): the shared writer holds this connection's batch, so a push joins it in order. */
  private processing = false;
  /** Pushes written since the socket was corked; uncorked once per event-loop turn (one writev for many messages). */
  private pushCorked = false;
  private readonly uncorkPushes = (): void => {
    this.pushCorked = false;
    this.socket.uncork();
  };

  constructor(readonly id: number, private readonly socket: Socket, private readonly host: ConnectionHost) {
    const cfg = host.config;
    this.addr = formatAddress(socket.remoteAddress, socket.remotePort);
    this.laddr = formatAddress(socket.localAddress, socket.localPort);
    this.tls = (socket as { encrypted?: unknown }).encrypted === true;
    // Not requirePass alone: an aclfile can give "default" a password (Kubernetes spec.auth does).
    this.authenticated = host.defaultOpen?.() ?? cfg.requirePass === '';
    this.lastInteraction = host.now();
    this.unauthenticatedSince = this.authenticated ? 0 : this.lastInteraction;
    this.parser = new RequestParser({ maxBulkBytes: cfg.maxBulkBytes, maxArgs: cfg.maxArgs, maxInlineBytes: cfg.maxInlineBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) => host.logger.debug('client connection error', { client: this.id, addr: this.addr, err: err.message }));
    socket.on('end', () => this.onPeerEnd());
    socket.on('close', () => this.onClose());
  }

  /** Unix ms of the last request bytes (CLIENT LIST idle=), from the monotonic time since then. */
  get lastInteractionAt(): number {
    return Date.now() - (this.host.now() - this.lastInteraction);
  }

  outputBytes(): number {
    return this.socket.writableLength + this.inflightBytes;
  }

  queryBufferBytes(): number {
    return this.parser.unparsedBytes();
  }

  /**
   * A Pub/Sub push (message, keyspace event, sunsubscribe): never ahead of a
   * reply already due to this client. While the connection runs its own
   * commands (a RESP3 client publishing to itself) the push joins the batch
   * being built; while batches wait for their commit it waits behind them;
   * otherwise it is written at once.
   */
  deliverPush(bytes: Buffer): void {
    if (this.stopped || this.destroyed) return;
    if (this.processing) {
      this.host.writer.raw(bytes);
      return;
    }
    if (this.inflight > 0) {
      this.inflight++;
      this.inflightBytes += bytes.length;
      this.host.commits.afterCommit(() => this.deliver(bytes, 0, null, false, bytes.length, null));
      return;
    }
    if (!this.pushCorked) {
      this.pushCorked = true;
      this.socket.cork();
      setImmediate(this.uncorkPushes);
    }
    this.socket.write(bytes);
  }

  kill(): void {
    this.stopped = true;
    this.socket.destroy();
  }

  /** Server shutdown: run nothing new; close once in-flight replies are written. */
  drain(): void {
    this.socket.pause();
    if (this.idle()) this.endGracefully();
  }

  /** Closes the connection because a limit was hit; `message` (an error line without '-') is sent first if given. */
  abort(reason: string, message: string | null): void {
    if (this.stopped || this.destroyed) return;
    this.stopped = true;
    this.partialSince = 0;
    this.host.metrics.rejectedConnections.inc({ reason });
    this.host.logger.warn('closing client connection: limit reached', { client: this.id, addr: this.addr, reason });
    if (message === null) {
      this.socket.destroy();
      return;
    }
    this.socket.write(`-${message}\r\n`);
    this.endGracefully();
  }

  private idle(): boolean {
    return !this.blocked && this.inflight === 0;
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    const parser = this.parser;
    parser.feed(chunk);
    if (parser.retainedBytes() > this.host.config.maxQueryBufferBytes) {
      this.abort('query_buffer', 'ERR Protocol error: client query buffer limit reached');
      return;
    }
    const now = this.host.now();
    this.lastInteraction = now;
    if (!this.blocked && !this.host.draining) this.process(null, now);
  }

  /**
   * Runs every complete command (after `first`, the reply a Promise settled
   * with) and flushes the batch; `startedAt` is host.now() at the batch's start.
   */
  private process(first: Reply | null, startedAt: number): void {
    this.processing = true;
    try {
      this.processCommands(first, startedAt);
    } finally {
      this.processing = false;
    }
  }

  private processCommands(first: Reply | null, startedAt: number): void {
    const host = this.host;
    const writer = host.writer;
    const parser = this.parser;
    let replies = 0;
    let progressed = false;
    let t = startedAt;
    if (first !== null) {
      writer.write(first, this.protocol);
      replies++;
      progressed = true;
    }
    while (!this.stopped && !this.closeAfterReply && !host.draining) {
      parser.unauthenticated = !this.authenticated;
      const argv = parser.next();
      if (argv === null) break;
      progressed = true;
      if (argv.length > 0 && isHttpCommandName(argv[0]!)) {
        // Like Redis: no reply, nothing after it runs, replies already due are dropped too.
        this.stopped = true;
        this.partialSince = 0;
        host.crossProtocolAttempt(this, argv[0]!.toString('latin1'));
        this.socket.destroy();
        return;
      }
      const result = host.run(this, argv, t);
      if (result instanceof Promise) {
        this.blocked = true;
        result.then((reply) => this.settled(reply));
        break;
      }
      t = host.ranUntil;
      writer.write(result, this.protocol);
      replies++;
    }
    let trailer: Buffer | null = null;
    if (this.closeAfterReply) {
      this.stopped = true;
    } else if (parser.error !== null && !this.stopped) {
      const perr = parser.error;
      this.stopped = true;
      trailer = Buffer.from(`-${perr.message}\r\n`, 'latin1');
      host.metrics.protocolErrors.inc({ reason: perr.reason });
      host.logger.debug('protocol error; closing client connection', { client: this.id, addr: this.addr, reason: perr.reason });
    }
    if (this.blocked || this.stopped || !parser.inFrame()) this.partialSince = 0;
    else if (progressed || this.partialSince === 0) this.partialSince = host.now();
    this.flush(replies, trailer, this.stopped);
  }

  private settled(reply: Reply): void {
    this.blocked = false;
    if (this.destroyed) return;
    this.process(reply, this.host.now());
  }

  private flush(replies: number, trailer: Buffer | null, close: boolean): void {
    const writer = this.host.writer;
    const bytes = writer.pending + (trailer?.length ?? 0);
    const out = writer.take();
    if (out === null && trailer === null && !close) return;
    this.inflight++;
    this.inflightBytes += bytes;
    // Also a batch that wrote nothing: written in the check phase with the other connections' replies,
    // which measured cheaper per request than writing it at once from the 'data' callback.
    this.host.commits.afterCommit((err) => this.deliver(out, replies, trailer, close, bytes, err));
  }

  private deliver(out: Encoded | null, replies: number, trailer: Buffer | null, close: boolean, bytes: number, err: Error | null): void {
    this.inflight--;
    this.inflightBytes -= bytes;
    // After abort() sent its error and ended the socket, nothing else may be written.
    if (this.destroyed || this.socket.writableEnded) return;
    if (err !== null && replies > 0) {
      // The turn was rolled back: none of these replies may claim success.
      out = Buffer.from(`-${errorLine(err)}\r\n`.repeat(replies));
    }
    const socket = this.socket;
    if (out !== null && trailer !== null) out = Array.isArray(out) ? [...out, trailer] : [out, trailer];
    else if (out === null) out = trailer;
    if (out !== null) {
      if (Array.isArray(out)) {
        socket.cork();
        for (const piece of out) socket.write(piece);
        socket.uncork();
      } else {
        socket.write(out);
      }
    }
    if (socket.writableLength > this.host.config.maxOutputBufferBytes) {
      this.abort('output_buffer', null);
      return;
    }
    if (close || ((this.host.draining || this.peerEnded) && this.idle())) this.endGracefully();
  }

  /** Sends FIN after the queued output; destroys the socket if the peer keeps it open. */
  private endGracefully(): void {
    this.stopped = true;
    if (this.destroyed || this.linger !== null) return;
    this.socket.end();
    this.linger = setTimeout(() => this.socket.destroy(), LINGER_MS);
    this.linger.unref();
  }

  /**
   * The server runs with allowHalfOpen so that replies to the last commands
   * of a half-closing client (`printf 'PING\r\n' | nc`) still go out after
   * their commit; like Redis, an incomplete request left at EOF is dropped.
   */
  private onPeerEnd(): void {
    this.peerEnded = true;
    this.stopped = true;
    this.partialSince = 0;
    if (this.idle()) this.endGracefully();
  }

  private onClose(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.stopped = true;
    this.partialSince = 0;
    if (this.linger !== null) clearTimeout(this.linger);
    this.host.closed(this);
  }
}
