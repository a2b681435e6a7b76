/**
 * BITFIELD and BITFIELD_RO (Redis 7 bitops.c bitfieldGeneric): the
 * subcommands are parsed first (any error answers before anything runs),
 * then run in order on one copy of the value, written back through the
 * keyspace like SETBIT (TTL kept). As in Redis, a BITFIELD with a SET or
 * INCRBY creates or zero-pads the key even when OVERFLOW FAIL refuses every
 * write, and a value left as it was is not written (WATCH does not fire).
 * The arithmetic is in bitfield-ops.ts.
 */
import { Errors, NULL, array, error, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { optionName, parseInt64, parseInt64Big } from './args.js';
import { valueTooLarge } from './limits.js';
import { runFieldOp, type FieldOp, type FieldType, type Overflow } from './bitfield-ops.js';
import { lookupRead } from './lookup.js';

const TYPE_ERR = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';
const OFFSET_ERR = 'ERR bit offset is not an integer or out of range';

/** getBitfieldTypeFromArgument: 'i' or 'u' (lower case only), then the width read as a C string. */
export function parseFieldType(arg: Buffer): FieldType | null {
  const signed = arg[0] === 0x69; // 'i'
  if (!signed && arg[0] !== 0x75) return null; // 'u'
  let end = arg.indexOf(0, 1);
  if (end === -1) end = arg.length;
  const bits = parseInt64(arg.subarray(1, end));
  if (typeof bits !== 'number' || bits < 1 || bits > (signed ? 64 : 63)) return null;
  return { signed, bits };
}

/**
 * getBitOffsetFromArgument with hash: "#n" means n * bits (wrapping as
 * int64, like the C multiplication); the offset in bytes must be below
 * proto-max-bulk-len (IrisDB: maxBulkBytes).
 */
export function parseFieldOffset(arg: Buffer, bits: number, maxBulkBytes: number): number | null {
  const hash = arg[0] === 0x23; // '#'
  let v = parseInt64Big(hash ? arg.subarray(1) : arg);
  if (v === null) return null;
  if (hash) v = BigInt.asIntN(64, v * BigInt(bits));
  if (v < 0n || (v >> 3n) >= BigInt(maxBulkBytes)) return null;
  return Number(v);
}

type Parsed = { ops: FieldOp[]; writes: boolean; highestBit: number } | Reply;

function parseOps(ctx: CommandContext, argv: Buffer[]): Parsed {
  const ops: FieldOp[] = [];
  let overflow: Overflow = 'wrap';
  let writes = false;
  let highestBit = -1;
  for (let j = 2; j < argv.length; j++) {
    const remaining = argv.length - j - 1;
    const sub = optionName(argv[j]!);
    let kind: FieldOp['kind'];
    if (sub === 'get' && remaining >= 2) kind = 'get';
    else if (sub === 'set' && remaining >= 3) kind = 'set';
    else if (sub === 'incrby' && remaining >= 3) kind = 'incrby';
    else if (sub === 'overflow' && remaining >= 1) {
      const o = optionName(argv[++j]!);
      if (o !== 'wrap' && o !== 'sat' && o !== 'fail') return error('ERR Invalid OVERFLOW type specified');
      overflow = o;
      continue;
    } else {
      return Errors.syntax();
    }
    const type = parseFieldType(argv[j + 1]!);
    if (type === null) return error(TYPE_ERR);
    const offset = parseFieldOffset(argv[j + 2]!, type.bits, ctx.server.config.maxBulkBytes);
    if (offset === null) return error(OFFSET_ERR);
    if (kind === 'get') {
      ops.push({ kind, type, offset });
      j += 2;
      continue;
    }
    writes = true;
    highestBit = Math.max(highestBit, offset + type.bits - 1);
    const arg = parseInt64Big(argv[j + 3]!);
    if (arg === null) return Errors.notInteger();
    ops.push({ kind, type, offset, arg, overflow });
    j += 3;
  }
  return { ops, writes, highestBit };
}

function bitfieldGeneric(ctx: CommandContext, argv: Buffer[], readOnlyCommand: boolean): Reply {
  const parsed = parseOps(ctx, argv);
  if (!('ops' in parsed)) return parsed;
  const ks = ctx.server.keyspace;
  const key = argv[1]!;
  // Only GETs: a read lookup (Redis: lookupKeyRead); any write looks up for the write.
  const e = parsed.writes ? ks.get(key, ctx.now) : lookupRead(ctx, key);
  let value = e === null ? Buffer.alloc(0) : e.value;
  // Redis's lookupStringForBitCommand dirty flag: the key is created or zero-padded.
  let changed = false;
  if (parsed.writes) {
    if (readOnlyCommand) return error('ERR BITFIELD_RO only supports the GET subcommand');
    const needed = Math.floor(parsed.highestBit / 8) + 1;
    if (needed > value.length) {
      const tooLarge = valueTooLarge(ctx.server.config, needed);
      if (tooLarge !== null) return tooLarge;
    }
    changed = e === null || needed > value.length;
    const grown = Buffer.alloc(Math.max(value.length, needed));
    value.copy(grown, 0);
    value = grown;
  }
  const replies = parsed.ops.map((op) => {
    const r = runFieldOp(value, op);
    if (r.changed) changed = true;
    return r.reply === null ? NULL : integer(r.reply);
  });
  // Only a real change is written (and seen by WATCH and replicas), as Redis signals only then.
  if (changed) ks.set(key, value, e === null ? null : e.expiresAt);
  return array(replies);
}

export const bitfieldCommands: readonly CommandSpec[] = [
  defineCommand('bitfield', (ctx, argv) => bitfieldGeneric(ctx, argv, false)),
  defineCommand('bitfield_ro', (ctx, argv) => bitfieldGeneric(ctx, argv, true)),
];
