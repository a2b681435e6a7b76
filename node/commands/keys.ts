/** Keyspace commands: DEL, UNLINK, EXISTS, TYPE, the EXPIRE/TTL family, PERSIST, SCAN, KEYS, DBSIZE, RANDOMKEY, FLUSHDB/FLUSHALL. */
import { NULL, OK, ONE, ZERO, Errors, array, bulk, error, integer, simple, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { ExpireFlag, expireAt, parseExpireFlags } from './options.js';
import { optionName, parseInt64, parseScanCursor } from './args.js';
import { compileGlob } from './glob.js';
import { storedExpiry } from './limits.js';
import { readableKeys } from '../acl/enforce.js';
import { lookupRead } from './lookup.js';

function del(ctx: CommandContext, argv: Buffer[]): Reply {
  const ks = ctx.server.keyspace;
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (ks.delete(argv[i]!, ctx.now)) n++;
  return integer(n);
}

function exists(ctx: CommandContext, argv: Buffer[]): Reply {
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (lookupRead(ctx, argv[i]!) !== null) n++;
  return integer(n);
}

const STRING_TYPE = simple('string');
const NONE_TYPE = simple('none');

function type(ctx: CommandContext, argv: Buffer[]): Reply {
  return lookupRead(ctx, argv[1]!) === null ? NONE_TYPE : STRING_TYPE;
}

/**
 * expireGenericCommand: flags first, then the time (negative allowed, int64
 * overflow refused), then the key; NX/XX/GT/LT compare with the current
 * expiry (none counts as infinite); a time not in the future deletes the key.
 */
function expireGeneric(ctx: CommandContext, argv: Buffer[], seconds: boolean, absolute: boolean, cmd: string): Reply {
  const flags = parseExpireFlags(argv);
  if (!flags.ok) return error(flags.error);
  const w = expireAt(argv[2]!, seconds, absolute ? 0 : ctx.now, cmd);
  if (!w.ok) return error(w.error);
  const when = w.value;
  const ks = ctx.server.keyspace;
  const key = argv[1]!;
  const e = ks.get(key, ctx.now);
  if (e === null) return ZERO;
  const f = flags.value;
  if (f !== 0) {
    const cur = e.expiresAt;
    if (f & ExpireFlag.NX && cur !== null) return ZERO;
    if (f & ExpireFlag.XX && cur === null) return ZERO;
    if (f & ExpireFlag.GT && (cur === null || when <= BigInt(cur))) return ZERO;
    if (f & ExpireFlag.LT && cur !== null && when >= BigInt(cur)) return ZERO;
  }
  if (when <= BigInt(ctx.now)) {
    ks.delete(key, ctx.now);
  } else {
    ks.setExpiry(key, storedExpiry(when), ctx.now);
  }
  return ONE;
}

/** ttlGenericCommand: -2 no key, -1 no expiry, else remaining (or absolute) time; seconds round to nearest. */
function ttlGeneric(ctx: CommandContext, argv: Buffer[], ms: boolean, abs: boolean): Reply {
  const e = lookupRead(ctx, argv[1]!);
  if (e === null) return integer(-2);
  if (e.expiresAt === null) return integer(-1);
  let ttl = abs ? e.expiresAt : e.expiresAt - ctx.now;
  if (ttl < 0) ttl = 0;
  return integer(ms ? ttl : Math.floor((ttl + 500) / 1000));
}

function persist(ctx: CommandContext, argv: Buffer[]): Reply {
  const ks = ctx.server.keyspace;
  const e = ks.get(argv[1]!, ctx.now);
  if (e === null || e.expiresAt === null) return ZERO;
  ks.setExpiry(argv[1]!, null, ctx.now);
  return ONE;
}

const NO_KEYS = (): boolean => false;

/** `match` narrowed to the keys the connection's ACL user may read (node/acl/enforce.ts). */
function withReadable(ctx: CommandContext, match: ((key: Uint8Array) => boolean) | undefined): ((key: Uint8Array) => boolean) | undefined {
  const readable = readableKeys(ctx.server, ctx.client);
  if (readable === null) return match;
  return match === undefined ? readable : (k) => readable(k) && match(k);
}

/** DBSIZE; a user limited to key patterns gets the count of the keys it may read (O(N), documented). */
function dbsize(ctx: CommandContext): Reply {
  const readable = readableKeys(ctx.server, ctx.client);
  if (readable === null) return integer(ctx.server.keyspace.size());
  let n = 0;
  let cursor = 0n;
  do {
    const page = ctx.server.keyspace.scan(cursor, 1000, ctx.now, readable);
    n += page.keys.length;
    cursor = page.cursor;
  } while (cursor !== 0n);
  return integer(n);
}

function scan(ctx: CommandContext, argv: Buffer[]): Reply {
  const cursor = parseScanCursor(argv[1]!);
  if (cursor === null) return error('ERR invalid cursor');
  let count = 10;
  let match: ((key: Uint8Array) => boolean) | undefined;
  let typeName: string | null = null;
  for (let i = 2; i < argv.length; i += 2) {
    const opt = optionName(argv[i]!);
    const more = argv.length - i >= 2;
    if (opt === 'count' && more) {
      const n = parseInt64(argv[i + 1]!);
      if (n === null) return Errors.notInteger();
      if (n < 1) return Errors.syntax();
      count = typeof n === 'bigint' ? Number.MAX_SAFE_INTEGER : n;
    } else if (opt === 'match' && more) {
      const pattern = argv[i + 1]!;
      match = pattern.length === 1 && pattern[0] === 0x2a ? undefined : compileGlob(pattern);
    } else if (opt === 'type' && more) {
      typeName = optionName(argv[i + 1]!);
    } else {
      return Errors.syntax();
    }
  }
  count = Math.min(count, ctx.server.config.maxScanLimit);
  // Every key here is a string: TYPE string keeps them all, any other type none.
  if (typeName !== null && typeName !== 'string') match = NO_KEYS;
  match = withReadable(ctx, match);
  const page = ctx.server.keyspace.scan(cursor, count, ctx.now, match);
  const keys: Reply[] = new Array(page.keys.length);
  for (let i = 0; i < page.keys.length; i++) keys[i] = bulk(page.keys[i]!);
  return array([bulk(page.cursor.toString()), array(keys)]);
}

/** KEYS walks the whole keyspace in pages (as Redis does, O(N)). */
function keys(ctx: CommandContext, argv: Buffer[]): Reply {
  const pattern = argv[1]!;
  const match = withReadable(ctx, pattern.length === 1 && pattern[0] === 0x2a ? undefined : compileGlob(pattern));
  const out: Reply[] = [];
  let cursor = 0n;
  do {
    const page = ctx.server.keyspace.scan(cursor, 1000, ctx.now, match);
    for (const k of page.keys) out.push(bulk(k));
    cursor = page.cursor;
  } while (cursor !== 0n);
  return array(out);
}

/**
 * A key picked at random from a page of the keyspace: cheap, but not
 * uniformly random over all keys (documented).
 */
function randomkey(ctx: CommandContext): Reply {
  const ks = ctx.server.keyspace;
  if (ks.size() === 0) return NULL;
  const readable = withReadable(ctx, undefined);
  let cursor = 0n;
  for (let pages = 0; pages < 16; pages++) {
    const page = ks.scan(cursor, 64, ctx.now, readable);
    if (page.keys.length > 0) return bulk(page.keys[Math.floor(Math.random() * page.keys.length)]!);
    cursor = page.cursor;
    if (cursor === 0n) break;
  }
  return NULL;
}

function flush(ctx: CommandContext, argv: Buffer[]): Reply {
  if (argv.length > 2) return Errors.syntax();
  if (argv.length === 2) {
    const opt = optionName(argv[1]!);
    if (opt !== 'sync' && opt !== 'async') return Errors.syntax();
  }
  ctx.server.keyspace.clear();
  return OK;
}

export const keyCommands: readonly CommandSpec[] = [
  defineCommand('del', del),
  defineCommand('unlink', del),
  defineCommand('exists', exists),
  defineCommand('type', type),
  defineCommand('expire', (ctx, argv) => expireGeneric(ctx, argv, true, false, 'expire')),
  defineCommand('pexpire', (ctx, argv) => expireGeneric(ctx, argv, false, false, 'pexpire')),
  defineCommand('expireat', (ctx, argv) => expireGeneric(ctx, argv, true, true, 'expireat')),
  defineCommand('pexpireat', (ctx, argv) => expireGeneric(ctx, argv, false, true, 'pexpireat')),
  defineCommand('ttl', (ctx, argv) => ttlGeneric(ctx, argv, false, false)),
  defineCommand('pttl', (ctx, argv) => ttlGeneric(ctx, argv, true, false)),
  defineCommand('expiretime', (ctx, argv) => ttlGeneric(ctx, argv, false, true)),
  defineCommand('pexpiretime', (ctx, argv) => ttlGeneric(ctx, argv, true, true)),
  defineCommand('persist', persist),
  defineCommand('scan', scan),
  defineCommand('keys', keys),
  defineCommand('dbsize', dbsize),
  defineCommand('randomkey', randomkey),
  defineCommand('flushdb', flush),
  defineCommand('flushall', flush),
];
