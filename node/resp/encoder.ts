/**
 * Reply -> RESP2/RESP3 bytes exactly as Redis 7.0 writes them.
 *
 * ReplyWriter appends any number of replies into one batch and hands the batch
 * out with take(). It writes into a slab and hands out views of it, so a batch
 * costs no copy; a new slab is started when one is full, and the old one is
 * freed once the socket is done with its views. Bulks of BIG_BULK bytes or
 * more are not copied at all: the batch becomes a list of pieces for one
 * corked (writev) socket write.
 *
 * Strings (simple, error, verbatim, string bulks) are written as UTF-8; use a
 * Buffer bulk for binary data. CR/LF inside simple and error strings become
 * spaces, as Redis does for errors, so a reply can never break the framing.
 */
import type { Reply } from './reply.js';
import { OK } from './reply.js';
import { formatDouble17g } from './double.js';

const SLAB_BYTES = 64 * 1024;
const BIG_BULK = 32 * 1024;
const CRLF_LF = 10;
const CRLF_CR = 13;

const RAW_OK = Buffer.from('+OK\r\n');
const RAW_NIL_BULK = Buffer.from('$-1\r\n');
const RAW_NIL_ARRAY = Buffer.from('*-1\r\n');
const RAW_NULL3 = Buffer.from('_\r\n');
const RAW_TRUE = Buffer.from('#t\r\n');
const RAW_FALSE = Buffer.from('#f\r\n');
const RAW_ONE = Buffer.from(':1\r\n');
const RAW_ZERO = Buffer.from(':0\r\n');

/** One batch of encoded output: a single buffer, or pieces to write corked in order. */
export type Encoded = Buffer | Buffer[];

function sanitizeLine(s: string): string {
  return s.indexOf('\r') === -1 && s.indexOf('\n') === -1 ? s : s.replace(/[\r\n]/g, ' ');
}

export class ReplyWriter {
  private slab: Buffer = Buffer.allocUnsafe(SLAB_BYTES);
  /** The current batch is slab[start, len) preceded by `pieces`. */
  private start = 0;
  private len = 0;
  private pieces: Buffer[] | null = null;
  private piecesBytes = 0;

  /** Bytes in the current batch. */
  get pending(): number {
    return this.len - this.start + this.piecesBytes;
  }

  write(reply: Reply, protocol: 2 | 3): void {
    switch (reply.kind) {
      case 'simple':
        if (reply === OK) this.raw(RAW_OK);
        else this.line(0x2b, reply.value);
        return;
      case 'error':
        this.line(0x2d, reply.value);
        return;
      case 'integer':
        if (reply.value === 0) this.raw(RAW_ZERO);
        else if (reply.value === 1) this.raw(RAW_ONE);
        else this.prefixedInt(0x3a, reply.value);
        return;
      case 'bulk':
        this.bulk(reply.value);
        return;
      case 'null':
        this.raw(protocol === 3 ? RAW_NULL3 : RAW_NIL_BULK);
        return;
      case 'nullArray':
        this.raw(protocol === 3 ? RAW_NULL3 : RAW_NIL_ARRAY);
        return;
      case 'array': {
        const items = reply.items;
        this.prefixedInt(0x2a, items.length);
        for (let i = 0; i < items.length; i++) this.write(items[i]!, protocol);
        return;
      }
      case 'push': {
        const items = reply.items;
        this.prefixedInt(protocol === 3 ? 0x3e : 0x2a, items.length);
        for (let i = 0; i < items.length; i++) this.write(items[i]!, protocol);
        return;
      }
      case 'sequence':
        for (const r of reply.replies) this.write(r, protocol);
        return;
      case 'set': {
        const items = reply.items;
        this.prefixedInt(protocol === 3 ? 0x7e : 0x2a, items.length);
        for (let i = 0; i < items.length; i++) this.write(items[i]!, protocol);
        return;
      }
      case 'map': {
        const entries = reply.entries;
        if (protocol === 3) this.prefixedInt(0x25, entries.length);
        else this.prefixedInt(0x2a, entries.length * 2);
        for (let i = 0; i < entries.length; i++) {
          this.write(entries[i]![0], protocol);
          this.write(entries[i]![1], protocol);
        }
        return;
      }
      case 'double': {
        const text = formatDouble17g(reply.value);
        if (protocol === 3) this.line(0x2c, text);
        else this.bulk(text);
        return;
      }
      case 'boolean':
        if (protocol === 3) this.raw(reply.value ? RAW_TRUE : RAW_FALSE);
        else this.raw(reply.value ? RAW_ONE : RAW_ZERO);
        return;
      case 'verbatim':
        if (protocol === 3) {
          const n = Buffer.byteLength(reply.value);
          this.prefixedInt(0x3d, n + 4);
          this.ensure(n + 6);
          this.len += this.slab.write(reply.format.slice(0, 3).padEnd(3, ' ') + ':', this.len, 'latin1');
          this.len += this.slab.write(reply.value, this.len, 'utf8');
          this.crlf();
        } else {
          this.bulk(reply.value);
        }
        return;
    }
  }

  /** Appends bytes that are already RESP (e.g. a protocol error line). */
  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    bytes.copy(this.slab, this.len);
    this.len += bytes.length;
  }

  /** The batch written since the last take(), or null if empty. */
  take(): Encoded | null {
    const tail = this.len > this.start ? this.slab.subarray(this.start, this.len) : null;
    this.start = this.len;
    if (this.slab.length - this.len < 64) this.newSlab(0);
    const pieces = this.pieces;
    if (pieces === null) return tail;
    if (tail !== null) pieces.push(tail);
    this.pieces = null;
    this.piecesBytes = 0;
    return pieces;
  }

  private ensure(n: number): void {
    if (this.len + n > this.slab.length) this.newSlab(n);
  }

  /** Starts a new slab, carrying over the current batch's bytes. */
  private newSlab(extra: number): void {
    const carried = this.len - this.start;
    const next = Buffer.allocUnsafe(Math.max(SLAB_BYTES, carried + extra));
    if (carried > 0) this.slab.copy(next, 0, this.start, this.len);
    this.slab = next;
    this.start = 0;
    this.len = carried;
  }

  private crlf(): void {
    this.slab[this.len++] = CRLF_CR;
    this.slab[this.len++] = CRLF_LF;
  }

  private line(prefix: number, text: string): void {
    const s = sanitizeLine(text);
    const n = Buffer.byteLength(s);
    this.ensure(n + 3);
    this.slab[this.len++] = prefix;
    this.len += this.slab.write(s, this.len, 'utf8');
    this.crlf();
  }

  private prefixedInt(prefix: number, value: number | bigint): void {
    this.ensure(24);
    this.slab[this.len++] = prefix;
    if (typeof value === 'bigint' || !Number.isSafeInteger(value)) {
      this.len += this.slab.write(String(value), this.len, 'latin1');
    } else {
      this.digits(value);
    }
    this.crlf();
  }

  /** Decimal digits of a safe integer; capacity already ensured. */
  private digits(value: number): void {
    const slab = this.slab;
    let v = value;
    if (v < 0) {
      slab[this.len++] = 0x2d;
      v = -v;
    }
    let n = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) n++;
    let p = this.len + n;
    this.len = p;
    do {
      slab[--p] = 48 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
  }

  private bulk(value: Buffer | string): void {
    if (typeof value === 'string') {
      const n = Buffer.byteLength(value);
      if (n < BIG_BULK) {
        this.prefixedInt(0x24, n);
        this.ensure(n + 2);
        this.len += this.slab.write(value, this.len, 'utf8');
        this.crlf();
        return;
      }
      value = Buffer.from(value, 'utf8');
    }
    this.prefixedInt(0x24, value.length);
    if (value.length < BIG_BULK) {
      this.ensure(value.length + 2);
      value.copy(this.slab, this.len);
      this.len += value.length;
      this.crlf();
      return;
    }
    // Large value: cut the batch here and reference the value instead of copying it.
    const head = this.slab.subarray(this.start, this.len);
    this.start = this.len;
    this.pieces ??= [];
    this.pieces.push(head, value);
    this.piecesBytes += head.length + value.length;
    this.ensure(2);
    this.crlf();
  }
}

const shared = new ReplyWriter();

/** Encodes one reply into a standalone buffer (tests, one-off writes). */
export function encodeReply(reply: Reply, protocol: 2 | 3): Buffer {
  return encodeReplies([reply], protocol);
}

/** Encodes replies, in order, into one buffer. */
export function encodeReplies(replies: readonly Reply[], protocol: 2 | 3): Buffer {
  for (const r of replies) shared.write(r, protocol);
  const out = shared.take();
  if (out === null) return Buffer.alloc(0);
  return Array.isArray(out) ? Buffer.concat(out) : out;
}
