/**
 * C printf("%.17g") for doubles, as Redis 7.0 formats RESP3 doubles and the
 * RESP2 bulk fallback. JavaScript's toPrecision rounds exact ties away from
 * zero where glibc rounds half to even, so this works from the exact decimal
 * expansion of the double (via BigInt). Doubles are rare replies; exactness
 * beats speed here.
 */

const view = new DataView(new ArrayBuffer(8));

/** Exact value of a finite x > 0 as digits × 10^exp10. */
function exactDecimal(x: number): { digits: string; exp10: number } {
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (biased === 0) {
    e = -1074;
  } else {
    mant |= 1n << 52n;
    e = biased - 1075;
  }
  if (e >= 0) return { digits: (mant << BigInt(e)).toString(), exp10: 0 };
  // m × 2^e = m × 5^-e × 10^e
  return { digits: (mant * 5n ** BigInt(-e)).toString(), exp10: e };
}

/** Rounds a digit string to `p` significant digits, half to even. Returns the digits and whether it carried into a new leading digit. */
function roundDigits(d: string, p: number): { head: string; carried: boolean } {
  if (d.length <= p) return { head: d.padEnd(p, '0'), carried: false };
  let head = d.slice(0, p);
  const first = d.charCodeAt(p) - 48;
  let up = first > 5;
  if (first === 5) {
    up = /[1-9]/.test(d.slice(p + 1)) || (head.charCodeAt(p - 1) - 48) % 2 === 1;
  }
  if (!up) return { head, carried: false };
  const inc = (BigInt(head) + 1n).toString();
  if (inc.length > p) return { head: inc.slice(0, p), carried: true };
  head = inc;
  return { head, carried: false };
}

function stripZeros(frac: string): string {
  let n = frac.length;
  while (n > 0 && frac.charCodeAt(n - 1) === 48) n--;
  return frac.slice(0, n);
}

/** printf("%.17g", x) with glibc's spellings of the special values ("inf", "-inf", "nan", "-0"). */
export function formatDouble17g(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const P = 17;
  const sign = x < 0 ? '-' : '';
  const { digits, exp10 } = exactDecimal(Math.abs(x));
  const { head, carried } = roundDigits(digits, P);
  const X = digits.length - 1 + exp10 + (carried ? 1 : 0);
  if (X < -4 || X >= P) {
    const frac = stripZeros(head.slice(1));
    const ax = Math.abs(X);
    return `${sign}${head[0]}${frac ? '.' + frac : ''}e${X < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  }
  if (X >= 0) {
    const frac = stripZeros(head.slice(X + 1));
    return `${sign}${head.slice(0, X + 1)}${frac ? '.' + frac : ''}`;
  }
  return `${sign}0.${'0'.repeat(-X - 1)}${stripZeros(head)}`;
}
