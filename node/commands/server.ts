/** Server commands: INFO, CONFIG, COMMAND, TIME, WAIT. */
import { Errors, array, bulk, error, integer, verbatim, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandResult, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { parseInt64 } from './args.js';
import { infoText } from './info.js';
import { configCommand } from './config.js';
import { commandCommand } from './command-docs.js';

function info(ctx: CommandContext, argv: Buffer[]): Reply {
  const args = argv.slice(1).map((a) => a.toString('latin1'));
  return verbatim(infoText(ctx.server, ctx.now, args));
}

function time(ctx: CommandContext): Reply {
  const seconds = Math.floor(ctx.now / 1000);
  return array([bulk(String(seconds)), bulk(String((ctx.now - seconds * 1000) * 1000))]);
}

/**
 * WAIT numreplicas timeout: blocks until `numreplicas` replicas have
 * acknowledged everything written so far, or the timeout (ms, 0 = forever);
 * replies with how many have. Without replication it answers 0 at once.
 */
function wait(ctx: CommandContext, argv: Buffer[]): CommandResult {
  const n = parseInt64(argv[1]!);
  if (n === null) return Errors.notInteger();
  const timeout = parseInt64(argv[2]!);
  if (timeout === null) return error('ERR timeout is not an integer or out of range');
  if (timeout < 0) return error('ERR timeout is negative');
  const repl = ctx.server.replication;
  if (repl === undefined) return integer(0);
  if (repl.role().role === 'replica') {
    return error('ERR WAIT cannot be used with replica instances. Please also note that writes to replicas are not propagated.');
  }
  if (ctx.client.multi !== null) return integer(0);
  return repl.waitForReplicas(Math.max(0, Number(n)), Number(timeout)).then((count) => integer(count));
}

export const serverCommands: readonly CommandSpec[] = [
  defineCommand('info', info),
  defineCommand('time', time),
  defineCommand('wait', wait),
  configCommand,
  commandCommand,
];
