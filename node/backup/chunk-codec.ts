/**
 * The framing of one backup chunk object (docs/backup.md):
 *   [4 "IRBK"][u8 format version][u8 compression: 1 gzip, 2 brotli]
 *   [u32 row count][u32 uncompressed length][compressed rows]
 * The rows are the replication snapshot's row encoding (row-codec.ts
 * encodeRows: values as stored, possibly compressed per row flags). The
 * object's SHA-256 is in the shard manifest. Pure: compression itself is
 * done by the caller (chunk-compress.ts, off the event loop).
 */
import type { StoredRow } from '../engine/types.js';
import { decodeRows } from '../replication/row-codec.js';
import type { ChunkCompression } from '../../common/backup/manifest.js';

export const CHUNK_MAGIC = Buffer.from('IRBK');
export const CHUNK_VERSION = 1;
export const CHUNK_HEADER_BYTES = 14;
/** Above this a chunk is refused before decompressing (a writer cuts chunks at a few MiB). */
export const MAX_CHUNK_RAW_BYTES = 256 * 1024 * 1024;

const CODES: Record<ChunkCompression, number> = { gzip: 1, brotli: 2 };

export interface ChunkHeader {
  readonly compression: ChunkCompression;
  readonly rows: number;
  readonly rawBytes: number;
}

export class ChunkFormatError extends Error {
  constructor(readonly object: string, readonly problem: string) {
    super(`backup chunk ${object}: ${problem}`);
    this.name = 'ChunkFormatError';
  }
}

export function encodeChunkHeader(h: ChunkHeader): Buffer {
  if (!Number.isInteger(h.rows) || h.rows < 0 || h.rows > 0xffffffff) throw new RangeError(`chunk row count ${h.rows} does not fit u32`);
  if (!Number.isInteger(h.rawBytes) || h.rawBytes < 0 || h.rawBytes > MAX_CHUNK_RAW_BYTES) throw new RangeError(`chunk of ${h.rawBytes} bytes is over the ${MAX_CHUNK_RAW_BYTES}-byte limit`);
  const b = Buffer.allocUnsafe(CHUNK_HEADER_BYTES);
  CHUNK_MAGIC.copy(b, 0);
  b.writeUInt8(CHUNK_VERSION, 4);
  b.writeUInt8(CODES[h.compression], 5);
  b.writeUInt32BE(h.rows, 6);
  b.writeUInt32BE(h.rawBytes, 10);
  return b;
}

/** Header and compressed payload of a chunk object; ChunkFormatError naming `object` for anything else. */
export function parseChunk(buf: Buffer, object: string): { header: ChunkHeader; payload: Buffer } {
  if (buf.length < CHUNK_HEADER_BYTES) throw new ChunkFormatError(object, `${buf.length} bytes is shorter than the ${CHUNK_HEADER_BYTES}-byte header`);
  if (!buf.subarray(0, 4).equals(CHUNK_MAGIC)) throw new ChunkFormatError(object, 'does not start with IRBK (not a backup chunk)');
  const version = buf.readUInt8(4);
  if (version !== CHUNK_VERSION) throw new ChunkFormatError(object, `format version ${version} is not supported (this version reads ${CHUNK_VERSION})`);
  const code = buf.readUInt8(5);
  const compression = code === 1 ? 'gzip' : code === 2 ? 'brotli' : null;
  if (compression === null) throw new ChunkFormatError(object, `unknown compression code ${code}`);
  const rows = buf.readUInt32BE(6);
  const rawBytes = buf.readUInt32BE(10);
  if (rawBytes > MAX_CHUNK_RAW_BYTES) throw new ChunkFormatError(object, `declares ${rawBytes} uncompressed bytes, over the ${MAX_CHUNK_RAW_BYTES}-byte limit`);
  return { header: { compression, rows, rawBytes }, payload: buf.subarray(CHUNK_HEADER_BYTES) };
}

/** The rows of a decompressed payload, checked against the header. */
export function decodeChunkRows(raw: Buffer, header: ChunkHeader, object: string): StoredRow[] {
  if (raw.length !== header.rawBytes) throw new ChunkFormatError(object, `decompressed to ${raw.length} bytes, the header says ${header.rawBytes}`);
  let rows: StoredRow[];
  try {
    rows = decodeRows(raw);
  } catch (err) {
    throw new ChunkFormatError(object, `rows do not decode (${(err as Error).message})`);
  }
  if (rows.length !== header.rows) throw new ChunkFormatError(object, `holds ${rows.length} rows, the header says ${header.rows}`);
  return rows;
}
