/** String commands: GET, SET and its variants, GETEX, GETDEL, APPEND, STRLEN, MGET, MSET, MSETNX. */
import { Errors, NULL, OK, ONE, ZERO, array, bulk, bulkOrNull, error, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { SetFlag, absoluteExpiry, parseStringOptions } from './options.js';
import { storedExpiry, valueTooLarge } from './limits.js';
import { counterCommands } from './counters.js';
import { lookupRead } from './lookup.js';

function get(ctx: CommandContext, argv: Buffer[]): Reply {
  const e = lookupRead(ctx, argv[1]!);
  return e === null ? NULL : bulk(e.value);
}

/**
 * Redis's setGenericCommand: validate the expiry, answer GET's old value,
 * honour NX/XX (abortReply when they refuse), then write; KEEPTTL keeps the
 * old expiry, anything else replaces it.
 */
function setGeneric(
  ctx: CommandContext, key: Buffer, value: Buffer, flags: number, expireArg: Buffer | null,
  cmd: string, okReply: Reply, abortReply: Reply,
): Reply {
  let expiresAt: number | null = null;
  if (expireArg !== null) {
    const r = absoluteExpiry(expireArg, flags, ctx.now, cmd);
    if (!r.ok) return error(r.error);
    expiresAt = storedExpiry(r.value);
  }
  const tooLarge = valueTooLarge(ctx.server.config, value.length);
  if (tooLarge !== null) return tooLarge;
  const ks = ctx.server.keyspace;
  const withGet = (flags & SetFlag.GET) !== 0;
  // Only GET's lookup is a read (Redis: getGenericCommand); NX/XX/KEEPTTL look up for the write.
  const old = withGet ? lookupRead(ctx, key)
    : flags & (SetFlag.NX | SetFlag.XX | SetFlag.KEEPTTL) ? ks.get(key, ctx.now) : null;
  if ((flags & SetFlag.NX && old !== null) || (flags & SetFlag.XX && old === null)) {
    return withGet ? bulkOrNull(old?.value) : abortReply;
  }
  ks.set(key, value, flags & SetFlag.KEEPTTL ? (old?.expiresAt ?? null) : expiresAt);
  return withGet ? bulkOrNull(old?.value) : okReply;
}

function set(ctx: CommandContext, argv: Buffer[]): Reply {
  if (argv.length === 3) return setGeneric(ctx, argv[1]!, argv[2]!, 0, null, 'set', OK, NULL);
  const parsed = parseStringOptions(argv, false);
  if (!parsed.ok) return error(parsed.error);
  return setGeneric(ctx, argv[1]!, argv[2]!, parsed.value.flags, parsed.value.expire, 'set', OK, NULL);
}

function getex(ctx: CommandContext, argv: Buffer[]): Reply {
  const parsed = parseStringOptions(argv, true);
  if (!parsed.ok) return error(parsed.error);
  const { flags, expire } = parsed.value;
  const ks = ctx.server.keyspace;
  const key = argv[1]!;
  const e = lookupRead(ctx, key);
  if (e === null) return NULL;
  let ms = 0n;
  if (expire !== null) {
    const r = absoluteExpiry(expire, flags, ctx.now, 'getex');
    if (!r.ok) return error(r.error);
    ms = r.value;
  }
  if (flags & (SetFlag.EXAT | SetFlag.PXAT) && ms <= BigInt(ctx.now)) {
    ks.delete(key, ctx.now); // an absolute time already past deletes the key
  } else if (expire !== null) {
    ks.setExpiry(key, storedExpiry(ms), ctx.now);
  } else if (flags & SetFlag.PERSIST && e.expiresAt !== null) {
    ks.setExpiry(key, null, ctx.now);
  }
  return bulk(e.value);
}

function getset(ctx: CommandContext, argv: Buffer[]): Reply {
  const tooLarge = valueTooLarge(ctx.server.config, argv[2]!.length);
  if (tooLarge !== null) return tooLarge;
  const ks = ctx.server.keyspace;
  const old = lookupRead(ctx, argv[1]!);
  ks.set(argv[1]!, argv[2]!, null);
  return bulkOrNull(old?.value);
}

function getdel(ctx: CommandContext, argv: Buffer[]): Reply {
  const ks = ctx.server.keyspace;
  const old = lookupRead(ctx, argv[1]!);
  if (old === null) return NULL;
  ks.delete(argv[1]!, ctx.now);
  return bulk(old.value);
}

function append(ctx: CommandContext, argv: Buffer[]): Reply {
  const ks = ctx.server.keyspace;
  const key = argv[1]!;
  const add = argv[2]!;
  const e = ks.get(key, ctx.now);
  const total = (e === null ? 0 : e.value.length) + add.length;
  const tooLarge = valueTooLarge(ctx.server.config, total);
  if (tooLarge !== null) return tooLarge;
  if (e === null) {
    ks.set(key, add, null);
  } else if (add.length > 0) {
    ks.set(key, Buffer.concat([e.value, add], total), e.expiresAt); // APPEND keeps the TTL
  }
  return integer(total);
}

function strlen(ctx: CommandContext, argv: Buffer[]): Reply {
  const e = lookupRead(ctx, argv[1]!);
  return integer(e === null ? 0 : e.value.length);
}

function mget(ctx: CommandContext, argv: Buffer[]): Reply {
  const items: Reply[] = new Array(argv.length - 1);
  for (let i = 1; i < argv.length; i++) {
    const e = lookupRead(ctx, argv[i]!);
    items[i - 1] = e === null ? NULL : bulk(e.value);
  }
  return array(items);
}

function msetGeneric(ctx: CommandContext, argv: Buffer[], nx: boolean): Reply {
  if (argv.length % 2 === 0) return Errors.wrongArity(nx ? 'msetnx' : 'mset');
  const ks = ctx.server.keyspace;
  for (let j = 2; j < argv.length; j += 2) {
    const tooLarge = valueTooLarge(ctx.server.config, argv[j]!.length);
    if (tooLarge !== null) return tooLarge;
  }
  if (nx) {
    for (let j = 1; j < argv.length; j += 2) if (ks.get(argv[j]!, ctx.now) !== null) return ZERO;
  }
  for (let j = 1; j < argv.length; j += 2) ks.set(argv[j]!, argv[j + 1]!, null);
  return nx ? ONE : OK;
}

export const stringCommands: readonly CommandSpec[] = [
  defineCommand('get', get),
  defineCommand('set', set),
  defineCommand('setnx', (ctx, argv) => setGeneric(ctx, argv[1]!, argv[2]!, SetFlag.NX, null, 'setnx', ONE, ZERO)),
  defineCommand('setex', (ctx, argv) => setGeneric(ctx, argv[1]!, argv[3]!, SetFlag.EX, argv[2]!, 'setex', OK, NULL)),
  defineCommand('psetex', (ctx, argv) => setGeneric(ctx, argv[1]!, argv[3]!, SetFlag.PX, argv[2]!, 'psetex', OK, NULL)),
  defineCommand('getset', getset),
  defineCommand('getdel', getdel),
  defineCommand('getex', getex),
  defineCommand('append', append),
  defineCommand('strlen', strlen),
  defineCommand('mget', mget),
  defineCommand('mset', (ctx, argv) => msetGeneric(ctx, argv, false)),
  defineCommand('msetnx', (ctx, argv) => msetGeneric(ctx, argv, true)),
  ...counterCommands,
];
