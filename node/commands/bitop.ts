/**
 * BITOP AND|OR|XOR|NOT destkey key... (Redis 7 bitops.c): missing sources
 * are empty strings, shorter ones are zero-padded, the result replaces the
 * destination without a TTL; an all-empty result deletes the destination.
 */
import { Errors, ZERO, error, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { optionName } from './args.js';
import { lookupRead } from './lookup.js';

export type BitOp = 'and' | 'or' | 'xor' | 'not';

/** The result of `op` over `srcs` (pure; each source zero-padded to the longest). */
export function bitop(op: BitOp, srcs: readonly Buffer[]): Buffer {
  const maxlen = srcs.reduce((m, s) => Math.max(m, s.length), 0);
  const out = Buffer.alloc(maxlen);
  for (let j = 0; j < maxlen; j++) {
    let v = j < srcs[0]!.length ? srcs[0]![j]! : 0;
    if (op === 'not') v = ~v & 0xff;
    for (let i = 1; i < srcs.length; i++) {
      const b = j < srcs[i]!.length ? srcs[i]![j]! : 0;
      v = op === 'and' ? v & b : op === 'or' ? v | b : v ^ b;
    }
    out[j] = v;
  }
  return out;
}

function bitopCommand(ctx: CommandContext, argv: Buffer[]): Reply {
  const name = optionName(argv[1]!);
  if (name !== 'and' && name !== 'or' && name !== 'xor' && name !== 'not') return Errors.syntax();
  if (name === 'not' && argv.length !== 4) return error('ERR BITOP NOT must be called with a single source key.');
  const ks = ctx.server.keyspace;
  const srcs = argv.slice(3).map((k) => lookupRead(ctx, k)?.value ?? Buffer.alloc(0));
  const result = bitop(name, srcs);
  const dest = argv[2]!;
  if (result.length === 0) {
    ks.delete(dest, ctx.now);
    return ZERO;
  }
  ks.set(dest, result, null);
  return integer(result.length);
}

export const bitopCommands: readonly CommandSpec[] = [defineCommand('bitop', bitopCommand)];
