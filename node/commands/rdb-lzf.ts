/**
 * LZF decompression (liblzf 3.6's lzf_decompress, which Redis uses for RDB
 * strings longer than 20 bytes). Pure; returns null on any malformed input
 * instead of reading or writing out of bounds.
 */

/**
 * Decompresses `input` into exactly `outLength` bytes, or null when the
 * data is malformed or does not produce exactly that many bytes (Redis:
 * "Invalid LZF compressed string").
 */
export function lzfDecompress(input: Uint8Array, outLength: number): Buffer | null {
  const out = Buffer.alloc(outLength);
  let ip = 0;
  let op = 0;
  while (ip < input.length) {
    let ctrl = input[ip++]!;
    if (ctrl < 32) {
      // literal run of ctrl + 1 bytes
      ctrl++;
      if (op + ctrl > outLength || ip + ctrl > input.length) return null;
      out.set(input.subarray(ip, ip + ctrl), op);
      ip += ctrl;
      op += ctrl;
    } else {
      // back reference: length (ctrl >> 5) + 2, offset ((ctrl & 0x1f) << 8) + next byte + 1
      let len = ctrl >> 5;
      let ref = op - ((ctrl & 0x1f) << 8) - 1;
      if (ip >= input.length) return null;
      if (len === 7) {
        len += input[ip++]!;
        if (ip >= input.length) return null;
      }
      ref -= input[ip++]!;
      if (op + len + 2 > outLength || ref < 0) return null;
      // byte by byte: the reference may overlap the bytes being written
      for (let n = len + 2; n > 0; n--) out[op++] = out[ref++]!;
    }
  }
  return op === outLength ? out : null;
}

/**
 * LZF compression (the liblzf format, greedy with a 3-byte hash as
 * lzf_compress): null when the result would not be smaller than
 * `maxOut` bytes (Redis then stores the string as it is).
 */
export function lzfCompress(input: Uint8Array, maxOut: number): Buffer | null {
  const inLen = input.length;
  if (inLen < 3) return null;
  const HLOG = 16;
  const htab = new Int32Array(1 << HLOG).fill(-1);
  const out = Buffer.alloc(maxOut + 1 + 3);
  let op = 0;
  let lit = 0; // bytes in the current literal run
  let litStart = op++; // the run's control byte
  let ip = 0;
  const MAX_LIT = 32;
  const MAX_OFF = 1 << 13;
  const MAX_REF = (1 << 8) + (1 << 3);
  const hash = (p: number): number => {
    const v = (input[p]! << 16) | (input[p + 1]! << 8) | input[p + 2]!;
    return ((v >>> (24 - HLOG)) - v * 5) & ((1 << HLOG) - 1);
  };
  while (ip < inLen - 2) {
    const h = hash(ip);
    const ref = htab[h]!;
    htab[h] = ip;
    const off = ip - ref - 1;
    if (ref >= 0 && off < MAX_OFF && input[ref] === input[ip] && input[ref + 1] === input[ip + 1] && input[ref + 2] === input[ip + 2]) {
      let len = 2;
      const maxLen = Math.min(inLen - ip - len, MAX_REF);
      do len++; while (len < maxLen && input[ref + len] === input[ip + len]);
      len -= 2; // encoded length
      if (op + 3 + 1 > maxOut) return null;
      // close the literal run (drop its control byte if it is empty)
      if (lit === 0) op--; else out[litStart] = lit - 1;
      if (len < 7) {
        out[op++] = (off >> 8) + (len << 5);
      } else {
        out[op++] = (off >> 8) + (7 << 5);
        out[op++] = len - 7;
      }
      out[op++] = off & 0xff;
      lit = 0;
      litStart = op++;
      ip += len + 2;
      if (ip >= inLen - 2) break;
      // hash the positions inside the match too, as liblzf does for the last two
      htab[hash(ip - 1)] = ip - 1;
      continue;
    }
    if (op >= maxOut) return null;
    lit++;
    out[op++] = input[ip++]!;
    if (lit === MAX_LIT) {
      out[litStart] = MAX_LIT - 1;
      lit = 0;
      litStart = op++;
    }
  }
  while (ip < inLen) {
    if (op >= maxOut) return null;
    lit++;
    out[op++] = input[ip++]!;
    if (lit === MAX_LIT) {
      out[litStart] = MAX_LIT - 1;
      lit = 0;
      litStart = op++;
    }
  }
  if (lit === 0) op--; else out[litStart] = lit - 1;
  return op > maxOut ? null : out.subarray(0, op);
}
