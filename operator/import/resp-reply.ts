/**
 * RESP2 replies as a source Redis sends them (+simple, -error, :integer,
 * $bulk, *array), parsed from a byte buffer, and commands encoded into one
 * buffer for a pipeline. The import's SCAN reader (resp-source.ts) uses
 * them instead of a client library: a batch of a thousand GET + PTTL is one
 * write and one pass over the replies, with no object per command. Pure;
 * malformed input throws RespReplyError.
 */

export class RespReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespReplyError';
  }
}

/** An error reply (-ERR ..., -WRONGTYPE ...): a value, not thrown, so one key's error does not lose the pipeline. */
export class RespErrorReply {
  constructor(readonly message: string) {}
}

export type RespReply = Buffer | number | string | null | RespErrorReply | RespReply[];

export interface RespLimits {
  readonly maxBulkBytes: number;
  readonly maxArrayLength: number;
}

/** Redis's own proto-max-bulk-len default; arrays as long as a SCAN COUNT could make them. */
export const DEFAULT_RESP_LIMITS: RespLimits = { maxBulkBytes: 512 * 2 ** 20, maxArrayLength: 16 * 2 ** 20 };

const CR = 0x0d;

/**
 * One reply from `pos`, or null when the buffer ends before it does (call
 * again from the same `pos` with more bytes).
 */
export function parseReply(buf: Buffer, pos: number, limits: RespLimits = DEFAULT_RESP_LIMITS): { value: RespReply; next: number } | null {
  if (pos >= buf.length) return null;
  const type = buf[pos]!;
  const eol = buf.indexOf(CR, pos + 1);
  if (eol < 0 || eol + 1 >= buf.length) {
    if (buf.length - pos > 64 * 1024) throw new RespReplyError('a reply line longer than 64 KiB');
    return null;
  }
  if (buf[eol + 1] !== 0x0a) throw new RespReplyError('a reply line not ended by CRLF');
  const after = eol + 2;
  switch (type) {
    case 0x2b: // +
      return { value: buf.toString('latin1', pos + 1, eol), next: after };
    case 0x2d: // -
      return { value: new RespErrorReply(buf.toString('utf8', pos + 1, eol)), next: after };
    case 0x3a: // :
      return { value: integer(buf, pos + 1, eol), next: after };
    case 0x24: { // $
      const len = integer(buf, pos + 1, eol);
      if (len === -1) return { value: null, next: after };
      if (len < 0 || len > limits.maxBulkBytes) throw new RespReplyError(`a bulk string of ${len} bytes`);
      if (after + len + 2 > buf.length) return null;
      if (buf[after + len] !== CR || buf[after + len + 1] !== 0x0a) throw new RespReplyError('a bulk string not followed by CRLF');
      // A copy: the receive buffer is reused for the next bytes.
      return { value: Buffer.from(buf.subarray(after, after + len)), next: after + len + 2 };
    }
    case 0x2a: { // *
      const n = integer(buf, pos + 1, eol);
      if (n === -1) return { value: null, next: after };
      if (n < 0 || n > limits.maxArrayLength) throw new RespReplyError(`an array of ${n} elements`);
      const items: RespReply[] = [];
      let at = after;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, at, limits);
        if (r === null) return null;
        items.push(r.value);
        at = r.next;
      }
      return { value: items, next: at };
    }
    default:
      throw new RespReplyError(`unexpected reply type byte 0x${type.toString(16)}`);
  }
}

function integer(buf: Buffer, from: number, to: number): number {
  if (to - from < 1 || to - from > 20) throw new RespReplyError('a bad integer line');
  let i = from;
  let neg = false;
  if (buf[i] === 0x2d) {
    neg = true;
    i++;
    if (i === to) throw new RespReplyError('a bad integer line');
  }
  let n = 0;
  for (; i < to; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) throw new RespReplyError(`a bad integer "${buf.toString('latin1', from, to)}"`);
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

/** Decimal digits of a non-negative integer. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes a non-negative integer's decimal digits at `at`; returns the next offset. No string per number: this runs twice per argument of every pipelined command. */
function writeInt(out: Buffer, at: number, n: number): number {
  const end = at + digits(n);
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/** Commands as one buffer of RESP arrays of bulk strings. */
export function encodeCommands(cmds: readonly (readonly (string | Buffer)[])[]): Buffer {
  let size = 0;
  for (const c of cmds) {
    size += 3 + digits(c.length);
    for (const a of c) {
      const len = typeof a === 'string' ? Buffer.byteLength(a) : a.length;
      size += 5 + digits(len) + len;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const c of cmds) {
    out[at++] = 0x2a; // *
    at = writeInt(out, at, c.length);
    out[at++] = CR;
    out[at++] = 0x0a;
    for (const a of c) {
      out[at++] = 0x24; // $
      const len = typeof a === 'string' ? Buffer.byteLength(a) : a.length;
      at = writeInt(out, at, len);
      out[at++] = CR;
      out[at++] = 0x0a;
      at += typeof a === 'string' ? out.write(a, at, 'utf8') : a.copy(out, at);
      out[at++] = CR;
      out[at++] = 0x0a;
    }
  }
  return out;
}
