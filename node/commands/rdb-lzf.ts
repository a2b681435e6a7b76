/**
 * LZF, the compression Redis uses for RDB strings longer than 20 bytes:
 * liblzf 3.6's lzf_decompress and lzf_compress. Pure; decompression returns
 * null on any malformed input instead of reading or writing out of bounds.
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
 * LZF compression as liblzf 3.6's lzf_compress with Redis's settings
 * (HLOG 16, VERY_FAST), step for step, so DUMP payloads are the bytes Redis
 * writes: a 3-byte hash, a match must start after position 0 and be within
 * 8 KiB, after a match the last two positions are hashed, and the same
 * output-space checks. Null when the result would not fit in `maxOut`
 * bytes (Redis then stores the string as it is).
 */
export function lzfCompress(input: Uint8Array, maxOut: number): Buffer | null {
  const inEnd = input.length;
  if (inEnd === 0) return null;
  const HLOG = 16;
  const MAX_LIT = 1 << 5;
  const MAX_OFF = 1 << 13;
  const MAX_REF = (1 << 8) + (1 << 3);
  const htab = new Int32Array(1 << HLOG).fill(-1); // -1: never written (liblzf's table starts as garbage; see above)
  const idx = (p: number): number => {
    const h = (input[p]! << 16) | (input[p + 1]! << 8) | input[p + 2]!;
    return ((h >>> (24 - HLOG)) - h * 5) & ((1 << HLOG) - 1);
  };
  const out = Buffer.alloc(maxOut + 8);
  let ip = 0;
  let op = 1; // the first literal run's control byte is out[0]
  let lit = 0;
  while (ip < inEnd - 2) {
    const slot = idx(ip);
    const ref = htab[slot]!;
    htab[slot] = ip;
    const off = ip - ref - 1;
    if (ref > 0 && off < MAX_OFF && input[ref + 2] === input[ip + 2] && input[ref] === input[ip] && input[ref + 1] === input[ip + 1]) {
      let len = 2;
      const maxlen = Math.min(inEnd - ip - len, MAX_REF);
      if (op + 3 + 1 >= maxOut && op - (lit === 0 ? 1 : 0) + 3 + 1 >= maxOut) return null;
      out[op - lit - 1] = lit - 1; // stop run
      if (lit === 0) op--; // undo an empty run
      let matched = false;
      if (maxlen > 16) {
        // liblzf's unrolled loop compares 16 bytes before it looks at maxlen
        for (let n = 0; n < 16; n++) {
          len++;
          if (input[ref + len] !== input[ip + len]) {
            matched = true;
            break;
          }
        }
      }
      if (!matched) {
        do len++; while (len < maxlen && input[ref + len] === input[ip + len]);
      }
      len -= 2; // octets - 1
      ip++;
      if (len < 7) {
        out[op++] = (off >> 8) + (len << 5);
      } else {
        out[op++] = (off >> 8) + (7 << 5);
        out[op++] = len - 7;
      }
      out[op++] = off & 0xff;
      lit = 0;
      op++; // start run
      ip += len + 1;
      if (ip >= inEnd - 2) break;
      // VERY_FAST: hash the last two positions of the match
      ip -= 2;
      htab[idx(ip)] = ip;
      ip++;
      htab[idx(ip)] = ip;
      ip++;
    } else {
      if (op >= maxOut) return null;
      lit++;
      out[op++] = input[ip++]!;
      if (lit === MAX_LIT) {
        out[op - lit - 1] = lit - 1;
        lit = 0;
        op++;
      }
    }
  }
  if (op + 3 > maxOut) return null;
  while (ip < inEnd) {
    lit++;
    out[op++] = input[ip++]!;
    if (lit === MAX_LIT) {
      out[op - lit - 1] = lit - 1;
      lit = 0;
      op++;
    }
  }
  out[op - lit - 1] = lit - 1; // end run (an empty run's byte is dropped next)
  if (lit === 0) op--;
  return out.subarray(0, op);
}
