/**
 * Writes an RDB file of string keys, chunk by chunk, as Redis's rdbSave
 * does for them: "REDIS0009" (RDB version 9, which Redis 5.0 to 7.x all
 * load; strings are encoded the same in every later version), an aux
 * field, SELECTDB 0, then per key an optional EXPIRETIME_MS, type 0, key and
 * value (integer, LZF or plain encoding: node/commands/rdb-string.ts), and
 * EOF with the CRC-64 of the whole file. Pure: returns the bytes to write.
 */
import { crc64 } from '../../node/commands/crc64.js';
import { encodeLength, encodeRdbString } from '../../node/commands/rdb-string.js';

export const EXPORT_RDB_VERSION = 9;

export class RdbWriter {
  private crc = 0n;

  /** The header: magic, version, who wrote it, and database 0. */
  start(writer: string): Buffer {
    const aux = (k: string, v: string): Buffer => Buffer.concat([Buffer.from([0xfa]), encodeRdbString(Buffer.from(k)), encodeRdbString(Buffer.from(v))]);
    return this.out(Buffer.concat([
      Buffer.from(`REDIS${String(EXPORT_RDB_VERSION).padStart(4, '0')}`, 'latin1'),
      aux('irisdb-export', writer),
      Buffer.from([0xfe]), encodeLength(0),
    ]));
  }

  /** One string key; expiresAt: absolute Unix milliseconds or null. */
  key(key: Buffer, value: Buffer, expiresAt: number | null): Buffer {
    const parts: Buffer[] = [];
    if (expiresAt !== null) {
      const t = Buffer.alloc(9);
      t[0] = 0xfc;
      t.writeBigInt64LE(BigInt(Math.trunc(expiresAt)), 1);
      parts.push(t);
    }
    parts.push(Buffer.from([0]), Buffer.concat([encodeLength(key.length), key]), encodeRdbString(value));
    return this.out(Buffer.concat(parts));
  }

  /** EOF and the checksum of everything before it. */
  end(): Buffer {
    const eof = this.out(Buffer.from([0xff]));
    const sum = Buffer.alloc(8);
    sum.writeBigUInt64LE(this.crc, 0);
    return Buffer.concat([eof, sum]);
  }

  private out(b: Buffer): Buffer {
    this.crc = crc64(this.crc, b);
    return b;
  }
}
