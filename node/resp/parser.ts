/**
 * Incremental RESP request parser with Redis 7.0's exact acceptance rules and
 * error texts (networking.c: processMultibulkBuffer / processInlineBuffer).
 *
 * Feed it chunks as they arrive; next() returns one complete command at a
 * time (so the caller can act between commands: AUTH changes the limits,
 * QUIT stops parsing) or null when it needs more input or has failed (see
 * `error`). After an error the parser is dead.
 *
 * Memory: nothing is ever allocated from a declared length. A bulk that lies
 * in one chunk is returned as a view into that chunk (zero copy) — callers
 * that keep an argument beyond the command (caches, WATCH) must copy it, or
 * they pin the whole receive chunk. A bulk spanning chunks is gathered as a
 * list of received pieces and joined once. A header line spanning chunks is
 * joined in a carry buffer that grows with the bytes received, never re-scanned
 * from its start.
 */
import { splitInlineArgs } from './inline.js';

export interface ParserLimits {
  /** Largest bulk a request may declare ($N). */
  readonly maxBulkBytes: number;
  /** Most arguments in one multibulk request (*N). */
  readonly maxArgs: number;
  /** Longest inline line, and longest *N / $N header line (Redis: PROTO_INLINE_MAX_SIZE). */
  readonly maxInlineBytes: number;
}

export type ProtocolErrorReason =
  | 'invalid_multibulk_length'
  | 'invalid_bulk_length'
  | 'expected_dollar'
  | 'too_big_inline_request'
  | 'too_big_mbulk_count'
  | 'too_big_bulk_count'
  | 'unbalanced_quotes'
  | 'unauthenticated_multibulk_length'
  | 'unauthenticated_bulk_length';

export interface ProtocolError {
  /** Bounded label for metrics. */
  readonly reason: ProtocolErrorReason;
  /** The error line without '-' and CRLF, e.g. "ERR Protocol error: invalid bulk length". Latin-1: one char per byte. */
  readonly message: string;
}

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;
const INT_MAX = 2147483647;
/** Redis refuses bigger requests from clients that still have to AUTH. */
const UNAUTH_MAX_ARGS = 10;
const UNAUTH_MAX_BULK = 16384;
const EMPTY = Buffer.alloc(0);
/** Per-argument bookkeeping counted against the query buffer limit (Buffer object + array slot). */
const ARG_OVERHEAD = 96;

/**
 * Redis string2ll(): optional '-', no leading zeros, no '+', no spaces, at
 * most 20 characters, within the signed 64-bit range. NaN when invalid.
 * Values beyond 2^53 come back rounded to the nearest double; callers only
 * compare them with limits far below that.
 */
export function parseLongLong(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len <= 0 || len >= 21) return NaN;
  if (len === 1 && buf[start] === 48) return 0;
  let p = start;
  let neg = false;
  if (buf[p] === 45) {
    neg = true;
    if (++p === end) return NaN;
  }
  let c = buf[p]!;
  if (c < 49 || c > 57) return NaN;
  let v = c - 48;
  for (p++; p < end; p++) {
    c = buf[p]!;
    if (c < 48 || c > 57) return NaN;
    v = v * 10 + (c - 48);
  }
  if (v > Number.MAX_SAFE_INTEGER) {
    const big = BigInt(Buffer.from(buf.buffer, buf.byteOffset + start, len).toString('latin1'));
    if (big > 9223372036854775807n || big < -9223372036854775808n) return NaN;
    return Number(big);
  }
  return neg ? -v : v;
}

export class RequestParser {
  /**
   * Set by the server before each next(): Redis caps clients that have not
   * authenticated yet at 10 arguments and 16 KiB bulks.
   */
  unauthenticated = false;

  /** Current input chunk and the unparsed window [pos, end) inside it. */
  private buf: Buffer = EMPTY;
  private pos = 0;
  private end = 0;
  /** buf is a carry buffer this parser allocated: bytes may be appended after `end`. */
  private carry = false;
  /** Chunks received but not reached yet. */
  private readonly queue: Buffer[] = [];
  private queued = 0;
  /** Bytes after pos already searched for the current line's terminator. */
  private scanned = 0;
  /** A NUL precedes any terminator: like Redis's strchr(), this line never completes. */
  private nulBlocked = false;

  /** Multibulk in progress: arguments still expected, and the current bulk's length (-1: header not read). */
  private argsLeft = 0;
  private bulkLen = -1;
  private args: Buffer[] = [];
  private argBytes = 0;
  /** A bulk body spanning chunks, gathered piecewise. */
  private pieces: Buffer[] | null = null;
  private piecesBytes = 0;

  private err: ProtocolError | null = null;

  constructor(private readonly limits: ParserLimits) {}

  /** The protocol error that killed this parser, if any. */
  get error(): ProtocolError | null {
    return this.err;
  }

  feed(chunk: Buffer): void {
    if (this.err !== null || chunk.length === 0) return;
    if (this.pos >= this.end && this.queued === 0 && this.pieces === null) {
      // Common case: everything before was consumed, parse the chunk in place.
      this.view(chunk, 0);
    } else {
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
  }

  /** The next complete command (argv, never empty), or null: need more input, or `error` is set. */
  next(): Buffer[] | null {
    for (;;) {
      if (this.err !== null) return null;
      if (this.pieces !== null) {
        if (!this.fillPieces()) return null;
        if (this.argsLeft === 0) return this.finish();
        continue;
      }
      if (this.argsLeft > 0) {
        if (this.bulkLen < 0 && !this.readBulkHeader()) {
          if (this.err !== null || !this.pull()) return null;
          continue;
        }
        const need = this.bulkLen + 2;
        const avail = this.end - this.pos;
        if (avail >= need) {
          // Redis skips the two bytes after the bulk without checking they are CRLF.
          this.args.push(this.buf.subarray(this.pos, this.pos + this.bulkLen));
          this.argBytes += this.bulkLen + ARG_OVERHEAD;
          this.pos += need;
          this.bulkLen = -1;
          if (--this.argsLeft === 0) return this.finish();
          continue;
        }
        this.pieces = avail > 0 ? [this.buf.subarray(this.pos, this.end)] : [];
        this.piecesBytes = avail;
        this.releaseBuf();
        continue;
      }
      if (this.pos >= this.end) {
        if (!this.pull()) return null;
        continue;
      }
      if (this.buf[this.pos] === STAR) {
        if (!this.readMultibulkCount()) {
          if (this.err !== null || !this.pull()) return null;
        }
        continue;
      }
      const argv = this.readInline();
      if (argv === null) {
        if (this.err !== null || !this.pull()) return null;
        continue;
      }
      if (argv.length > 0) return argv;
    }
  }

  /** True while a request has started but is not complete (the slowloris clock runs). */
  inFrame(): boolean {
    return this.argsLeft > 0 || this.pieces !== null || this.end > this.pos || this.queued > 0;
  }

  /** Received bytes not yet returned as part of a command (CLIENT LIST qbuf). */
  unparsedBytes(): number {
    return this.end - this.pos + this.queued + this.piecesBytes;
  }

  /** Everything this parser holds for the client, for the query-buffer limit. */
  retainedBytes(): number {
    return this.unparsedBytes() + this.argBytes;
  }

  private finish(): Buffer[] {
    const argv = this.args;
    this.args = [];
    this.argBytes = 0;
    return argv;
  }

  private fail(reason: ProtocolErrorReason, message: string): false {
    this.err = { reason, message };
    this.queue.length = 0;
    this.queued = 0;
    this.pieces = null;
    this.piecesBytes = 0;
    this.args = [];
    this.argBytes = 0;
    this.releaseBuf();
    return false;
  }

  private releaseBuf(): void {
    this.view(EMPTY, 0);
  }

  /** Parses `chunk` in place from `pos` on (not a carry buffer: nothing is written into it). */
  private view(chunk: Buffer, pos: number): void {
    this.buf = chunk;
    this.pos = pos;
    this.end = chunk.length;
    this.carry = false;
    this.scanned = 0;
    this.nulBlocked = false;
  }

  /**
   * Index of the current line's terminator at or after pos, or -1. Stops at
   * a NUL byte as Redis's strchr() does; remembers how far it looked.
   */
  private findTerminator(term: number): number {
    if (this.nulBlocked) return -1;
    const buf = this.buf;
    const end = this.end;
    for (let i = this.pos + this.scanned; i < end; i++) {
      const c = buf[i];
      if (c === term) {
        this.scanned = i - this.pos;
        return i;
      }
      if (c === 0) {
        this.nulBlocked = true;
        break;
      }
    }
    this.scanned = end - this.pos;
    return -1;
  }

  private consumeLine(next: number): void {
    this.pos = next;
    this.scanned = 0;
  }

  /** Moves the next queued chunk into view. False if none is queued. */
  private pull(): boolean {
    const chunk = this.queue.shift();
    if (chunk === undefined) {
      if (this.pos >= this.end && this.buf !== EMPTY) this.releaseBuf();
      return false;
    }
    this.queued -= chunk.length;
    const left = this.end - this.pos;
    if (left === 0) {
      this.view(chunk, 0);
      return true;
    }
    // A line spans chunks. Earlier bytes of buf may be views handed out as
    // arguments, so only the space after `end` is ever written.
    if (this.carry && this.buf.length - this.end >= chunk.length) {
      chunk.copy(this.buf, this.end);
      this.end += chunk.length;
      return true;
    }
    const total = left + chunk.length;
    const next = Buffer.allocUnsafe(Math.max(total * 2, 1024));
    this.buf.copy(next, 0, this.pos, this.end);
    chunk.copy(next, left);
    this.buf = next;
    this.pos = 0;
    this.end = total;
    this.carry = true;
    return true;
  }

  /** Gathers the current bulk body from queued chunks; true once complete. */
  private fillPieces(): boolean {
    const pieces = this.pieces!;
    const need = this.bulkLen + 2;
    while (this.piecesBytes < need) {
      const chunk = this.queue.shift();
      if (chunk === undefined) return false;
      this.queued -= chunk.length;
      const take = need - this.piecesBytes;
      if (chunk.length > take) {
        pieces.push(chunk.subarray(0, take));
        this.piecesBytes = need;
        this.view(chunk, take);
      } else {
        pieces.push(chunk);
        this.piecesBytes += chunk.length;
      }
    }
    const len = this.bulkLen;
    this.args.push(pieces.length === 1 ? pieces[0]!.subarray(0, len) : Buffer.concat(pieces, len));
    this.argBytes += len + ARG_OVERHEAD;
    this.pieces = null;
    this.piecesBytes = 0;
    this.bulkLen = -1;
    this.argsLeft--;
    return true;
  }

  /**
   * The uncommon outcomes of looking for the end of a "*N" or "$N" line at
   * `cr` (a CR, or -1): false while more input is needed, or the failure for a
   * line longer than maxInlineBytes. Only called off the fast path.
   */
  private countLineNotReady(cr: number, reason: ProtocolErrorReason, message: string): false {
    // Redis needs one more byte after the CR (it does not check that it is LF).
    if (cr < 0 || cr + 1 >= this.end) {
      if (cr < 0 && this.end - this.pos > this.limits.maxInlineBytes) return this.fail(reason, message);
      return false;
    }
    // A complete line, but too long: Redis only notices an over-long line when
    // it arrives in several reads; be deterministic.
    return this.fail(reason, message);
  }

  /** "*N\r\n". False: need more input, or failed. */
  private readMultibulkCount(): boolean {
    const cr = this.findTerminator(CR);
    if (cr < 0 || cr + 1 >= this.end || cr - this.pos > this.limits.maxInlineBytes) {
      return this.countLineNotReady(cr, 'too_big_mbulk_count', 'ERR Protocol error: too big mbulk count string');
    }
    const n = parseLongLong(this.buf, this.pos + 1, cr);
    if (Number.isNaN(n) || n > INT_MAX || n > this.limits.maxArgs) {
      return this.fail('invalid_multibulk_length', 'ERR Protocol error: invalid multibulk length');
    }
    if (n > UNAUTH_MAX_ARGS && this.unauthenticated) {
      return this.fail('unauthenticated_multibulk_length', 'ERR Protocol error: unauthenticated multibulk length');
    }
    this.consumeLine(cr + 2);
    // *0 and negative counts are an empty request: skipped, as Redis does.
    if (n > 0) this.argsLeft = n;
    return true;
  }

  /** "$N\r\n". False: need more input, or failed. */
  private readBulkHeader(): boolean {
    const cr = this.findTerminator(CR);
    if (cr < 0 || cr + 1 >= this.end || cr - this.pos > this.limits.maxInlineBytes) {
      return this.countLineNotReady(cr, 'too_big_bulk_count', 'ERR Protocol error: too big bulk count string');
    }
    const first = this.buf[this.pos]!;
    if (first !== DOLLAR) {
      // Redis replaces CR/LF in error texts with spaces so the reply stays one line.
      const got = first === CR || first === LF ? ' ' : String.fromCharCode(first);
      return this.fail('expected_dollar', `ERR Protocol error: expected '$', got '${got}'`);
    }
    const n = parseLongLong(this.buf, this.pos + 1, cr);
    if (Number.isNaN(n) || n < 0 || n > this.limits.maxBulkBytes) {
      return this.fail('invalid_bulk_length', 'ERR Protocol error: invalid bulk length');
    }
    if (n > UNAUTH_MAX_BULK && this.unauthenticated) {
      return this.fail('unauthenticated_bulk_length', 'ERR Protocol error: unauthenticated bulk length');
    }
    this.bulkLen = n;
    this.consumeLine(cr + 2);
    return true;
  }

  /** One inline line; [] for a blank line; null: need more input, or failed. */
  private readInline(): Buffer[] | null {
    const nl = this.findTerminator(LF);
    if (nl < 0) {
      if (this.end - this.pos > this.limits.maxInlineBytes) {
        this.fail('too_big_inline_request', 'ERR Protocol error: too big inline request');
      }
      return null;
    }
    const lineEnd = nl > this.pos && this.buf[nl - 1] === CR ? nl - 1 : nl;
    if (lineEnd - this.pos > this.limits.maxInlineBytes) {
      this.fail('too_big_inline_request', 'ERR Protocol error: too big inline request');
      return null;
    }
    const argv = splitInlineArgs(this.buf, this.pos, lineEnd);
    if (argv === null) {
      this.fail('unbalanced_quotes', 'ERR Protocol error: unbalanced quotes in request');
      return null;
    }
    this.consumeLine(nl + 1);
    return argv;
  }
}
