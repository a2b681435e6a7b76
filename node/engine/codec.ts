/**
 * Value encoding on disk: values at least `thresholdBytes` long are stored
 * compressed when that makes them smaller; with a keyring, every value is
 * then encrypted (AES-256-GCM, bound to its Redis key: node/crypto/keyring.ts).
 * The row's flags say how a value is stored, so changing the configured
 * algorithm or keys later still reads old values. Pure: no I/O.
 */
import zlib from 'node:zlib';
import type { CompressionAlgorithm } from './types.js';
import type { KeyringSource } from '../crypto/keyring-store.js';
import { openWith, type Keyring } from '../crypto/keyring.js';

/** Low two bits of the flags column: how the value is compressed. */
export const FLAG_COMPRESSION_MASK = 0b11;
export const FLAG_RAW = 0;
export const FLAG_DEFLATE = 1;
export const FLAG_BROTLI = 2;
/** Encrypted at rest (after compression): the bytes are sealed by a keyring key they name. */
export const FLAG_ENCRYPTED = 0b100;

// Fastest settings: the hot path pays for compression on every large write,
// and level 1 / quality 1 already captures most of the gain on text-like data.
const DEFLATE_OPTS: zlib.ZlibOptions = { level: 1 };
const BROTLI_OPTS: zlib.BrotliOptions = {
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_GENERIC },
};

export class ValueCodec {
  /** Set by encode(): the flags of the last encoded value (avoids allocating a result object per write). */
  lastFlags = FLAG_RAW;
  private readonly flag: number;

  constructor(algorithm: CompressionAlgorithm, private readonly thresholdBytes: number, private readonly keys: KeyringSource | null = null) {
    this.flag = algorithm === 'zlib' ? FLAG_DEFLATE : algorithm === 'brotli' ? FLAG_BROTLI : FLAG_RAW;
  }

  /** The keyring values are encrypted with, or null (encryption off). */
  get keyring(): Keyring | null {
    return this.keys?.current ?? null;
  }

  /** The bytes to store for `value` of Redis key `key`; the matching flags are in `lastFlags` afterwards. */
  encode(value: Buffer, key: Buffer): Buffer {
    const packed = this.compress(value);
    if (this.keys === null) return packed;
    this.lastFlags |= FLAG_ENCRYPTED;
    return this.keys.current.seal(packed, 'value', key);
  }

  /** decodeValue with this codec's keyring. */
  decode(stored: Buffer, flags: number, key: Buffer): Buffer {
    return decodeValue(stored, flags, key, this.keyring);
  }

  private compress(value: Buffer): Buffer {
    if (this.flag === FLAG_RAW || value.length < this.thresholdBytes || value.length === 0) {
      this.lastFlags = FLAG_RAW;
      return value;
    }
    const packed = this.flag === FLAG_DEFLATE ? zlib.deflateRawSync(value, DEFLATE_OPTS) : zlib.brotliCompressSync(value, BROTLI_OPTS);
    if (packed.length >= value.length) {
      // Incompressible (already compressed, random): storing it raw is smaller and faster to read.
      this.lastFlags = FLAG_RAW;
      return value;
    }
    this.lastFlags = this.flag;
    return packed;
  }
}

/**
 * The client's value from stored bytes and flags of Redis key `key`. Throws
 * on flags this version cannot read, and on an encrypted value it cannot
 * decrypt (UnknownKeyIdError, DecryptionError, NoKeyringError: all name the key id).
 */
export function decodeValue(stored: Buffer, flags: number, key: Buffer, keyring: Keyring | null = null): Buffer {
  if (flags === FLAG_RAW) return stored;
  if (flags & ~(FLAG_COMPRESSION_MASK | FLAG_ENCRYPTED)) throw new Error(`stored value has unsupported encoding flags ${flags}`);
  if (flags & FLAG_ENCRYPTED) {
    stored = openWith(keyring, stored, 'value', key, `the value of key '${printable(key)}'`);
    flags &= FLAG_COMPRESSION_MASK;
    if (flags === FLAG_RAW) return stored;
  }
  switch (flags & FLAG_COMPRESSION_MASK) {
    case FLAG_DEFLATE:
      return zlib.inflateRawSync(stored);
    case FLAG_BROTLI:
      return zlib.brotliDecompressSync(stored);
    default:
      throw new Error(`stored value has unsupported compression flags ${flags}`);
  }
}

/** A key for an error message: printable, and short. */
function printable(key: Buffer): string {
  const s = key.subarray(0, 64).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
  return key.length > 64 ? `${s}...` : s;
}
