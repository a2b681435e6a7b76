/**
 * A replication link to a source Redis over a raw socket (TCP or TLS):
 * the handshake a replica does (AUTH, REPLCONF listening-port and capa
 * psync2, PSYNC ? -1 for a full sync or PSYNC replid offset to continue), then every event of the stream
 * (repl-stream.ts) queued for the consumer, which takes them at its own
 * pace (the socket is paused while too much is queued). ack() sends
 * REPLCONF ACK <offset> so the source sees how far the import got.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ReplStream, type ReplEvent, type ReplStreamLimits, encodeCommand } from './repl-stream.js';
import type { SourceUrl } from './source-url.js';

export class ReplicaLinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicaLinkError';
  }
}

/** How a handshake ended: a full sync (an RDB comes first) or the stream continued from the offset asked for. */
export interface Handshake {
  readonly kind: 'full' | 'continue';
  readonly replid: string;
  /** The replication offset the stream starts after. */
  readonly offset: number;
}

/** Commands queued beyond this pause the socket until the consumer catches up. */
const HIGH_WATER = 20_000;

export class ReplicaLink {
  private readonly parser: ReplStream;
  private readonly queue: ReplEvent[] = [];
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  private closed = false;
  private paused = false;

  private constructor(private readonly socket: net.Socket, limits: ReplStreamLimits | undefined) {
    this.parser = new ReplStream(limits);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.queue.push(...this.parser.feed(chunk));
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      if (this.queue.length > HIGH_WATER && !this.paused) {
        this.paused = true;
        socket.pause();
      }
      this.wake();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new ReplicaLinkError('the source closed the replication link')));
  }

  static async open(src: SourceUrl, limits?: ReplStreamLimits, timeoutMs = 10_000): Promise<ReplicaLink> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = src.tls
        ? tls.connect({ host: src.host, port: src.port, servername: src.host }, () => resolve(s))
        : net.connect({ host: src.host, port: src.port }, () => resolve(s));
      s.setTimeout(timeoutMs, () => s.destroy(new ReplicaLinkError(`no connection to ${src.host}:${src.port} after ${timeoutMs} ms`)));
      s.once('error', reject);
    });
    socket.setTimeout(0);
    socket.setNoDelay(true);
    return new ReplicaLink(socket, limits);
  }

  /**
   * The handshake. With `resume` (a replication id and the offset applied
   * so far) it asks for a partial resync from the next byte (PSYNC replid
   * offset+1); the source continues the stream if its backlog still holds
   * it, else it answers with a full sync as for PSYNC ? -1.
   */
  async handshake(src: SourceUrl, resume?: { replid: string; offset: number }): Promise<Handshake> {
    if (src.password !== undefined) {
      await this.expectOk(src.username !== undefined ? ['AUTH', src.username, src.password] : ['AUTH', src.password], 'AUTH');
    }
    await this.expectOk(['REPLCONF', 'listening-port', String(this.socket.localPort ?? 0)], 'REPLCONF listening-port');
    await this.expectOk(['REPLCONF', 'capa', 'psync2'], 'REPLCONF capa');
    this.send(resume !== undefined ? ['PSYNC', resume.replid, String(resume.offset + 1)] : ['PSYNC', '?', '-1']);
    const ev = await this.next();
    if (ev.kind === 'fullresync') return { kind: 'full', replid: ev.replid, offset: ev.offset };
    if (ev.kind === 'continue' && resume !== undefined) return { kind: 'continue', replid: ev.replid ?? resume.replid, offset: resume.offset };
    throw new ReplicaLinkError(`PSYNC: the source answered ${ev.kind === 'reply' ? ev.line : ev.kind} instead of +FULLRESYNC${resume !== undefined ? ' or +CONTINUE' : ''}`);
  }

  private async expectOk(argv: string[], what: string): Promise<void> {
    this.send(argv);
    const ev = await this.next();
    if (ev.kind !== 'reply' || !ev.line.startsWith('+')) {
      const text = ev.kind === 'reply' ? ev.line : ev.kind;
      throw new ReplicaLinkError(`${what}: ${text}${/NOAUTH|NOPERM|WRONGPASS/.test(text) ? ' (the user needs the right to replicate: +psync +replconf +sync)' : ''}`);
    }
  }

  send(argv: readonly (string | Buffer)[]): void {
    if (!this.closed) this.socket.write(encodeCommand(argv));
  }

  ack(offset: number): void {
    this.send(['REPLCONF', 'ACK', String(offset)]);
  }

  /** The next event (null after `timeoutMs` without one); rejects once the link failed and nothing is left. */
  async next(timeoutMs?: number): Promise<ReplEvent>;
  async next(timeoutMs: number): Promise<ReplEvent | null>;
  async next(timeoutMs?: number): Promise<ReplEvent | null> {
    for (;;) {
      const ev = this.queue.shift();
      if (ev !== undefined) {
        if (this.paused && this.queue.length < HIGH_WATER / 2) {
          this.paused = false;
          this.socket.resume();
        }
        return ev;
      }
      if (this.failure !== null) throw this.failure;
      let timer: NodeJS.Timeout | undefined;
      const woke = await new Promise<boolean>((resolve) => {
        this.waiter = () => resolve(true);
        if (timeoutMs !== undefined) timer = setTimeout(() => resolve(false), timeoutMs);
      });
      clearTimeout(timer);
      if (!woke) {
        this.waiter = null;
        return null;
      }
    }
  }

  /** Events already received, without waiting. */
  pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
    this.fail(new ReplicaLinkError('closed'));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
