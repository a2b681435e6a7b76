/**
 * CRC-64/Jones as Redis's crc64.c computes it (reflected, polynomial
 * 0xad93d23594c935a9, initial value 0, no final xor): the checksum of a
 * DUMP payload. crc64(0, "123456789") === 0xe9c6d914c4b8d9can.
 */

/** The reflected polynomial (bit-reversed 0xad93d23594c935a9). */
const POLY_REFLECTED = 0x95ac9329ac4bc9b5n;
const MASK64 = 0xffffffffffffffffn;

/** One table of 256 entries split into high and low 32-bit halves, so the loop stays in plain numbers. */
const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let crc = BigInt(i);
  for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ POLY_REFLECTED : crc >> 1n;
  TABLE_HI[i] = Number((crc >> 32n) & 0xffffffffn);
  TABLE_LO[i] = Number(crc & 0xffffffffn);
}

/** Continues `crc` over `data` (pass 0n to start). */
export function crc64(crc: bigint, data: Uint8Array): bigint {
  let hi = Number((crc >> 32n) & 0xffffffffn);
  let lo = Number(crc & 0xffffffffn);
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    // crc = table[idx] ^ (crc >> 8), on the two 32-bit halves
    const nlo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
    const nhi = hi >>> 8;
    lo = (TABLE_LO[idx]! ^ nlo) >>> 0;
    hi = (TABLE_HI[idx]! ^ nhi) >>> 0;
  }
  return ((BigInt(hi) << 32n) | BigInt(lo)) & MASK64;
}
