/**
 * Replication log batches at rest: with a keyring, a batch body is stored
 * as MAGIC + sealed bytes (bound to the batch's first sequence) and opened
 * again when read. The magic cannot start a plain batch: its first four
 * bytes would be an entry count of over four billion. Batches in memory and
 * on the bus stay plain (the bus has TLS). Pure apart from node:crypto.
 */
import type { Keyring } from './keyring.js';
import { openWith, sealedKeyId } from './keyring.js';

const MAGIC = Buffer.from([0xff, 0x49, 0x52, 0x45]); // 0xFF "IRE"

function binding(firstSeq: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleBE(firstSeq, 0);
  return b;
}

export function isSealedLogBody(stored: Buffer): boolean {
  return stored.length > MAGIC.length && stored.subarray(0, MAGIC.length).equals(MAGIC);
}

export function sealLogBody(keyring: Keyring, body: Buffer, firstSeq: number): Buffer {
  return Buffer.concat([MAGIC, keyring.seal(body, 'log', binding(firstSeq))]);
}

/** The plain batch of a stored body (plain bodies, written without a keyring, pass through). */
export function openLogBody(keyring: Keyring | null, stored: Buffer, firstSeq: number): Buffer {
  if (!isSealedLogBody(stored)) return stored;
  return openWith(keyring, stored.subarray(MAGIC.length), 'log', binding(firstSeq), `replication log batch ${firstSeq}`);
}

/** The key id a stored body is sealed with, or null for a plain one. */
export function logBodyKeyId(stored: Buffer, firstSeq: number): string | null {
  return isSealedLogBody(stored) ? sealedKeyId(stored.subarray(MAGIC.length), `replication log batch ${firstSeq}`) : null;
}
