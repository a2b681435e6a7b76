/**
 * What the binary frame bodies share: bounds-checked reads whose every
 * failure is a FrameError naming the field and the offset, and the wire
 * spelling of an expiry (-1: none). Pure: no I/O.
 */
import { FrameError } from '../../common/frame-fields.js';

/** An expiry on the wire: -1 for none (the engine only stores expiries in the future). */
export function wireExpiry(expiresAt: number | null): number {
  if (expiresAt === null) return -1;
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new RangeError(`expiry ${expiresAt} is not a non-negative integer`);
  return expiresAt;
}

/** Bounds-checked reads over a body; every failure names the field and offset. */
export class BodyCursor {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number, field: string): void {
    if (this.buf.length - this.pos < n) {
      throw new FrameError(`${this.what}: truncated at byte ${this.pos} reading ${field} (${n} bytes needed, ${this.buf.length - this.pos} left)`);
    }
  }
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(field: string): number {
    this.need(8, field);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A non-negative safe integer sent as f64. */
  count(field: string): number {
    const at = this.pos;
    const v = this.f64(field);
    if (!Number.isSafeInteger(v) || v < 0) throw new FrameError(`${this.what}: ${field} at byte ${at} is ${v}, not a non-negative integer`);
    return v;
  }
  expiry(field: string): number | null {
    const at = this.pos;
    const v = this.f64(field);
    if (v === -1) return null;
    if (!Number.isSafeInteger(v) || v < 0) throw new FrameError(`${this.what}: ${field} at byte ${at} is ${v}, not -1 or a non-negative integer`);
    return v;
  }
  bytes(field: string): Buffer {
    const len = this.u32(`${field} length`);
    this.need(len, field);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skipBytes(field: string): void {
    const len = this.u32(`${field} length`);
    this.need(len, field);
    this.pos += len;
  }
  /** A declared item count that cannot fit in what is left is rejected before looping over it. */
  itemCount(minItemBytes: number, field: string): number {
    const n = this.u32(field);
    if (n * minItemBytes > this.buf.length - this.pos) {
      throw new FrameError(`${this.what}: ${field} ${n} cannot fit in the ${this.buf.length - this.pos} bytes left`);
    }
    return n;
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new FrameError(`${this.what}: ${this.buf.length - this.pos} trailing bytes after byte ${this.pos}`);
  }
}
