/**
 * What a master sends a replica (Redis's replication protocol), as a state
 * machine over the bytes: first the replies to the handshake (one line
 * each: +OK, -ERR..., +FULLRESYNC <replid> <offset>, or +CONTINUE
 * [<replid>] after which the command stream follows at once), then after
 * FULLRESYNC the RDB as a bulk "$<len>\r\n<bytes>" (newlines before it are
 * the master's keep-alives while it forks), then the command stream: RESP
 * arrays of bulk strings, each counted in bytes for the replication
 * offset. Pure: feed() takes bytes and returns events; malformed or
 * oversized input throws ReplStreamError.
 */

export class ReplStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplStreamError';
  }
}

export type ReplEvent =
  | { readonly kind: 'reply'; readonly line: string }
  | { readonly kind: 'fullresync'; readonly replid: string; readonly offset: number }
  /** +CONTINUE: the partial resync asked for with PSYNC replid offset was accepted; the stream follows (replid: the master's new id, if it changed). */
  | { readonly kind: 'continue'; readonly replid: string | null }
  | { readonly kind: 'rdb-progress'; readonly received: number; readonly total: number }
  | { readonly kind: 'rdb'; readonly data: Buffer }
  /** bytes: the command's size on the wire (the replication offset grows by it). */
  | { readonly kind: 'command'; readonly argv: readonly Buffer[]; readonly bytes: number };

export interface ReplStreamLimits {
  /** The largest RDB accepted in memory. */
  readonly maxRdbBytes: number;
  /** The largest argument of a replicated command (Redis's proto-max-bulk-len default is 512 MiB). */
  readonly maxBulkBytes: number;
  readonly maxArgs: number;
}

export const DEFAULT_REPL_LIMITS: ReplStreamLimits = { maxRdbBytes: 4 * 2 ** 30 - 1, maxBulkBytes: 512 * 2 ** 20, maxArgs: 1024 * 1024 };

const MAX_LINE = 64 * 1024;

export class ReplStream {
  private mode: 'reply' | 'rdb-header' | 'rdb' | 'stream' = 'reply';
  private buf: Buffer = Buffer.alloc(0);
  private rdbChunks: Buffer[] = [];
  private rdbReceived = 0;
  private rdbTotal = 0;

  constructor(private readonly limits: ReplStreamLimits = DEFAULT_REPL_LIMITS) {}

  get phase(): 'handshake' | 'rdb' | 'stream' {
    return this.mode === 'reply' ? 'handshake' : this.mode === 'stream' ? 'stream' : 'rdb';
  }

  feed(chunk: Buffer): ReplEvent[] {
    const events: ReplEvent[] = [];
    if (this.mode === 'rdb') chunk = this.takeRdb(chunk, events);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let pos = 0;
    for (;;) {
      if (this.mode === 'reply') {
        const eol = this.buf.indexOf('\r\n', pos);
        if (eol < 0) {
          this.checkLine(this.buf.length - pos);
          break;
        }
        const line = this.buf.subarray(pos, eol).toString('latin1');
        pos = eol + 2;
        const m = /^\+FULLRESYNC ([0-9a-f]{40}) (\d{1,19})$/.exec(line);
        const c = m === null ? /^\+CONTINUE(?: ([0-9a-f]{40}))?$/.exec(line) : null;
        if (m !== null) {
          events.push({ kind: 'fullresync', replid: m[1]!, offset: Number(m[2]) });
          this.mode = 'rdb-header';
        } else if (c !== null) {
          events.push({ kind: 'continue', replid: c[1] ?? null });
          this.mode = 'stream';
        } else if (line.startsWith('+') || line.startsWith('-')) events.push({ kind: 'reply', line });
        else throw new ReplStreamError(`unexpected handshake reply "${line.slice(0, 80)}"`);
      } else if (this.mode === 'rdb-header') {
        while (pos < this.buf.length && this.buf[pos] === 0x0a) pos++; // keep-alive newlines
        if (pos >= this.buf.length) break;
        if (this.buf[pos] !== 0x24) throw new ReplStreamError(`expected the RDB bulk ($<length>), got byte 0x${this.buf[pos]!.toString(16)}`);
        const eol = this.buf.indexOf('\r\n', pos);
        if (eol < 0) {
          this.checkLine(this.buf.length - pos);
          break;
        }
        const text = this.buf.subarray(pos + 1, eol).toString('latin1');
        if (text.startsWith('EOF:')) throw new ReplStreamError('the master sent a diskless EOF-marked RDB, which was not asked for');
        if (!/^\d{1,12}$/.test(text)) throw new ReplStreamError(`bad RDB length "${text.slice(0, 40)}"`);
        const total = Number(text);
        if (total > this.limits.maxRdbBytes) throw new ReplStreamError(`the RDB is ${total} bytes, over the limit of ${this.limits.maxRdbBytes}`);
        pos = eol + 2;
        this.mode = 'rdb';
        this.rdbTotal = total;
        this.rdbReceived = 0;
        this.rdbChunks = [];
        const rest = this.buf.subarray(pos);
        this.buf = Buffer.alloc(0);
        pos = 0;
        const after = this.takeRdb(rest, events);
        this.buf = after;
      } else if (this.mode === 'stream') {
        const parsed = this.command(pos);
        if (parsed === null) break;
        events.push({ kind: 'command', argv: parsed.argv, bytes: parsed.end - pos });
        pos = parsed.end;
      } else break;
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
    return events;
  }

  /** Collects RDB bytes; returns what follows the RDB (the start of the command stream). */
  private takeRdb(chunk: Buffer, events: ReplEvent[]): Buffer {
    const need = this.rdbTotal - this.rdbReceived;
    const part = chunk.subarray(0, need);
    if (part.length > 0) this.rdbChunks.push(Buffer.from(part));
    this.rdbReceived += part.length;
    if (this.rdbReceived < this.rdbTotal) {
      if (part.length > 0) events.push({ kind: 'rdb-progress', received: this.rdbReceived, total: this.rdbTotal });
      return Buffer.alloc(0);
    }
    events.push({ kind: 'rdb', data: Buffer.concat(this.rdbChunks) });
    this.rdbChunks = [];
    this.mode = 'stream';
    return chunk.subarray(need);
  }

  private checkLine(pending: number): void {
    if (pending > MAX_LINE) throw new ReplStreamError(`a line longer than ${MAX_LINE} bytes`);
  }

  /** One RESP array of bulk strings from `start`, or null when incomplete. */
  private command(start: number): { argv: Buffer[]; end: number } | null {
    const b = this.buf;
    if (start >= b.length) return null;
    if (b[start] !== 0x2a) throw new ReplStreamError(`expected a command array (*), got byte 0x${b[start]!.toString(16)}`);
    const head = this.int(start + 1);
    if (head === null) return null;
    if (head.value < 1 || head.value > this.limits.maxArgs) throw new ReplStreamError(`a command of ${head.value} arguments`);
    let pos = head.next;
    const argv: Buffer[] = [];
    for (let i = 0; i < head.value; i++) {
      if (pos >= b.length) return null;
      if (b[pos] !== 0x24) throw new ReplStreamError(`expected a bulk string ($), got byte 0x${b[pos]!.toString(16)}`);
      const len = this.int(pos + 1);
      if (len === null) return null;
      if (len.value < 0 || len.value > this.limits.maxBulkBytes) throw new ReplStreamError(`a bulk string of ${len.value} bytes`);
      const end = len.next + len.value;
      if (end + 2 > b.length) return null;
      if (b[end] !== 0x0d || b[end + 1] !== 0x0a) throw new ReplStreamError('a bulk string not followed by CRLF');
      argv.push(Buffer.from(b.subarray(len.next, end)));
      pos = end + 2;
    }
    return { argv, end: pos };
  }

  /** A decimal integer line from `pos` up to CRLF. */
  private int(pos: number): { value: number; next: number } | null {
    const eol = this.buf.indexOf('\r\n', pos);
    if (eol < 0) {
      if (this.buf.length - pos > 20) throw new ReplStreamError('a length line longer than 20 bytes');
      return null;
    }
    const text = this.buf.subarray(pos, eol).toString('latin1');
    if (!/^-?\d{1,12}$/.test(text)) throw new ReplStreamError(`bad length "${text.slice(0, 20)}"`);
    return { value: Number(text), next: eol + 2 };
  }
}

/** A command as the master sends it, for tests and REPLCONF: *N $len arg ... */
export function encodeCommand(argv: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
