/**
 * IRIS.CONSISTENCY [strong|default|eventual] (docs/consistency.md): the
 * connection's read level. `strong` makes every keyed read wait, after its
 * value is acknowledged, for the primary's confirmation that it still leads
 * its shard (node/cluster/read-confirmer.ts), or answer TRYAGAIN; `eventual`
 * is READONLY; `default` is neither. Without an argument: the current level.
 */
import { parseReadConsistency } from '../cluster/read-consistency.js';
import { OK, bulk, error, type Reply } from '../resp/reply.js';
import { defineCommand } from './meta.js';
import type { CommandSpec, ServerContext } from './types.js';

export const readConsistencyCommands: readonly CommandSpec[] = [
  defineCommand('iris.consistency', (ctx, argv) => {
    const c = ctx.client;
    if (argv.length === 1) return bulk(c.strongReads === true ? 'strong' : c.readonly_ ? 'eventual' : 'default');
    if (argv.length > 2) return error("ERR wrong number of arguments for 'iris.consistency' command");
    const level = parseReadConsistency(argv[1]!.toString('latin1'));
    if (level === null) return error('ERR consistency must be one of strong, default, eventual');
    c.strongReads = level === 'strong';
    c.readonly_ = level === 'eventual';
    return OK;
  }),
];

export const STRONG_READ_ERROR_PREFIX = 'TRYAGAIN strong read not confirmed';

/**
 * A strong read's reply: once its turn is released (the value is
 * acknowledged), a confirmation round that started after it must succeed;
 * otherwise TRYAGAIN (clients retry; the node may no longer be the primary).
 */
export function strongReadReply(server: ServerContext, confirm: () => Promise<void>, result: Reply | Promise<Reply>): Promise<Reply> {
  return Promise.resolve(result).then((reply) => new Promise<Reply>((resolve) => {
    if (reply.kind === 'error') {
      resolve(reply);
      return;
    }
    server.commits.afterCommit(() => {
      confirm().then(() => resolve(reply), (err: unknown) => {
        const why = err instanceof Error ? err.message.replace(/^strong read not confirmed: /, '') : String(err);
        resolve(error(`${STRONG_READ_ERROR_PREFIX}: ${why}`.replace(/[\r\n]+/g, ' ')));
      });
    });
  }));
}
