/**
 * MULTI, EXEC, DISCARD, WATCH, UNWATCH. Queueing happens in the dispatcher;
 * EXEC runs the queue synchronously inside keyspace.atomically(), so the
 * transaction's writes land in one SQLite transaction (atomic and durable
 * together) and no other client's command can run in between.
 */
import { NULL_ARRAY, OK, array, error, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandResult, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { discardTransaction, unwatchAll } from './transaction-state.js';
import { internalError, runHandler } from './invoke.js';
import { enforceQueued } from '../acl/enforce.js';
import { strongReadReply } from './read-consistency-command.js';

const EXECABORT = error('EXECABORT Transaction discarded because of previous errors.');

function multi(ctx: CommandContext): Reply {
  if (ctx.client.multi !== null) return error('ERR MULTI calls can not be nested');
  ctx.client.multi = { queue: [], bytes: 0, aborted: false };
  return OK;
}

function discard(ctx: CommandContext): Reply {
  if (ctx.client.multi === null) return error('ERR DISCARD without MULTI');
  discardTransaction(ctx.client, ctx.server.watches);
  return OK;
}

function watch(ctx: CommandContext, argv: Buffer[]): Reply {
  if (ctx.client.multi !== null) return error('ERR WATCH inside MULTI is not allowed');
  const registry = ctx.server.watches;
  for (let i = 1; i < argv.length; i++) {
    const e = ctx.server.keyspace.get(argv[i]!, ctx.now);
    registry.watch(ctx.client, argv[i]!, e === null ? null : e.expiresAt);
  }
  return OK;
}

function unwatch(ctx: CommandContext): Reply {
  unwatchAll(ctx.client, ctx.server.watches);
  return OK;
}

function exec(ctx: CommandContext): CommandResult {
  const client = ctx.client;
  const state = client.multi;
  if (state === null) return error('ERR EXEC without MULTI');
  const registry = ctx.server.watches;
  // A watched key that has expired since WATCH counts as modified (Redis 7).
  if (!client.watchDirty && registry.expiredSinceWatch(client, ctx.now)) client.watchDirty = true;
  const aborted = state.aborted;
  const dirty = client.watchDirty;
  discardTransaction(client, registry);
  if (aborted) return EXECABORT;
  if (dirty) return NULL_ARRAY;
  const results: CommandResult[] = new Array(state.queue.length);
  let async = false;
  try {
    ctx.server.keyspace.atomically(() => {
      for (let i = 0; i < state.queue.length; i++) {
        const q = state.queue[i]!;
        const denied = enforceQueued(ctx.server, client, q.spec, q.argv);
        const r = denied !== null ? error(denied) : runHandler(ctx, q.spec, q.argv, q.spec.flags.includes('write'));
        if (r instanceof Promise) async = true;
        results[i] = r;
      }
    });
  } catch (err) {
    return internalError(err); // every write of the transaction was rolled back
  }
  const reply = !async ? array(results as Reply[]) : Promise.all(results.map((r) => Promise.resolve(r).catch(internalError))).then(array);
  // IRIS.CONSISTENCY strong: a transaction that read keys is answered only once one confirmation round, started after
  // it ran, shows this node still leads its shard (as for a single strong read); otherwise the whole EXEC is TRYAGAIN.
  const confirm = ctx.server.confirmStrongRead;
  if (client.strongReads === true && confirm !== undefined && state.queue.some((q) => q.spec.firstKey > 0 && !q.spec.flags.includes('write'))) {
    return strongReadReply(ctx.server, confirm, reply);
  }
  return reply;
}

export const transactionCommands: readonly CommandSpec[] = [
  defineCommand('multi', multi),
  defineCommand('exec', exec),
  defineCommand('discard', discard),
  defineCommand('watch', watch),
  defineCommand('unwatch', unwatch),
];
