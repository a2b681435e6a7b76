/**
 * Inline command splitting, a byte-for-byte port of Redis's sdssplitargs():
 * whitespace-separated tokens, "double quotes" with \n \r \t \b \a \\ \" and
 * \xHH escapes, 'single quotes' with \' only. A closing quote must be followed
 * by whitespace or the end of the line. Pure: no I/O.
 *
 * The C original walks a NUL-terminated string, so a NUL byte ends the line;
 * at() returns 0 past `end` to keep that behaviour exact.
 */

const BACKSLASH = 0x5c;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

/** C isspace() in the "C" locale: space, \t \n \v \f \r. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Splits line[start, end) into arguments; null means unbalanced quotes
 * (Redis: "Protocol error: unbalanced quotes in request"). An empty or
 * all-blank line yields [].
 */
export function splitInlineArgs(line: Uint8Array, start: number, end: number): Buffer[] | null {
  const at = (i: number): number => (i < end ? line[i]! : 0);
  const out: Buffer[] = [];
  let p = start;
  for (;;) {
    while (at(p) !== 0 && isSpace(at(p))) p++;
    if (at(p) === 0) return out;
    /** The open quote (DQUOTE or SQUOTE), or 0 outside quotes. */
    let quote = 0;
    let done = false;
    const tok: number[] = [];
    while (!done) {
      const c = at(p);
      if (quote === DQUOTE && c === BACKSLASH && at(p + 1) === 0x78 && hexValue(at(p + 2)) >= 0 && hexValue(at(p + 3)) >= 0) {
        tok.push(hexValue(at(p + 2)) * 16 + hexValue(at(p + 3)));
        p += 3;
      } else if (quote === DQUOTE && c === BACKSLASH && at(p + 1) !== 0) {
        p++;
        const e = at(p);
        tok.push(e === 0x6e ? 10 : e === 0x72 ? 13 : e === 0x74 ? 9 : e === 0x62 ? 8 : e === 0x61 ? 7 : e);
      } else if (quote === SQUOTE && c === BACKSLASH && at(p + 1) === SQUOTE) {
        p++;
        tok.push(SQUOTE);
      } else if (quote !== 0 && c === quote) {
        // A closing quote must be followed by whitespace or the end.
        if (at(p + 1) !== 0 && !isSpace(at(p + 1))) return null;
        done = true;
      } else if (quote !== 0 && c === 0) {
        return null;
      } else if (quote === 0 && (c === 32 || c === 10 || c === 13 || c === 9 || c === 0)) {
        done = true;
      } else if (quote === 0 && (c === DQUOTE || c === SQUOTE)) {
        quote = c;
      } else {
        tok.push(c);
      }
      if (at(p) !== 0) p++;
    }
    out.push(Buffer.from(tok));
  }
}
