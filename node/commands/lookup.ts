/**
 * Key lookups by read commands, counted as Redis 7's lookupKeyRead counts
 * them for INFO keyspace_hits/keyspace_misses: one per key a read looks up
 * (an expired key is a miss). Write-side lookups (INCR, APPEND, SET NX, the
 * write half of COPY, ...) and internal reads use keyspace.get directly and
 * are not counted, as Redis's lookupKeyWrite is not.
 */
import type { Entry } from '../engine/types.js';
import type { CommandContext } from './types.js';

export function lookupRead(ctx: CommandContext, key: Buffer): Entry | null {
  const e = ctx.server.keyspace.get(key, ctx.now);
  if (e === null) ctx.server.infoCounters.keyspaceMisses++;
  else ctx.server.infoCounters.keyspaceHits++;
  return e;
}
