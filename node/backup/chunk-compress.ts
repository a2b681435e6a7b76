/**
 * Compressing and decompressing chunk payloads with Node's zlib, on its
 * thread pool (the async API), so a backup or restore does not block the
 * event loop on compression.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ChunkCompression } from '../../common/backup/manifest.js';
import { ChunkFormatError, MAX_CHUNK_RAW_BYTES } from './chunk-codec.js';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
const brotli = promisify(zlib.brotliCompress);
const unbrotli = promisify(zlib.brotliDecompress);

// Level 1 with the largest hash table (memLevel 9): on 4 MiB chunks of 100-byte
// values it costs 0.6x level 6's CPU (random values: 89 vs 142 ms, 0.621 vs 0.616
// of the raw size; JSON-like values: 23 vs 67 ms, 0.16 vs 0.15), and the
// snapshot's CPU is what a backup takes from the foreground (docs/benchmarks.md).
const GZIP_OPTIONS: zlib.ZlibOptions = { level: 1, memLevel: 9 };
// Quality 4: brotli's high levels cost many times the CPU for a few percent.
function brotliOptions(rawBytes: number): zlib.BrotliOptions {
  return { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: rawBytes } };
}

export function compressPayload(raw: Buffer, compression: ChunkCompression): Promise<Buffer> {
  return compression === 'gzip' ? gzip(raw, GZIP_OPTIONS) : brotli(raw, brotliOptions(raw.length));
}

/** The same, synchronously: for the backup's worker thread, which has no event loop to keep free. */
export function compressPayloadSync(raw: Buffer, compression: ChunkCompression): Buffer {
  return compression === 'gzip' ? zlib.gzipSync(raw, GZIP_OPTIONS) : zlib.brotliCompressSync(raw, brotliOptions(raw.length));
}

export async function decompressPayload(payload: Buffer, compression: ChunkCompression, object: string): Promise<Buffer> {
  try {
    return compression === 'gzip'
      ? await gunzip(payload, { maxOutputLength: MAX_CHUNK_RAW_BYTES })
      : await unbrotli(payload, { maxOutputLength: MAX_CHUNK_RAW_BYTES });
  } catch (err) {
    throw new ChunkFormatError(object, `does not decompress as ${compression} (${(err as Error).message})`);
  }
}
