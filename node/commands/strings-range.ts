/**
 * GETRANGE, SUBSTR and SETRANGE (Redis 7 t_string.c). The offset arithmetic
 * is pure (rangeBounds, overwrite) and unit-tested against a model; the
 * handlers only parse, check limits and write through the keyspace like SET.
 */
import { Errors, ZERO, bulk, error, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { parseInt64Big } from './args.js';
import { valueTooLarge } from './limits.js';
import { lookupRead } from './lookup.js';

const EMPTY = bulk(Buffer.alloc(0));

/**
 * getrangeCommand's index rules: negative indexes count from the end, both
 * are clamped into the string; null when the range is empty. Bigint so that
 * ±2^63 arguments cannot lose precision.
 */
export function rangeBounds(length: number, start: bigint, end: bigint): { start: number; end: number } | null {
  const len = BigInt(length);
  if (start < 0n && end < 0n && start > end) return null;
  if (start < 0n) start += len;
  if (end < 0n) end += len;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= len) end = len - 1n;
  if (start > end || length === 0) return null;
  return { start: Number(start), end: Number(end) };
}

/** SETRANGE's new value: `old` zero-padded to `offset`, then `patch` written there (the rest of `old` kept). */
export function overwrite(old: Buffer, offset: number, patch: Buffer): Buffer {
  const total = Math.max(old.length, offset + patch.length);
  const out = Buffer.alloc(total); // zero-filled, as sdsgrowzero
  old.copy(out, 0);
  patch.copy(out, offset);
  return out;
}

/** Redis's checkStringLength: IrisDB's proto-max-bulk-len is maxBulkBytes; then the node's maxValueBytes. */
function stringTooLong(ctx: CommandContext, total: bigint): Reply | null {
  if (total > BigInt(ctx.server.config.maxBulkBytes)) {
    return error('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
  }
  return valueTooLarge(ctx.server.config, Number(total));
}

function getrange(ctx: CommandContext, argv: Buffer[]): Reply {
  const start = parseInt64Big(argv[2]!);
  if (start === null) return Errors.notInteger();
  const end = parseInt64Big(argv[3]!);
  if (end === null) return Errors.notInteger();
  const e = lookupRead(ctx, argv[1]!);
  if (e === null) return EMPTY;
  const r = rangeBounds(e.value.length, start, end);
  return r === null ? EMPTY : bulk(e.value.subarray(r.start, r.end + 1));
}

/** setrangeCommand: an empty value never creates or changes a key; the TTL is kept. */
function setrange(ctx: CommandContext, argv: Buffer[]): Reply {
  const offset = parseInt64Big(argv[2]!);
  if (offset === null) return Errors.notInteger();
  if (offset < 0n) return error('ERR offset is out of range');
  const patch = argv[3]!;
  const ks = ctx.server.keyspace;
  const key = argv[1]!;
  const e = ks.get(key, ctx.now);
  if (patch.length === 0) return e === null ? ZERO : integer(e.value.length);
  const tooLong = stringTooLong(ctx, offset + BigInt(patch.length));
  if (tooLong !== null) return tooLong;
  const value = overwrite(e === null ? Buffer.alloc(0) : e.value, Number(offset), patch);
  ks.set(key, value, e === null ? null : e.expiresAt);
  return integer(value.length);
}

export const rangeCommands: readonly CommandSpec[] = [
  defineCommand('getrange', getrange),
  defineCommand('substr', getrange),
  defineCommand('setrange', setrange),
];
