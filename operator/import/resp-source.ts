/**
 * A plain RESP2 connection to a source Redis (TCP or TLS, AUTH, SELECT)
 * for the import's SCAN copy: pipeline() writes a whole batch of commands
 * at once and resolves with their replies in order (resp-reply.ts). The
 * per-command objects and writes of a client library were most of the
 * importer's CPU per key; here a batch costs one encode, one write and one
 * pass over the replies.
 */
import net from 'node:net';
import tls from 'node:tls';
import { encodeCommands, parseReply, RespErrorReply, type RespReply } from './resp-reply.js';
import type { SourceUrl } from './source-url.js';

export class RespSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespSourceError';
  }
}

/** What the SCAN reader needs of a source connection (injected: tests pass plain data). */
export interface SourcePipeline {
  pipeline(cmds: readonly (readonly (string | Buffer)[])[]): Promise<RespReply[]>;
}

interface Waiting {
  readonly count: number;
  readonly replies: RespReply[];
  resolve(r: RespReply[]): void;
  reject(err: Error): void;
}

export class RespSource implements SourcePipeline {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private readonly waiting: Waiting[] = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket, private readonly what: string) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new RespSourceError(`the source ${what} closed the connection`)));
  }

  /** Connects, authenticates (user and password of the URL) and selects `db`. */
  static async open(src: SourceUrl, host: string, port: number, db: number, timeoutMs = 10_000): Promise<RespSource> {
    const what = `${host}:${port}`;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = src.tls
        ? tls.connect({ host, port, servername: src.host }, () => resolve(s))
        : net.connect({ host, port }, () => resolve(s));
      s.setTimeout(timeoutMs, () => s.destroy(new RespSourceError(`no connection to ${what} after ${timeoutMs} ms`)));
      s.once('error', reject);
    });
    socket.setTimeout(0);
    socket.setNoDelay(true);
    const conn = new RespSource(socket, what);
    try {
      const setup: (string | Buffer)[][] = [];
      if (src.password !== undefined) setup.push(src.username !== undefined ? ['AUTH', src.username, src.password] : ['AUTH', src.password]);
      if (db !== 0) setup.push(['SELECT', String(db)]);
      for (const r of await conn.pipeline(setup)) {
        if (r instanceof RespErrorReply) throw new RespSourceError(`the source ${what} refused: ${r.message}`);
      }
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  pipeline(cmds: readonly (readonly (string | Buffer)[])[]): Promise<RespReply[]> {
    if (cmds.length === 0) return Promise.resolve([]);
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ count: cmds.length, replies: [], resolve, reject });
      this.socket.write(encodeCommands(cmds));
    });
  }

  close(): void {
    this.socket.destroy();
    this.fail(new RespSourceError('closed'));
  }

  private onData(chunk: Buffer): void {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    try {
      for (;;) {
        const head = this.waiting[0];
        if (head === undefined) {
          if (this.pos < this.buf.length) throw new RespSourceError(`the source ${this.what} sent a reply nobody asked for`);
          return;
        }
        const r = parseReply(this.buf, this.pos);
        if (r === null) return;
        this.pos = r.next;
        head.replies.push(r.value);
        if (head.replies.length === head.count) {
          this.waiting.shift();
          head.resolve(head.replies);
        }
      }
    } catch (err) {
      this.socket.destroy();
      this.fail(err as Error);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}
