/**
 * OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT|HELP (Redis 7 object.c). IrisDB
 * stores every value as bytes, so the answers are what Redis reports for
 * the same value written by SET: `int` for a canonical 64-bit integer of at
 * most 20 characters, `embstr` up to 44 bytes, `raw` above; REFCOUNT is
 * 2147483647 for the integers 0..9999 Redis shares, else 1. The maxmemory
 * policy is never LFU, so FREQ answers Redis's error; IrisDB keeps no access
 * time, so IDLETIME answers 0 (docs/compatibility.md).
 */
import { NULL, ZERO, bulk, error, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { parseInt64 } from './args.js';
import { helpReply } from './client.js';
import { lookupRead } from './lookup.js';

/** OBJ_ENCODING_EMBSTR_SIZE_LIMIT */
const EMBSTR_LIMIT = 44;
/** OBJ_SHARED_INTEGERS */
const SHARED_INTEGERS = 10000;
/** OBJ_SHARED_REFCOUNT (INT_MAX) */
const SHARED_REFCOUNT = 2147483647;

/** tryObjectEncoding's result for a value written by SET. */
export function stringEncoding(value: Buffer): { encoding: 'int' | 'embstr' | 'raw'; shared: boolean } {
  if (value.length <= 20) {
    const v = parseInt64(value);
    if (v !== null) {
      return { encoding: 'int', shared: typeof v === 'number' && v >= 0 && v < SHARED_INTEGERS };
    }
  }
  return { encoding: value.length <= EMBSTR_LIMIT ? 'embstr' : 'raw', shared: false };
}

function lookup(ctx: CommandContext, argv: Buffer[]): Buffer | null {
  return lookupRead(ctx, argv[2]!)?.value ?? null;
}

const LFU_ERR = 'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when '
  + 'switching between policies at runtime LRU and LFU data will take some time to adjust.';

const HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
];

export const objectCommand: CommandSpec = defineCommand('object', undefined, [
  defineCommand('object|encoding', (ctx, argv) => {
    const v = lookup(ctx, argv);
    return v === null ? NULL : bulk(stringEncoding(v).encoding);
  }),
  defineCommand('object|freq', (ctx, argv) => (lookup(ctx, argv) === null ? NULL : error(LFU_ERR))),
  defineCommand('object|idletime', (ctx, argv): Reply => (lookup(ctx, argv) === null ? NULL : ZERO)),
  defineCommand('object|refcount', (ctx, argv) => {
    const v = lookup(ctx, argv);
    return v === null ? NULL : integer(stringEncoding(v).shared ? SHARED_REFCOUNT : 1);
  }),
  defineCommand('object|help', () => helpReply(HELP)),
]);
