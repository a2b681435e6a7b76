/**
 * Redis's glob matcher (util.c stringmatchlen), byte for byte: '*', '?',
 * '[...]' with ranges, '^' negation and '\' escapes, on binary strings.
 * Used by KEYS, SCAN MATCH and CONFIG GET. Bytes compare as C's signed char,
 * as Redis does on x86, so ranges over bytes >= 0x80 behave the same.
 */

/** Deeper '*' nesting than this is treated as no match instead of recursing (stack safety). */
const MAX_NESTING = 1000;

export function globMatch(pattern: Uint8Array, subject: Uint8Array, nocase = false): boolean {
  const state = { skipLonger: false };
  return matchAt(pattern, 0, subject, 0, nocase, state, 0);
}

/** A compiled matcher for a fixed pattern (the fast paths skip the general matcher). */
export function compileGlob(pattern: Uint8Array, nocase = false): (subject: Uint8Array) => boolean {
  if (pattern.length === 1 && pattern[0] === 0x2a) return () => true;
  let plain = true;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === 0x2a || c === 0x3f || c === 0x5b || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain && !nocase) {
    const p = Buffer.from(pattern);
    return (s) => p.length === s.length && p.equals(s);
  }
  return (s) => globMatch(pattern, s, nocase);
}

const signed = (c: number): number => (c << 24) >> 24;
const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);

function matchAt(
  p: Uint8Array, pi: number, s: Uint8Array, si: number,
  nocase: boolean, state: { skipLonger: boolean }, nesting: number,
): boolean {
  if (nesting > MAX_NESTING) return false;
  const plen = p.length;
  const slen = s.length;
  while (pi < plen && si < slen) {
    const pc = p[pi]!;
    if (pc === 0x2a) { // '*'
      while (pi + 1 < plen && p[pi + 1] === 0x2a) pi++;
      if (pi + 1 === plen) return true;
      while (si < slen) {
        if (matchAt(p, pi + 1, s, si, nocase, state, nesting + 1)) return true;
        if (state.skipLonger) return false;
        si++;
      }
      // No match for the rest of the pattern anywhere in the rest of the
      // subject: longer matches for earlier '*'s cannot help either.
      state.skipLonger = true;
      return false;
    } else if (pc === 0x3f) { // '?'
      si++;
    } else if (pc === 0x5b) { // '['
      pi++;
      const not = p[pi] === 0x5e;
      if (not) pi++;
      let match = false;
      const sc = s[si]!;
      for (;;) {
        if (pi < plen && p[pi] === 0x5c && plen - pi >= 2) {
          pi++;
          if (p[pi] === sc) match = true;
        } else if (pi < plen && p[pi] === 0x5d) {
          break;
        } else if (pi >= plen) {
          pi--; // unterminated class: the loop below steps past the last byte
          break;
        } else if (plen - pi >= 3 && p[pi + 1] === 0x2d) {
          let start = signed(p[pi]!);
          let end = signed(p[pi + 2]!);
          let c = signed(sc);
          if (start > end) [start, end] = [end, start];
          if (nocase) {
            start = lower(start);
            end = lower(end);
            c = lower(c);
          }
          pi += 2;
          if (c >= start && c <= end) match = true;
        } else if (!nocase) {
          if (p[pi] === sc) match = true;
        } else if (lower(p[pi]!) === lower(sc)) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
    } else {
      if (pc === 0x5c && plen - pi >= 2) pi++; // '\' escapes the next byte
      const c = p[pi]!;
      if (nocase ? lower(c) !== lower(s[si]!) : c !== s[si]) return false;
      si++;
    }
    pi++;
    if (si === slen) {
      while (pi < plen && p[pi] === 0x2a) pi++;
      break;
    }
  }
  return pi === plen && si === slen;
}
