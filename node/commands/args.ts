/**
 * Argument parsing with Redis's exact rules. Pure functions over the raw
 * argument bytes; callers turn a null result into Redis's error text.
 */

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;
const ULONG_MAX = 18446744073709551615n;

export const INT64_MAX = LLONG_MAX;
export const INT64_MIN = LLONG_MIN;

/**
 * Redis's string2ll: an optional '-', then "0" or a digit 1-9 followed by
 * digits; no '+', no spaces, no leading zeros, no "-0", within int64.
 * Returns a number when it is a safe integer, otherwise a bigint; null if invalid.
 */
export function parseInt64(buf: Uint8Array): number | bigint | null {
  const len = buf.length;
  if (len === 0 || len >= 21) return null;
  let i = 0;
  const neg = buf[0] === 0x2d;
  if (neg) {
    i = 1;
    if (len === 1) return null;
  }
  const first = buf[i]!;
  if (first === 0x30) return len === 1 ? 0 : null;
  if (first < 0x31 || first > 0x39) return null;
  const digits = len - i;
  if (digits <= 15) {
    let v = 0;
    for (; i < len; i++) {
      const c = buf[i]! - 0x30;
      if (c < 0 || c > 9) return null;
      v = v * 10 + c;
    }
    return neg ? -v : v;
  }
  let big = 0n;
  for (; i < len; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) return null;
    big = big * 10n + BigInt(c);
  }
  if (neg) big = -big;
  if (big > LLONG_MAX || big < LLONG_MIN) return null;
  return toNumberIfSafe(big);
}

/** parseInt64 as a bigint (for range arithmetic that must not lose precision). */
export function parseInt64Big(buf: Uint8Array): bigint | null {
  const v = parseInt64(buf);
  return v === null ? null : BigInt(v);
}

export function toNumberIfSafe(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/**
 * SCAN's cursor: C strtoul(…, 10) over the argument as a C string (up to the
 * first NUL), rejecting a leading space, trailing garbage and overflow.
 * Like strtoul it accepts "" (0), "+5" and "-1" (wraps to 2^64-1).
 */
export function parseScanCursor(buf: Uint8Array): bigint | null {
  let end = buf.indexOf(0);
  if (end === -1) end = buf.length;
  if (end === 0) return 0n;
  if (isCSpace(buf[0]!)) return null;
  let i = 0;
  let neg = false;
  if (buf[0] === 0x2b || buf[0] === 0x2d) {
    neg = buf[0] === 0x2d;
    i = 1;
  }
  if (i >= end || buf[i]! < 0x30 || buf[i]! > 0x39) return null;
  let v = 0n;
  for (; i < end; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10n + BigInt(c);
    if (v > ULONG_MAX) return null;
  }
  if (neg && v !== 0n) v = ULONG_MAX + 1n - v;
  return v;
}

export function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * An option keyword as Redis compares it: the argument read as a C string
 * (up to the first NUL byte), ASCII-lowercased. "NX\0junk" is therefore "nx",
 * exactly as strcasecmp sees it.
 */
export function optionName(buf: Uint8Array): string {
  let end = buf.indexOf(0);
  if (end === -1) end = buf.length;
  if (end > 32) end = 32; // no keyword is this long; keeps the string small
  let s = '';
  for (let i = 0; i < end; i++) {
    let c = buf[i]!;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    s += String.fromCharCode(c);
  }
  return s;
}

/** The argument as C's %s prints it: up to the first NUL byte, bytes as latin1. */
export function cString(buf: Uint8Array, max = Infinity): string {
  let end = buf.indexOf(0);
  if (end === -1) end = buf.length;
  if (end > max) end = max;
  return Buffer.from(buf.buffer, buf.byteOffset, end).toString('latin1');
}

/** Lower-case ASCII name of a command (argv[0]); bytes as latin1. */
export function lowerName(buf: Uint8Array): string {
  const s = Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('latin1');
  return s.toLowerCase();
}
