/**
 * DUMP and RESTORE (Redis 7 cluster.c) for string values, with Redis's RDB
 * value encoding and CRC-64 (rdb-string.ts), so payloads move both ways
 * between redis-server and IrisDB. RESTORE writes through the keyspace like
 * SET (replication, routing, MULTI, WATCH all see an ordinary write);
 * IDLETIME and FREQ are validated as Redis does and otherwise ignored
 * (IrisDB keeps no access time or frequency per key). RESTORE-ASKING lets
 * a redis-server MIGRATE keys into IrisDB.
 */
import { Errors, NULL, OK, bulk, error, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { optionName, parseInt64Big } from './args.js';
import { storedExpiry, valueTooLarge } from './limits.js';
import { decodeDumpPayload, encodeDumpPayload } from './rdb-string.js';
import { lookupRead } from './lookup.js';

function dump(ctx: CommandContext, argv: Buffer[]): Reply {
  const e = lookupRead(ctx, argv[1]!);
  return e === null ? NULL : bulk(encodeDumpPayload(e.value));
}

interface RestoreOptions {
  replace: boolean;
  absttl: boolean;
}

/** restoreCommand's option loop: IDLETIME and FREQ exclude each other (the second is a syntax error). */
function parseRestoreOptions(argv: Buffer[]): RestoreOptions | Reply {
  const opts: RestoreOptions = { replace: false, absttl: false };
  let idle = false;
  let freq = false;
  for (let j = 4; j < argv.length; j++) {
    const more = argv.length - j - 1;
    const o = optionName(argv[j]!);
    if (o === 'replace') {
      opts.replace = true;
    } else if (o === 'absttl') {
      opts.absttl = true;
    } else if (o === 'idletime' && more >= 1 && !freq) {
      const v = parseInt64Big(argv[++j]!);
      if (v === null) return Errors.notInteger();
      if (v < 0n) return error('ERR Invalid IDLETIME value, must be >= 0');
      idle = true;
    } else if (o === 'freq' && more >= 1 && !idle) {
      const v = parseInt64Big(argv[++j]!);
      if (v === null) return Errors.notInteger();
      if (v < 0n || v > 255n) return error('ERR Invalid FREQ value, must be >= 0 and <= 255');
      freq = true;
    } else {
      return Errors.syntax();
    }
  }
  return opts;
}

function restore(ctx: CommandContext, argv: Buffer[]): Reply {
  const opts = parseRestoreOptions(argv);
  if (!('replace' in opts)) return opts;
  const ks = ctx.server.keyspace;
  const key = argv[1]!;
  if (!opts.replace && ks.get(key, ctx.now) !== null) return error('BUSYKEY Target key name already exists.');
  let ttl = parseInt64Big(argv[2]!);
  if (ttl === null) return Errors.notInteger();
  if (ttl < 0n) return error('ERR Invalid TTL value, must be >= 0');
  const decoded = decodeDumpPayload(argv[3]!, ctx.server.config.maxValueBytes);
  if (!decoded.ok) {
    switch (decoded.reason) {
      case 'version': return error('ERR DUMP payload version or checksum are wrong');
      case 'format': return error('ERR Bad data format');
      case 'tooLarge': return valueTooLarge(ctx.server.config, decoded.length)!;
      case 'type': return error(`ERR Bad data format: the payload holds a ${decoded.typeName} (RDB type ${decoded.rdbType}); IrisDB stores strings only`);
    }
  }
  if (opts.replace) ks.delete(key, ctx.now);
  if (ttl !== 0n && !opts.absttl) ttl += BigInt(ctx.now);
  // A TTL already in the past: the key is not created (REPLACE still deleted the old one).
  if (ttl !== 0n && ttl <= BigInt(ctx.now)) return OK;
  ks.set(key, decoded.value, ttl === 0n ? null : storedExpiry(ttl));
  return OK;
}

export const dumpCommands: readonly CommandSpec[] = [
  defineCommand('dump', dump),
  defineCommand('restore', restore),
  // What redis-server's MIGRATE sends in cluster mode; IrisDB never answers ASK, so it is RESTORE.
  defineCommand('restore-asking', restore),
];
