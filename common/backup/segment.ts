/**
 * Archived replication-log segments (docs/backup.md, "Continuous archiving"):
 * one object per closed segment, holding whole log batches (the replication
 * encoding, batch-codec.ts) with the time each was committed, and a SHA-256
 * of everything before it at the end, so a segment is verified on its own.
 *
 *   ["IRSG"][u8 version][f64 epoch][u32 records]
 *   per record: [f64 firstSeq][f64 lastSeq][f64 committedAt ms][u32 length][batch]
 *   [32 bytes SHA-256 of all the above]
 *
 * Object name: archive/<shard>/<firstSeq 16 digits>-<lastSeq 16 digits>-e<epoch 10 digits>.irseg
 * (sorts by first sequence). Pure: no I/O.
 */
import { createHash } from 'node:crypto';

export const SEGMENT_MAGIC = Buffer.from('IRSG');
export const SEGMENT_VERSION = 1;
const HEADER_BYTES = 4 + 1 + 8 + 4;
const RECORD_HEADER_BYTES = 8 + 8 + 8 + 4;
const DIGEST_BYTES = 32;
export const ARCHIVE_PREFIX = 'archive/';

export interface SegmentRecord {
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Milliseconds since the epoch at which the batch was committed (written) on the node that logged it. */
  readonly committedAt: number;
  readonly batch: Buffer;
}

export interface Segment {
  readonly epoch: number;
  readonly records: readonly SegmentRecord[];
}

export interface SegmentName {
  readonly shard: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly epoch: number;
}

export class SegmentFormatError extends Error {
  constructor(readonly object: string, readonly problem: string) {
    super(`archive segment ${object}: ${problem}`);
    this.name = 'SegmentFormatError';
  }
}

export function encodeSegment(s: Segment): Buffer {
  if (s.records.length === 0) throw new RangeError('a segment holds at least one batch');
  checkRecords(s.records, (p) => new RangeError(p));
  let size = HEADER_BYTES + DIGEST_BYTES;
  for (const r of s.records) size += RECORD_HEADER_BYTES + r.batch.length;
  const out = Buffer.allocUnsafe(size);
  SEGMENT_MAGIC.copy(out, 0);
  let pos = out.writeUInt8(SEGMENT_VERSION, 4);
  pos = out.writeDoubleBE(s.epoch, pos);
  pos = out.writeUInt32BE(s.records.length, pos);
  for (const r of s.records) {
    pos = out.writeDoubleBE(r.firstSeq, pos);
    pos = out.writeDoubleBE(r.lastSeq, pos);
    pos = out.writeDoubleBE(r.committedAt, pos);
    pos = out.writeUInt32BE(r.batch.length, pos);
    pos += r.batch.copy(out, pos);
  }
  createHash('sha256').update(out.subarray(0, pos)).digest().copy(out, pos);
  return out;
}

/** Verifies the checksum first (a flipped byte anywhere fails here), then the structure. */
export function decodeSegment(buf: Buffer, object: string): Segment {
  if (buf.length < HEADER_BYTES + DIGEST_BYTES) throw new SegmentFormatError(object, `${buf.length} bytes is too short to be a segment`);
  const end = buf.length - DIGEST_BYTES;
  const digest = createHash('sha256').update(buf.subarray(0, end)).digest();
  if (!digest.equals(buf.subarray(end))) throw new SegmentFormatError(object, 'its SHA-256 does not match its contents (the object is corrupt)');
  if (!buf.subarray(0, 4).equals(SEGMENT_MAGIC)) throw new SegmentFormatError(object, 'does not start with IRSG (not an archive segment)');
  const version = buf.readUInt8(4);
  if (version !== SEGMENT_VERSION) throw new SegmentFormatError(object, `format version ${version} is not supported (this version reads ${SEGMENT_VERSION})`);
  const epoch = buf.readDoubleBE(5);
  const count = buf.readUInt32BE(13);
  let pos = HEADER_BYTES;
  const records: SegmentRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + RECORD_HEADER_BYTES > end) throw new SegmentFormatError(object, `record ${i + 1} of ${count} runs past the end`);
    const firstSeq = buf.readDoubleBE(pos);
    const lastSeq = buf.readDoubleBE(pos + 8);
    const committedAt = buf.readDoubleBE(pos + 16);
    const len = buf.readUInt32BE(pos + 24);
    pos += RECORD_HEADER_BYTES;
    if (pos + len > end) throw new SegmentFormatError(object, `record ${i + 1} of ${count} runs past the end`);
    records.push({ firstSeq, lastSeq, committedAt, batch: buf.subarray(pos, pos + len) });
    pos += len;
  }
  if (pos !== end) throw new SegmentFormatError(object, `${end - pos} bytes after the last record`);
  if (records.length === 0) throw new SegmentFormatError(object, 'holds no batch');
  checkRecords(records, (p) => new SegmentFormatError(object, p));
  return { epoch, records };
}

function checkRecords(records: readonly SegmentRecord[], fail: (problem: string) => Error): void {
  let prev = 0;
  for (const r of records) {
    if (!Number.isSafeInteger(r.firstSeq) || !Number.isSafeInteger(r.lastSeq) || r.firstSeq < 1 || r.lastSeq < r.firstSeq) throw fail(`bad sequence range ${r.firstSeq}..${r.lastSeq}`);
    if (r.firstSeq <= prev) throw fail(`batches out of order (${r.firstSeq} after ${prev})`);
    if (!Number.isFinite(r.committedAt)) throw fail(`bad commit time ${r.committedAt}`);
    prev = r.lastSeq;
  }
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

export function segmentKey(n: SegmentName): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(n.shard)) throw new RangeError(`invalid shard id ${JSON.stringify(n.shard)}`);
  return `${ARCHIVE_PREFIX}${n.shard}/${pad(n.firstSeq, 16)}-${pad(n.lastSeq, 16)}-e${pad(n.epoch, 10)}.irseg`;
}

export function shardArchivePrefix(shard: string): string {
  return `${ARCHIVE_PREFIX}${shard}/`;
}

/** The name's parts, or null for any other object (a listing may hold temporary or foreign files). */
export function parseSegmentKey(key: string): SegmentName | null {
  const m = /^archive\/([A-Za-z0-9_.-]+)\/(\d{16})-(\d{16})-e(\d{10})\.irseg$/.exec(key);
  if (m === null) return null;
  const firstSeq = Number(m[2]);
  const lastSeq = Number(m[3]);
  const epoch = Number(m[4]);
  if (!Number.isSafeInteger(firstSeq) || !Number.isSafeInteger(lastSeq) || firstSeq < 1 || lastSeq < firstSeq) return null;
  return { shard: m[1]!, firstSeq, lastSeq, epoch };
}
