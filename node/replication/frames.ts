/**
 * The cluster bus wire format: framing. The binary bodies of the
 * high-volume frames are in batch-codec.ts (log batches, acks) and
 * row-codec.ts (snapshot and repair rows); the JSON control messages are
 * validated in messages.ts. Pure: no I/O.
 *
 * A frame is [u32 BE length][u8 type][body], length = 1 + body length. All
 * integers are big-endian; sequence numbers, versions and times travel as
 * float64 (they are safe integers), and -1 stands for "no expiry".
 *
 * Decoded Buffers (frame bodies, keys, values) are subarrays of the input,
 * not copies: they keep the received chunk alive for as long as they are held,
 * and the caller must not modify the input afterwards.
 */
import { FrameError } from '../../common/frame-fields.js';

export { FrameError };

/** Body limit once a peer is authenticated: one value at its largest (maxValueBytes ≤ 512 MiB) plus its key and framing. */
export const MAX_FRAME_BYTES = 640 * 1024 * 1024;
/** Body limit for a connection's first frames (the auth handshake, Hello, Probe, MigrateBegin: small JSON), before the peer is trusted. */
export const HANDSHAKE_FRAME_BYTES = 1024 * 1024;

export enum FrameType {
  Hello = 1,
  Welcome = 2,
  Refuse = 3,
  Entries = 4,
  Ack = 5,
  SnapshotBegin = 6,
  SnapshotRows = 7,
  SnapshotEnd = 8,
  DigestRequest = 9,
  DigestReply = 10,
  SlotReset = 11,
  Probe = 12,
  ProbeReply = 13,
  Ping = 14,
  // Peer authentication (bus-auth.ts): the first frames of every connection.
  AuthHello = 15,
  AuthChallenge = 16,
  AuthProof = 17,
  AuthRefused = 18,
  // Live slot migration (node/migration/). First frames of a migration connection: Begin, Abort.
  MigrateBegin = 20,
  MigrateReady = 21,
  MigrateRows = 22,
  MigrateEntries = 23,
  MigrateAck = 24,
  MigrateFlip = 25,
  MigrateFlipped = 26,
  MigrateAbort = 27,
  MigrateOutcome = 28,
  MigrateError = 29,
  // Cluster-wide Pub/Sub (node/pubsub/bus-link.ts): PubSubOpen is the first frame of a connection, PubSubMessage the rest.
  PubSubOpen = 30,
  PubSubMessage = 31,
  // Change feed (node/changes/ownership-bus.ts): a replica asks its primary for its slot ownership journal.
  ChangesOwnershipRequest = 40,
  ChangesOwnershipReply = 41,
  // Tracing (node/tracing/replication-tracing.ts): sent only to replicas whose Hello set `trace`.
  TraceContext = 32,
}

const MAX_FRAME_TYPE = FrameType.AuthRefused;
const FIRST_MIGRATION_FRAME = FrameType.MigrateBegin;
const LAST_MIGRATION_FRAME = FrameType.MigrateError;
const FIRST_PUBSUB_FRAME = FrameType.PubSubOpen;
const LAST_PUBSUB_FRAME = FrameType.PubSubMessage;

function knownFrameType(type: number): boolean {
  return type === FrameType.ChangesOwnershipRequest || type === FrameType.ChangesOwnershipReply || (type >= 1 && type <= MAX_FRAME_TYPE) || (type >= FIRST_MIGRATION_FRAME && type <= LAST_MIGRATION_FRAME)
    || (type >= FIRST_PUBSUB_FRAME && type <= LAST_PUBSUB_FRAME) || type === FrameType.TraceContext;
}
/** [u32 length][u8 type]. */
export const HEADER_BYTES = 5;
/** The u32 length field counts the type byte too. */
const MAX_ENCODABLE_BODY = 0xffffffff - 1;

export interface Frame {
  readonly type: FrameType;
  readonly body: Buffer;
}


export function encodeFrame(type: FrameType, body: Buffer): Buffer {
  if (body.length > MAX_ENCODABLE_BODY) throw new RangeError(`frame body of ${body.length} bytes does not fit a u32 length`);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length + 1, 0);
  out.writeUInt8(type, 4);
  body.copy(out, HEADER_BYTES);
  return out;
}

export function encodeJsonFrame(type: FrameType, value: unknown): Buffer {
  return encodeFrame(type, Buffer.from(JSON.stringify(value), 'utf8'));
}

/**
 * Incremental frame reader over a byte stream. Chunks are kept in a list and
 * a frame's body is concatenated once, when it is complete, so a large frame
 * arriving in many small chunks costs linear time. A bad header throws as
 * soon as its 5 bytes are in, before any of the body is waited for; after
 * that the reader stays broken (every next() throws the same error).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private offset = 0;
  private total = 0;
  private broken: FrameError | null = null;
  /** Header of the frame being waited for (validated), or -1. */
  private pendingType = -1;
  private pendingBody = 0;

  constructor(private maxBodyBytes: number = MAX_FRAME_BYTES) {}

  /** Raises (or lowers) the limit for frames whose header has not been read yet. */
  setMaxBodyBytes(n: number): void {
    this.maxBodyBytes = n;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.total;
  }

  next(): Frame | null {
    if (this.broken !== null) throw this.broken;
    if (this.pendingType < 0) {
      if (this.total < HEADER_BYTES) return null;
      const h = this.peek(HEADER_BYTES);
      const length = h.readUInt32BE(0);
      const type = h[4]!;
      if (length === 0) return this.fail('frame length 0 (a frame holds at least its type byte)');
      if (!knownFrameType(type)) return this.fail(`unknown frame type ${type} (length ${length})`);
      if (length - 1 > this.maxBodyBytes) {
        return this.fail(`frame ${FrameType[type]} declares a ${length - 1}-byte body, over the ${this.maxBodyBytes}-byte limit`);
      }
      this.consume(HEADER_BYTES);
      this.pendingType = type;
      this.pendingBody = length - 1;
    }
    if (this.total < this.pendingBody) return null;
    const frame: Frame = { type: this.pendingType as FrameType, body: this.take(this.pendingBody) };
    this.pendingType = -1;
    return frame;
  }

  private fail(message: string): never {
    this.broken = new FrameError(message);
    this.chunks = [];
    this.total = 0;
    this.offset = 0;
    throw this.broken;
  }

  /** The first n buffered bytes without consuming them (n small: the header). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= n) return first.subarray(this.offset, this.offset + n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let off = this.offset;
    for (let i = 0; filled < n; i++) {
      const c = this.chunks[i]!;
      filled += c.copy(out, filled, off, Math.min(c.length, off + n - filled));
      off = 0;
    }
    return out;
  }

  private consume(n: number): void {
    this.take(n);
  }

  /** Removes and returns the first n buffered bytes (a subarray when they lie in one chunk). */
  private take(n: number): Buffer {
    this.total -= n;
    const first = this.chunks[0];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0;
    while (filled < n) {
      const c = this.chunks[used]!;
      const copied = c.copy(out, filled, this.offset, Math.min(c.length, this.offset + n - filled));
      filled += copied;
      if (this.offset + copied === c.length) {
        used++;
        this.offset = 0;
      } else {
        this.offset += copied;
      }
    }
    // One splice for all the chunks the frame used up: no per-chunk shifting.
    this.chunks.splice(0, used);
    return out;
  }
}
