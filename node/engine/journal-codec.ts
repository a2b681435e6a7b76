/**
 * The write journal's record format (docs/architecture.md, "Write journal").
 * One record per event-loop turn that changed data (a turn the replication
 * log split into several batches is still one record, encoded as one batch):
 *
 *   [u32 payload length][u32 CRC32 of everything after it][f64 first seq][f64 last seq][payload]
 *
 * The payload is the turn's replication log batch exactly as repl_log stores
 * it (encodeBatch, sealed when encryption at rest is on), so the journal
 * never holds a value in clear that the log would not. A slot migration's
 * writes carry the batch codec's migration bit in their op byte, as in
 * repl_log, so recovery puts them back marked; the record layout did not
 * change for it (records from before never set the bit). Pure: no I/O.
 */
import zlib from 'node:zlib';

export const RECORD_HEADER_BYTES = 24;
/** A record longer than this is treated as corrupt (turn batches are far smaller: a pipeline is cut into turns). */
export const MAX_RECORD_PAYLOAD_BYTES = 1024 * 1024 * 1024;

export interface JournalRecord {
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The stored replication log batch (sealed when encrypted). */
  readonly payload: Buffer;
}

export function encodeRecord(r: JournalRecord): Buffer {
  if (!(Number.isSafeInteger(r.firstSeq) && Number.isSafeInteger(r.lastSeq) && r.firstSeq >= 1 && r.lastSeq >= r.firstSeq)) {
    throw new RangeError(`journal record seqs ${r.firstSeq}..${r.lastSeq} are not a valid range`);
  }
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + r.payload.length);
  out.writeUInt32BE(r.payload.length, 0);
  out.writeDoubleBE(r.firstSeq, 8);
  out.writeDoubleBE(r.lastSeq, 16);
  r.payload.copy(out, RECORD_HEADER_BYTES);
  out.writeUInt32BE(zlib.crc32(out.subarray(8)), 4);
  return out;
}

/** Where and why reading stopped before the end of the bytes. */
export interface TornRecord {
  /** Byte offset of the first record that is not whole and intact. */
  readonly offset: number;
  readonly reason: string;
}

export interface DecodedRecords {
  readonly records: JournalRecord[];
  /** Bytes holding whole, intact records (where a torn tail is cut off). */
  readonly validBytes: number;
  readonly torn: TornRecord | null;
}

/**
 * Reads records from the start of `buf` and stops at the first one that is
 * cut short, fails its CRC or has impossible seqs: everything before it is
 * returned, nothing after it (a crash mid-append leaves such a tail).
 * Payloads are subarrays of `buf`.
 */
export function decodeRecords(buf: Buffer): DecodedRecords {
  const records: JournalRecord[] = [];
  let pos = 0;
  const stop = (reason: string): DecodedRecords => ({ records, validBytes: pos, torn: { offset: pos, reason } });
  while (pos < buf.length) {
    if (buf.length - pos < RECORD_HEADER_BYTES) return stop(`${buf.length - pos} bytes, less than a record header`);
    const len = buf.readUInt32BE(pos);
    if (len > MAX_RECORD_PAYLOAD_BYTES) return stop(`payload length ${len} is over the limit`);
    const end = pos + RECORD_HEADER_BYTES + len;
    if (end > buf.length) return stop(`record of ${len} payload bytes cut short at ${buf.length - pos - RECORD_HEADER_BYTES}`);
    const crc = buf.readUInt32BE(pos + 4);
    if (zlib.crc32(buf.subarray(pos + 8, end)) !== crc) return stop('CRC mismatch');
    const firstSeq = buf.readDoubleBE(pos + 8);
    const lastSeq = buf.readDoubleBE(pos + 16);
    if (!(Number.isSafeInteger(firstSeq) && Number.isSafeInteger(lastSeq) && firstSeq >= 1 && lastSeq >= firstSeq)) {
      return stop(`impossible seqs ${firstSeq}..${lastSeq}`);
    }
    records.push({ firstSeq, lastSeq, payload: buf.subarray(pos + RECORD_HEADER_BYTES, end) });
    pos = end;
  }
  return { records, validBytes: pos, torn: null };
}
