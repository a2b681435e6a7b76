/**
 * Queueing a command inside MULTI, within maxMultiCommands and
 * maxMultiBytes. Redis has no such limit (its queue lives outside the query
 * buffer limit), so an unbounded MULTI could take all memory. Going over is
 * treated like any error while queueing: the transaction is marked aborted
 * (EXEC answers EXECABORT) and what was queued is dropped at once.
 */
import { QUEUED, error, type Reply } from '../resp/reply.js';
import type { ClientState, CommandSpec } from './types.js';
import type { NodeConfig } from '../config/schema.js';

export type MultiLimits = Pick<NodeConfig, 'maxMultiCommands' | 'maxMultiBytes'>;

function argvBytes(argv: readonly Buffer[]): number {
  let n = 0;
  for (const a of argv) n += a.length;
  return n;
}

/** Queues argv in the client's open MULTI (the caller checked there is one). */
export function queueCommand(client: ClientState, spec: CommandSpec, argv: Buffer[], limits: MultiLimits): Reply {
  const multi = client.multi!;
  // A transaction already doomed (error or touched WATCH) keeps answering
  // QUEUED but stores nothing, as Redis does; EXEC's slot check sees only what was stored.
  if (multi.aborted || client.watchDirty) return QUEUED;
  const bytes = multi.bytes + argvBytes(argv);
  let over: string | null = null;
  if (multi.queue.length + 1 > limits.maxMultiCommands) over = `more than maxMultiCommands (${limits.maxMultiCommands}) commands`;
  else if (bytes > limits.maxMultiBytes) over = `more than maxMultiBytes (${limits.maxMultiBytes}) bytes of arguments`;
  if (over !== null) {
    multi.aborted = true;
    multi.queue.length = 0;
    multi.bytes = 0;
    return error(`ERR MULTI queue limit reached: ${over} queued; the transaction will be discarded`);
  }
  multi.queue.push({ spec, argv });
  multi.bytes = bytes;
  return QUEUED;
}
