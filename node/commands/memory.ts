/**
 * MEMORY USAGE and MEMORY HELP. IrisDB keeps keys in SQLite, not in RAM, so
 * MEMORY USAGE answers an estimate of the bytes the key takes in the
 * database file (estimateKeyBytes), not of allocator memory as Redis does.
 */
import { Errors, NULL, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { optionName, parseInt64Big } from './args.js';
import { helpReply } from './client.js';

/** Per-row bytes of a kv row besides key and value: record header, rowid, slot, flags, version, cell pointer. */
const ROW_OVERHEAD = 32;
/** Per-entry bytes of an index (kv_key, kv_slot, kv_expiry): record header, rowid, cell pointer. */
const INDEX_ENTRY_OVERHEAD = 16;
const EXPIRY_BYTES = 8;

/**
 * The key's footprint in the database: its row (key, value as stored
 * before compression, fixed columns) and its entries in the key, slot and
 * (when it has a TTL) expiry indexes. Page fill and the read cache are not
 * counted; a compressed value takes less than this.
 */
export function estimateKeyBytes(keyLength: number, valueLength: number, hasExpiry: boolean): number {
  const row = ROW_OVERHEAD + keyLength + valueLength + (hasExpiry ? EXPIRY_BYTES : 0);
  const indexes = (INDEX_ENTRY_OVERHEAD + keyLength) + INDEX_ENTRY_OVERHEAD + (hasExpiry ? INDEX_ENTRY_OVERHEAD + EXPIRY_BYTES : 0);
  return row + indexes;
}

/** memoryCommand USAGE: SAMPLES n is validated as Redis does (strings have nothing to sample). */
function usage(ctx: CommandContext, argv: Buffer[]): Reply {
  for (let j = 3; j < argv.length; j++) {
    if (optionName(argv[j]!) === 'samples' && j + 1 < argv.length) {
      const n = parseInt64Big(argv[j + 1]!);
      if (n === null) return Errors.notInteger();
      if (n < 0n) return Errors.syntax();
      j++;
    } else {
      return Errors.syntax();
    }
  }
  const key = argv[2]!;
  const e = ctx.server.keyspace.get(key, ctx.now);
  return e === null ? NULL : integer(estimateKeyBytes(key.length, e.value.length, e.expiresAt !== null));
}

const HELP = [
  'MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'USAGE <key> [SAMPLES <count>]',
  '    Return an estimate of the bytes <key> and its value take in the database',
  '    (SAMPLES is accepted for compatibility: string values have nothing to sample).',
  'HELP',
  '    Prints this help.',
];

export const memoryCommand: CommandSpec = defineCommand('memory', undefined, [
  defineCommand('memory|usage', usage),
  defineCommand('memory|help', () => helpReply(HELP)),
]);
