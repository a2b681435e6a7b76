/**
 * A raw-socket RESP client for byte-exact comparisons: it sends commands
 * as RESP arrays and hands back each reply's exact bytes, plus a small
 * parser to inspect replies where a test must normalise them.
 */
import net from 'node:net';

export type Arg = string | Buffer;

export interface RespNode {
  type: string;
  value: string | Buffer | null;
  items?: RespNode[];
}

export function encodeCommand(argv: readonly Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** What follows the first line of each reply type: nothing, a bulk payload, or nested replies. */
const KINDS: Record<string, 'line' | 'bulk' | 'aggregate'> = {
  '+': 'line', '-': 'line', ':': 'line', '_': 'line', ',': 'line', '#': 'line', '(': 'line',
  '$': 'bulk', '=': 'bulk', '!': 'bulk',
  '*': 'aggregate', '~': 'aggregate', '>': 'aggregate', '%': 'aggregate', '|': 'aggregate',
};

interface Header {
  type: string;
  /** The rest of the first line. */
  head: string;
  /** Where what follows the first line starts. */
  pos: number;
  /** undefined for a type byte that is not RESP. */
  kind: 'line' | 'bulk' | 'aggregate' | undefined;
  /** Bulk: payload bytes; aggregate: nested replies (two per map or attribute entry). Negative: null. */
  count: number;
}

/** The first line of the reply at `offset`, or null if it is incomplete. */
function readHeader(buf: Buffer, offset: number): Header | null {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd === -1) return null;
  const type = String.fromCharCode(buf[offset]!);
  const head = buf.toString('latin1', offset + 1, lineEnd);
  const count = type === '%' || type === '|' ? Number(head) * 2 : Number(head);
  return { type, head, pos: lineEnd + 2, kind: KINDS[type], count };
}

/** Length in bytes of the complete reply starting at `offset`, or -1 if more bytes are needed. */
export function replyLength(buf: Buffer, offset = 0): number {
  if (offset >= buf.length) return -1;
  const h = readHeader(buf, offset);
  if (h === null) return -1;
  if (h.kind === undefined) throw new Error(`not RESP: type byte 0x${buf[offset]!.toString(16)} at ${offset}`);
  if (h.kind === 'line' || h.count < 0) return h.pos - offset;
  if (h.kind === 'bulk') return buf.length < h.pos + h.count + 2 ? -1 : h.pos + h.count + 2 - offset;
  let pos = h.pos;
  for (let i = 0; i < h.count; i++) {
    const len = replyLength(buf, pos);
    if (len < 0) return -1;
    pos += len;
  }
  return pos - offset;
}

export function parseReply(buf: Buffer, offset = 0): { node: RespNode; end: number } {
  const h = readHeader(buf, offset);
  if (h === null) throw new Error('incomplete reply');
  const { type, head, count } = h;
  if (type === '_') return { node: { type, value: null }, end: h.pos };
  if (h.kind === 'line') return { node: { type, value: head }, end: h.pos };
  if (count < 0) return { node: { type, value: null }, end: h.pos };
  if (h.kind === 'bulk') return { node: { type, value: buf.subarray(h.pos, h.pos + count) }, end: h.pos + count + 2 };
  // An aggregate, or any other type byte read as one.
  const items: RespNode[] = [];
  let pos = h.pos;
  for (let i = 0; i < count; i++) {
    const r = parseReply(buf, pos);
    items.push(r.node);
    pos = r.end;
  }
  return { node: { type, value: head, items }, end: pos };
}

/** Back to bytes (after a test replaced values it must normalise). */
export function serializeReply(node: RespNode): Buffer {
  const { type, value, items } = node;
  if (items !== undefined) {
    const count = type === '%' || type === '|' ? items.length / 2 : items.length;
    return Buffer.concat([Buffer.from(`${type}${count}\r\n`), ...items.map(serializeReply)]);
  }
  if (value === null) return Buffer.from(type === '_' ? '_\r\n' : `${type}-1\r\n`);
  if (Buffer.isBuffer(value)) return Buffer.concat([Buffer.from(`${type}${value.length}\r\n`), value, Buffer.from('\r\n')]);
  return Buffer.from(`${type}${value}\r\n`);
}

/**
 * Splits a redis-cli style line into arguments: spaces separate, double
 * quotes group, and inside quotes \n \r \t \0 \\ \" and \xHH escapes work.
 */
export function splitArgs(line: string): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    const bytes: number[] = [];
    if (line[i] === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') {
          const c = line[i + 1]!;
          if (c === 'x') {
            bytes.push(parseInt(line.slice(i + 2, i + 4), 16));
            i += 4;
            continue;
          }
          const esc: Record<string, number> = { n: 10, r: 13, t: 9, '0': 0 };
          bytes.push(esc[c] ?? c.charCodeAt(0));
          i += 2;
          continue;
        }
        bytes.push(...Buffer.from(line[i]!));
        i++;
      }
      if (line[i] !== '"') throw new Error(`unterminated quote in: ${line}`);
      i++;
    } else {
      while (i < line.length && line[i] !== ' ') {
        bytes.push(...Buffer.from(line[i]!));
        i++;
      }
    }
    out.push(Buffer.from(bytes));
  }
  return out;
}

export class RawRespClient {
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiting: Array<{ resolve: (b: Buffer) => void; reject: (e: Error) => void }> = [];
  private ended = false;
  /** Resolves when the server closes the connection. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true;
        for (const w of this.waiting.splice(0)) w.reject(new Error('connection closed'));
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawRespClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => {
        s.off('error', reject);
        s.setNoDelay(true);
        resolve(new RawRespClient(s));
      });
      s.once('error', reject);
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.waiting.length > 0) {
      const len = replyLength(this.buf);
      if (len < 0) break;
      const reply = Buffer.from(this.buf.subarray(0, len));
      this.buf = this.buf.subarray(len);
      this.waiting.shift()!.resolve(reply);
    }
  }

  /** Sends one command and resolves with its reply's exact bytes. */
  call(argv: readonly Arg[]): Promise<Buffer> {
    return this.writeRaw(encodeCommand(argv), 1).then((r) => r[0]!);
  }

  /** Writes bytes and resolves with the next `replies` replies. */
  writeRaw(bytes: Buffer, replies: number): Promise<Buffer[]> {
    if (this.ended) return Promise.reject(new Error('connection closed'));
    const promises: Array<Promise<Buffer>> = [];
    for (let i = 0; i < replies; i++) {
      promises.push(new Promise<Buffer>((resolve, reject) => this.waiting.push({ resolve, reject })));
    }
    // Replies that arrived before anyone asked (Pub/Sub pushes) are handed out now.
    if (this.buf.length > 0) this.onData(Buffer.alloc(0));
    this.socket.write(bytes);
    return Promise.all(promises);
  }

  /** Pipelines several commands in one write. */
  pipeline(cmds: ReadonlyArray<readonly Arg[]>): Promise<Buffer[]> {
    return this.writeRaw(Buffer.concat(cmds.map(encodeCommand)), cmds.length);
  }

  close(): void {
    this.socket.destroy();
  }
}
