/**
 * The node's key and value size limits (NodeConfig maxKeyBytes / maxValueBytes).
 * A write that would exceed one gets a clear error and writes nothing.
 */
import { error, type Reply } from '../resp/reply.js';
import type { NodeConfig } from '../config/schema.js';
import type { CommandSpec } from './types.js';

export function valueTooLarge(config: NodeConfig, length: number): Reply | null {
  return length > config.maxValueBytes
    ? error(`ERR value is too large: ${length} bytes exceeds the limit of ${config.maxValueBytes} bytes (maxValueBytes)`)
    : null;
}

export function keyTooLarge(config: NodeConfig, length: number): Reply | null {
  return length > config.maxKeyBytes
    ? error(`ERR key is too large: ${length} bytes exceeds the limit of ${config.maxKeyBytes} bytes (maxKeyBytes)`)
    : null;
}

/** Checks every key argument of a write command (key positions from the spec). */
export function checkKeySizes(config: NodeConfig, spec: CommandSpec, argv: readonly Buffer[]): Reply | null {
  if (spec.firstKey <= 0) return null;
  const last = spec.lastKey < 0 ? argv.length + spec.lastKey : spec.lastKey;
  const max = config.maxKeyBytes;
  for (let i = spec.firstKey; i <= last && i < argv.length; i += spec.step) {
    if (argv[i]!.length > max) return keyTooLarge(config, argv[i]!.length);
  }
  return null;
}

/**
 * Expiry times are kept as JavaScript numbers (Unix ms). Redis accepts any
 * int64; times beyond 2^53-1 ms (year 287396) are stored as 2^53-1 so they
 * stay exact integers. Documented in docs/compatibility.md.
 */
export const MAX_STORED_EXPIRY = Number.MAX_SAFE_INTEGER;

export function storedExpiry(ms: bigint): number {
  return ms > BigInt(MAX_STORED_EXPIRY) ? MAX_STORED_EXPIRY : Number(ms);
}
