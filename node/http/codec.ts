/**
 * Pure encoding helpers of the HTTP API: keys in URL paths, base64 in JSON
 * and query strings, ETag lists in conditional headers, integers in query
 * strings. No I/O, so they are property-tested directly.
 */
import { isUtf8 } from 'node:buffer';

export type BytesEncoding = 'utf8' | 'base64';

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Percent-decodes a raw URL path segment to bytes. Unlike decodeURIComponent
 * it accepts any byte sequence (%FF, %00, invalid UTF-8), because keys are
 * binary. "+" stays "+" (it only means space in form bodies). Returns null
 * for a malformed escape ("%", "%G1").
 */
export function percentDecode(raw: string): Buffer | null {
  if (raw.indexOf('%') === -1 && /^[\x00-\x7f]*$/.test(raw)) return Buffer.from(raw, 'latin1');
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const hi = i + 2 < raw.length ? hexVal(raw.charCodeAt(i + 1)) : -1;
      const lo = hi >= 0 ? hexVal(raw.charCodeAt(i + 2)) : -1;
      if (lo < 0) return null;
      out.push(hi * 16 + lo);
      i += 2;
    } else if (c < 0x80) {
      out.push(c);
    } else {
      // Node's HTTP parser rejects raw non-ASCII in the request line; this only
      // matters for callers that pass decoded strings.
      const end = c >= 0xd800 && c <= 0xdbff && i + 1 < raw.length ? i + 2 : i + 1;
      for (const b of Buffer.from(raw.slice(i, end), 'utf8')) out.push(b);
      i = end - 1;
    }
  }
  return Buffer.from(out);
}

/** Unreserved characters (RFC 3986) are left as they are; every other byte is %XX. */
export function percentEncode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    const unreserved = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    s += unreserved ? String.fromCharCode(b) : '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return s;
}

/**
 * Strict base64 (standard or URL-safe alphabet, padding optional). Node's own
 * decoder silently skips invalid characters, which would turn a typo into a
 * different key; this rejects anything that does not re-encode to itself.
 */
export function decodeBase64Strict(s: string): Buffer | null {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) return null;
  const body = s.replace(/=+$/, '');
  if (body.length % 4 === 1) return null;
  if (s.length !== body.length && s.length % 4 !== 0) return null;
  const buf = Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  const canonical = buf.toString('base64').replace(/=+$/, '');
  return canonical === body.replace(/-/g, '+').replace(/_/g, '/') ? buf : null;
}

/** Bytes from a string in the given encoding; null if base64 is malformed. */
export function decodeBytes(s: string, encoding: BytesEncoding): Buffer | null {
  return encoding === 'base64' ? decodeBase64Strict(s) : Buffer.from(s, 'utf8');
}

/**
 * Bytes for a JSON document. "utf8" is a preference: bytes that are not valid
 * UTF-8 would be corrupted by a text round-trip, so they fall back to base64
 * and the returned encoding says so. "base64" is always honoured.
 */
export function encodeBytes(bytes: Buffer, preferred: BytesEncoding): { text: string; encoding: BytesEncoding } {
  if (preferred === 'utf8' && isUtf8(bytes)) return { text: bytes.toString('utf8'), encoding: 'utf8' };
  return { text: bytes.toString('base64'), encoding: 'base64' };
}

/** A version as it appears in an ETag. */
export function formatEtag(version: number): string {
  return `"${version}"`;
}

export interface EntityTag {
  readonly weak: boolean;
  /** The version if the tag is one of ours ("123"), else null (a tag that matches nothing). */
  readonly version: number | null;
}

/** "*" or a list of entity tags; null when the header is malformed. */
export type EtagCondition = { readonly any: true } | { readonly any: false; readonly tags: readonly EntityTag[] };

const VERSION_RE = /^(0|[1-9][0-9]{0,15})$/;

function parseVersionText(s: string): number | null {
  if (!VERSION_RE.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Parses If-Match / If-None-Match (RFC 9110 §13.1). A bare number (123) is
 * accepted as "123" because it is an easy mistake with curl and unambiguous.
 */
export function parseEtagCondition(header: string): EtagCondition | null {
  const h = header.trim();
  if (h === '*') return { any: true };
  if (h === '') return null;
  const tags: EntityTag[] = [];
  for (const part of h.split(',')) {
    let p = part.trim();
    if (p === '') continue;
    let weak = false;
    if (p.startsWith('W/')) {
      weak = true;
      p = p.slice(2);
    }
    let inner: string;
    if (p.length >= 2 && p.startsWith('"') && p.endsWith('"')) inner = p.slice(1, -1);
    else if (!weak && VERSION_RE.test(p)) inner = p;
    else return null;
    if (!/^[\x21\x23-\x7e\x80-\xff]*$/.test(inner)) return null;
    tags.push({ weak, version: parseVersionText(inner) });
  }
  return tags.length === 0 ? null : { any: false, tags };
}

/** If-Match uses strong comparison: weak tags never match. */
export function ifMatchPasses(cond: EtagCondition, current: number | null): boolean {
  if (current === null) return false;
  if (cond.any) return true;
  return cond.tags.some((t) => !t.weak && t.version === current);
}

/** If-None-Match uses weak comparison; it passes when nothing matches. */
export function ifNoneMatchPasses(cond: EtagCondition, current: number | null): boolean {
  if (current === null) return true;
  if (cond.any) return false;
  return !cond.tags.some((t) => t.version === current);
}

/** A decimal integer in [min, max] without sign tricks, exponents or spaces; null otherwise. */
export function parseIntStrict(s: string, min: number, max: number): number | null {
  if (!/^-?[0-9]{1,16}$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : null;
}

/**
 * An opaque scan cursor for URLs: "c" + the engine's position in base64url.
 * The marker keeps the cursor non-empty (an empty cursor means "start").
 */
export function encodeCursor(next: string): string {
  return 'c' + Buffer.from(next, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string | null {
  if (!/^c[A-Za-z0-9_-]*$/.test(cursor)) return null;
  const bytes = decodeBase64Strict(cursor.slice(1));
  return bytes !== null && isUtf8(bytes) ? bytes.toString('utf8') : null;
}
