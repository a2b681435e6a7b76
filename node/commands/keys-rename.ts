/** TOUCH, RENAME, RENAMENX, COPY (Redis 7 db.c), written through the keyspace like SET and DEL. */
import { Errors, OK, ONE, ZERO, error, integer, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { optionName, parseInt64 } from './args.js';
import { serverMode } from './connection.js';
import { lookupRead } from './lookup.js';

/** A cluster-mode Redis still has `databases` (16) DBs; IrisDB standalone has DB 0 only (as `databases 1`). */
const CLUSTER_DB_COUNT = 16;

/** TOUCH: the number of keys that exist (IrisDB keeps no access time to update). */
function touch(ctx: CommandContext, argv: Buffer[]): Reply {
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (lookupRead(ctx, argv[i]!) !== null) n++;
  return integer(n);
}

/** renameGenericCommand: a missing source is an error even when the names are equal; the TTL moves with the value. */
function renameGeneric(ctx: CommandContext, argv: Buffer[], nx: boolean): Reply {
  const ks = ctx.server.keyspace;
  const src = argv[1]!;
  const dst = argv[2]!;
  const e = ks.get(src, ctx.now);
  if (e === null) return error('ERR no such key');
  if (src.equals(dst)) return nx ? ZERO : OK;
  if (nx && ks.get(dst, ctx.now) !== null) return ZERO;
  ks.set(dst, e.value, e.expiresAt);
  ks.delete(src, ctx.now);
  return nx ? ONE : OK;
}

/** copyCommand: options (REPLACE, DB n), the cluster-mode DB rule, then the copy with its TTL. */
function copy(ctx: CommandContext, argv: Buffer[]): Reply {
  const cluster = serverMode(ctx.server) === 'cluster';
  let replace = false;
  let dbid = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = optionName(argv[j]!);
    if (opt === 'replace') {
      replace = true;
    } else if (opt === 'db' && j < argv.length - 1) {
      const id = parseInt64(argv[j + 1]!);
      if (id === null) return Errors.notInteger();
      if (typeof id !== 'number' || id < 0 || id >= (cluster ? CLUSTER_DB_COUNT : 1)) return error('ERR DB index is out of range');
      dbid = id;
      j++;
    } else {
      return Errors.syntax();
    }
  }
  if (cluster && dbid !== 0) return error('ERR Copying to another database is not allowed in cluster mode');
  const src = argv[1]!;
  const dst = argv[2]!;
  if (src.equals(dst)) return error('ERR source and destination objects are the same');
  const ks = ctx.server.keyspace;
  const e = lookupRead(ctx, src);
  if (e === null) return ZERO;
  if (!replace && ks.get(dst, ctx.now) !== null) return ZERO;
  ks.set(dst, e.value, e.expiresAt);
  return ONE;
}

export const renameCommands: readonly CommandSpec[] = [
  defineCommand('touch', touch),
  defineCommand('rename', (ctx, argv) => renameGeneric(ctx, argv, false)),
  defineCommand('renamenx', (ctx, argv) => renameGeneric(ctx, argv, true)),
  defineCommand('copy', copy),
];
