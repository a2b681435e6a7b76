/**
 * Value encoding on disk: values at least `thresholdBytes` long are stored
 * compressed when that makes them smaller. The row's flags say how a value is
 * stored, so changing the configured algorithm later still reads old values.
 * Pure: no I/O.
 */
import zlib from 'node:zlib';
import type { CompressionAlgorithm } from './types.js';

/** Low two bits of the flags column: how the value is compressed. */
export const FLAG_COMPRESSION_MASK = 0b11;
export const FLAG_RAW = 0;
export const FLAG_DEFLATE = 1;
export const FLAG_BROTLI = 2;
/** Reserved for encryption at rest; no code writes it yet. */
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

  constructor(algorithm: CompressionAlgorithm, private readonly thresholdBytes: number) {
    this.flag = algorithm === 'zlib' ? FLAG_DEFLATE : algorithm === 'brotli' ? FLAG_BROTLI : FLAG_RAW;
  }

  /** The bytes to store for `value`; the matching flags are in `lastFlags` afterwards. */
  encode(value: Buffer): Buffer {
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

/** The client's value from stored bytes and flags. Throws on flags this version cannot read. */
export function decodeValue(stored: Buffer, flags: number): Buffer {
  if (flags === FLAG_RAW) return stored;
  if (flags & ~FLAG_COMPRESSION_MASK) throw new Error(`stored value has unsupported encoding flags ${flags}`);
  switch (flags & FLAG_COMPRESSION_MASK) {
    case FLAG_DEFLATE:
      return zlib.inflateRawSync(stored);
    case FLAG_BROTLI:
      return zlib.brotliDecompressSync(stored);
    default:
      throw new Error(`stored value has unsupported compression flags ${flags}`);
  }
}
