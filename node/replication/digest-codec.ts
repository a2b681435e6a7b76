/**
 * The body of a DigestReply frame (anti-entropy, issue #16). Two formats,
 * told apart by the first byte:
 *
 * - format 1, JSON (`{"id","seq","slots":[{slot,count,hash}]}`): what every
 *   replica sent before format 2, and what a replica still sends to a primary
 *   whose DigestRequest does not ask for a later format (an older primary);
 * - format 2, binary: [u8 2][f64 id][f64 seq][u32 n] then n entries of
 *   [u16 slot][f64 count][u32 hash high][u32 hash low], slots strictly
 *   ascending, non-empty slots only. Encoding and decoding are flat loops
 *   over the typed arrays of a SlotDigestTable: no JSON text, no object per
 *   slot (JSON cost 6-10 ms to encode and 12-24 ms to parse and check for
 *   16,384 slots, one event-loop turn each).
 *
 * A primary asks for the highest format it reads (DigestRequest `format`);
 * a replica answers min(asked, highest it writes), so every pairing of old
 * and new nodes agrees on a format. Pure: no I/O.
 */
import { FrameError } from '../../common/frame-fields.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { digestsFromTable, emptyDigestTable, tableFromDigests, type SlotDigestTable } from './digest.js';
import { parseDigestReply } from './messages.js';

/** The JSON reply every version reads. */
export const DIGEST_FORMAT_JSON = 1;
/** The binary reply (this file). */
export const DIGEST_FORMAT_BINARY = 2;
/** The highest format this node reads and writes. */
export const DIGEST_FORMAT_LATEST = DIGEST_FORMAT_BINARY;

const HEADER_BYTES = 1 + 8 + 8 + 4;
const ENTRY_BYTES = 2 + 8 + 4 + 4;
/** A JSON body starts with '{'. */
const JSON_FIRST_BYTE = 0x7b;

export interface DigestReplyTable {
  readonly id: number;
  readonly seq: number;
  readonly table: SlotDigestTable;
}

/** The format a replica answers a request in: the one asked for, or an older one if this node does not know it. */
export function replyFormat(asked: number): number {
  return Math.min(Math.max(asked, DIGEST_FORMAT_JSON), DIGEST_FORMAT_LATEST);
}

/** A DigestReply body in `format`. */
export function encodeDigestReply(format: number, id: number, seq: number, t: SlotDigestTable): Buffer {
  if (format === DIGEST_FORMAT_JSON) {
    // Built from the table only for an older primary: digestsFromTable's objects are its format.
    return Buffer.from(JSON.stringify({ id, seq, slots: digestsFromTable(t) }), 'utf8');
  }
  if (format !== DIGEST_FORMAT_BINARY) throw new RangeError(`digest reply format ${format} is not one this node writes (1..${DIGEST_FORMAT_LATEST})`);
  let n = 0;
  for (let slot = 0; slot < SLOT_COUNT; slot++) if (t.counts[slot]! > 0) n++;
  const out = Buffer.allocUnsafe(HEADER_BYTES + n * ENTRY_BYTES);
  out[0] = DIGEST_FORMAT_BINARY;
  out.writeDoubleBE(id, 1);
  out.writeDoubleBE(seq, 9);
  out.writeUInt32BE(n, 17);
  let p = HEADER_BYTES;
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const count = t.counts[slot]!;
    if (count === 0) continue;
    out.writeUInt16BE(slot, p);
    out.writeDoubleBE(count, p + 2);
    out.writeUInt32BE(t.his[slot]!, p + 10);
    out.writeUInt32BE(t.los[slot]!, p + 14);
    p += ENTRY_BYTES;
  }
  return out;
}

/** Any DigestReply body this node reads (format 1 or 2); malformed input throws FrameError naming what is wrong. */
export function decodeDigestReply(body: Buffer): DigestReplyTable {
  if (body.length === 0) throw new FrameError('DigestReply: empty body');
  const first = body[0]!;
  if (first === JSON_FIRST_BYTE) {
    const msg = parseDigestReply(body);
    return { id: msg.id, seq: msg.seq, table: tableFromDigests(msg.slots) };
  }
  if (first !== DIGEST_FORMAT_BINARY) {
    throw new FrameError(`DigestReply: format ${first} is not one this node reads (1: JSON, 2: binary)`);
  }
  if (body.length < HEADER_BYTES) throw new FrameError(`DigestReply: ${body.length}-byte binary body is shorter than its ${HEADER_BYTES}-byte header`);
  const id = safeCount(body.readDoubleBE(1), 'id');
  const seq = safeCount(body.readDoubleBE(9), 'seq');
  const n = body.readUInt32BE(17);
  if (n > SLOT_COUNT) throw new FrameError(`DigestReply: ${n} slot entries, more than the ${SLOT_COUNT} slots`);
  if (body.length !== HEADER_BYTES + n * ENTRY_BYTES) {
    throw new FrameError(`DigestReply: ${n} slot entries need ${HEADER_BYTES + n * ENTRY_BYTES} bytes, the body has ${body.length}`);
  }
  const table = emptyDigestTable();
  let prev = -1;
  for (let i = 0, p = HEADER_BYTES; i < n; i++, p += ENTRY_BYTES) {
    const slot = body.readUInt16BE(p);
    if (slot >= SLOT_COUNT || slot <= prev) throw new FrameError(`DigestReply: entry ${i} has slot ${slot}, not ascending after ${prev} and below ${SLOT_COUNT}`);
    const count = body.readDoubleBE(p + 2);
    if (!Number.isSafeInteger(count) || count <= 0) throw new FrameError(`DigestReply: entry ${i} (slot ${slot}) has count ${count}, not a positive integer`);
    table.counts[slot] = count;
    table.his[slot] = body.readUInt32BE(p + 10);
    table.los[slot] = body.readUInt32BE(p + 14);
    prev = slot;
  }
  return { id, seq, table };
}

function safeCount(v: number, field: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new FrameError(`DigestReply: ${field} is ${v}, not a non-negative integer`);
  return v;
}
