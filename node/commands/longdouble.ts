/**
 * INCRBYFLOAT arithmetic exactly as Redis does it on x86-64: values are C
 * `long double` (x87 80-bit extended: 64-bit significand, round to nearest
 * even), parsed like strtold and printed like printf("%.17Lf") with trailing
 * zeros removed. JavaScript doubles would print 10.5+0.1 as
 * "10.59999999999999964" where Redis prints "10.6", so this is emulated
 * exactly with BigInt. Pure, no I/O.
 */

export type LongDouble =
  | { readonly kind: 'finite'; readonly neg: boolean; readonly mant: bigint; readonly exp: number }
  | { readonly kind: 'inf'; readonly neg: boolean }
  | { readonly kind: 'nan' };

/** value = mant * 2^exp; normal values have 2^63 <= mant < 2^64. */
const MANT_MIN = 1n << 63n;
const MANT_LIMIT = 1n << 64n;
/** Exponent of the smallest denormal (2^-16445). */
const EXP_MIN = -16445;
/** Largest exponent of a finite value: (2^64-1) * 2^16320 is LDBL_MAX. */
const EXP_MAX = 16320;
/** Redis refuses longer numbers (MAX_LONG_DOUBLE_CHARS). */
const MAX_CHARS = 5 * 1024;

const ZERO: LongDouble = { kind: 'finite', neg: false, mant: 0n, exp: 0 };

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Rounds num/den (both > 0) to the nearest long double, ties to even. */
function roundRatio(neg: boolean, num: bigint, den: bigint): LongDouble {
  let e = bitLength(num) - bitLength(den) - 64;
  const quotient = (ex: number): bigint => (ex >= 0 ? num / (den << BigInt(ex)) : (num << BigInt(-ex)) / den);
  let q = quotient(e);
  while (q >= MANT_LIMIT) q = quotient(++e);
  while (q < MANT_MIN) q = quotient(--e);
  if (e < EXP_MIN) e = EXP_MIN;
  const n = e >= 0 ? num : num << BigInt(-e);
  const d = e >= 0 ? den << BigInt(e) : den;
  q = n / d;
  const twiceRem = (n - q * d) * 2n;
  if (twiceRem > d || (twiceRem === d && (q & 1n) === 1n)) q += 1n;
  if (q === MANT_LIMIT) {
    q = MANT_MIN;
    e += 1;
  }
  if (e > EXP_MAX) return { kind: 'inf', neg };
  return { kind: 'finite', neg, mant: q, exp: e };
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Reads [+-]digits at i; returns [value clamped to ±1e9, next index] or null if no digits. */
function readExponent(s: Uint8Array, i: number): [number, number] | null {
  let neg = false;
  if (s[i] === 0x2b || s[i] === 0x2d) {
    neg = s[i] === 0x2d;
    i++;
  }
  if (i >= s.length || !isDigit(s[i]!)) return null;
  let v = 0;
  for (; i < s.length && isDigit(s[i]!); i++) v = Math.min(v * 10 + (s[i]! - 0x30), 1e9);
  return [neg ? -v : v, i];
}

/**
 * strtold over the whole argument, as Redis's string2ld uses it: null unless
 * every byte is consumed, for NaN, and for a result out of range (overflow
 * to infinity or underflow to zero: ERANGE). "inf"/"infinity" are accepted.
 */
export function parseLongDouble(s: Uint8Array): LongDouble | null {
  const len = s.length;
  if (len === 0 || len >= MAX_CHARS) return null;
  let i = 0;
  let neg = false;
  if (s[0] === 0x2b || s[0] === 0x2d) {
    neg = s[0] === 0x2d;
    i = 1;
  }
  const rest = Buffer.from(s.buffer, s.byteOffset + i, len - i).toString('latin1').toLowerCase();
  if (rest === 'inf' || rest === 'infinity') return { kind: 'inf', neg };
  if (rest.startsWith('nan')) return null; // string2ld refuses NaN in every spelling
  if (rest.startsWith('0x') && len - i > 2) {
    const hex = parseHex(s, i + 2, neg);
    if (hex !== undefined) return hex;
    return null;
  }
  // Decimal: digits [. digits] [e exp], at least one digit in the mantissa.
  let digits = '';
  let fracDigits = 0;
  let any = false;
  for (; i < len && isDigit(s[i]!); i++) {
    digits += String.fromCharCode(s[i]!);
    any = true;
  }
  if (i < len && s[i] === 0x2e) {
    i++;
    for (; i < len && isDigit(s[i]!); i++) {
      digits += String.fromCharCode(s[i]!);
      fracDigits++;
      any = true;
    }
  }
  if (!any) return null;
  let exp10 = 0;
  if (i < len && (s[i] === 0x65 || s[i] === 0x45)) {
    const ex = readExponent(s, i + 1);
    if (ex === null) return null;
    exp10 = ex[0];
    i = ex[1];
  }
  if (i !== len) return null;
  const stripped = digits.replace(/^0+/, '');
  if (stripped === '') return { kind: 'finite', neg, mant: 0n, exp: 0 };
  const e = exp10 - fracDigits;
  // value is in [10^(m-1), 10^m): decide overflow/underflow before building huge numbers.
  const m = e + stripped.length;
  if (m - 1 >= 4933 || m <= -4951) return null;
  const d = BigInt(stripped);
  const r = e >= 0 ? roundRatio(neg, d * 10n ** BigInt(e), 1n) : roundRatio(neg, d, 10n ** BigInt(-e));
  return r.kind === 'finite' && r.mant !== 0n ? r : null;
}

/** Hex float after "0x": hexdigits [. hexdigits] [p exp]; undefined if malformed. */
function parseHex(s: Uint8Array, i: number, neg: boolean): LongDouble | undefined {
  const len = s.length;
  let h = 0n;
  let fracDigits = 0;
  let any = false;
  for (; i < len && hexValue(s[i]!) >= 0; i++) {
    h = h * 16n + BigInt(hexValue(s[i]!));
    any = true;
  }
  if (i < len && s[i] === 0x2e) {
    i++;
    for (; i < len && hexValue(s[i]!) >= 0; i++) {
      h = h * 16n + BigInt(hexValue(s[i]!));
      fracDigits++;
      any = true;
    }
  }
  if (!any) return undefined;
  let exp2 = 0;
  if (i < len && (s[i] === 0x70 || s[i] === 0x50)) {
    const ex = readExponent(s, i + 1);
    if (ex === null) return undefined;
    exp2 = ex[0];
    i = ex[1];
  }
  if (i !== len) return undefined;
  if (h === 0n) return { kind: 'finite', neg, mant: 0n, exp: 0 };
  const e = exp2 - 4 * fracDigits;
  const top = bitLength(h) + e; // value is in [2^(top-1), 2^top)
  if (top - 1 >= 16384 || top < EXP_MIN - 1) return undefined;
  const r = e >= 0 ? roundRatio(neg, h << BigInt(e), 1n) : roundRatio(neg, h, 1n << BigInt(-e));
  return r.kind === 'finite' && r.mant !== 0n ? r : undefined;
}

export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  if (a.kind === 'nan' || b.kind === 'nan') return { kind: 'nan' };
  if (a.kind === 'inf' && b.kind === 'inf') return a.neg === b.neg ? a : { kind: 'nan' };
  if (a.kind === 'inf') return a;
  if (b.kind === 'inf') return b;
  if (a.mant === 0n) return b.mant === 0n ? (a.neg && b.neg ? a : ZERO) : b;
  if (b.mant === 0n) return a;
  const e = Math.min(a.exp, b.exp);
  const av = a.mant << BigInt(a.exp - e);
  const bv = b.mant << BigInt(b.exp - e);
  const sum = (a.neg ? -av : av) + (b.neg ? -bv : bv);
  if (sum === 0n) return ZERO;
  const neg = sum < 0n;
  const mag = neg ? -sum : sum;
  return e >= 0 ? roundRatio(neg, mag << BigInt(e), 1n) : roundRatio(neg, mag, 1n << BigInt(-e));
}

const TEN_17 = 10n ** 17n;

/** printf("%.17Lf") with trailing zeros (and a bare '.') removed, "-0" as "0": Redis's LD_STR_HUMAN. */
export function formatLongDouble(v: LongDouble): string {
  if (v.kind === 'nan') return 'nan';
  if (v.kind === 'inf') return v.neg ? '-inf' : 'inf';
  let n: bigint;
  if (v.exp >= 0) {
    n = (v.mant << BigInt(v.exp)) * TEN_17;
  } else {
    const num = v.mant * TEN_17;
    const den = 1n << BigInt(-v.exp);
    n = num / den;
    const twiceRem = (num - n * den) * 2n;
    if (twiceRem > den || (twiceRem === den && (n & 1n) === 1n)) n += 1n;
  }
  if (n === 0n) return '0';
  const digits = n.toString().padStart(18, '0');
  const intPart = digits.slice(0, -17);
  const frac = digits.slice(-17).replace(/0+$/, '');
  return (v.neg ? '-' : '') + intPart + (frac === '' ? '' : '.' + frac);
}
