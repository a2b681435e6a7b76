/** INCR, DECR, INCRBY, DECRBY (int64 with Redis's overflow errors) and INCRBYFLOAT (x87 long double). */
import { Errors, bulk, error, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { INT64_MAX, INT64_MIN, parseInt64, toNumberIfSafe } from './args.js';
import { addLongDouble, formatLongDouble, parseLongDouble, type LongDouble } from './longdouble.js';

/** incrDecrCommand: the key's value must itself be a valid int64; the TTL is kept. */
function incrBy(ctx: CommandContext, key: Buffer, incr: number | bigint): Reply {
  const ks = ctx.server.keyspace;
  const e = ks.get(key, ctx.now);
  let value: number | bigint = 0;
  if (e !== null) {
    const v = parseInt64(e.value);
    if (v === null) return Errors.notInteger();
    value = v;
  }
  let result: number | bigint;
  const fast = typeof value === 'number' && typeof incr === 'number' ? value + incr : NaN;
  if (Number.isSafeInteger(fast)) {
    result = fast;
  } else {
    const big = BigInt(value) + BigInt(incr);
    if (big > INT64_MAX || big < INT64_MIN) return Errors.overflow();
    result = toNumberIfSafe(big);
  }
  ks.set(key, Buffer.from(String(result), 'latin1'), e === null ? null : e.expiresAt);
  return integer(result);
}

function incrby(ctx: CommandContext, argv: Buffer[]): Reply {
  const incr = parseInt64(argv[2]!);
  if (incr === null) return Errors.notInteger();
  return incrBy(ctx, argv[1]!, incr);
}

function decrby(ctx: CommandContext, argv: Buffer[]): Reply {
  const decr = parseInt64(argv[2]!);
  if (decr === null) return Errors.notInteger();
  if (decr === INT64_MIN) return error('ERR decrement would overflow'); // -INT64_MIN does not fit
  return incrBy(ctx, argv[1]!, typeof decr === 'number' ? -decr : toNumberIfSafe(-decr));
}

const LD_ZERO: LongDouble = { kind: 'finite', neg: false, mant: 0n, exp: 0 };

function incrbyfloat(ctx: CommandContext, argv: Buffer[]): Reply {
  const ks = ctx.server.keyspace;
  const key = argv[1]!;
  const e = ks.get(key, ctx.now);
  let value = LD_ZERO;
  if (e !== null) {
    const v = parseLongDouble(e.value);
    if (v === null) return Errors.notFloat();
    value = v;
  }
  const incr = parseLongDouble(argv[2]!);
  if (incr === null) return Errors.notFloat();
  const sum = addLongDouble(value, incr);
  if (sum.kind !== 'finite') return error('ERR increment would produce NaN or Infinity');
  const text = formatLongDouble(sum);
  ks.set(key, Buffer.from(text, 'latin1'), e === null ? null : e.expiresAt);
  return bulk(text);
}

export const counterCommands: readonly CommandSpec[] = [
  defineCommand('incr', (ctx, argv) => incrBy(ctx, argv[1]!, 1)),
  defineCommand('decr', (ctx, argv) => incrBy(ctx, argv[1]!, -1)),
  defineCommand('incrby', incrby),
  defineCommand('decrby', decrby),
  defineCommand('incrbyfloat', incrbyfloat),
];
