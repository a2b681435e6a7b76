/** Server commands: INFO, CONFIG, COMMAND, TIME, WAIT. */
import { Errors, array, bulk, error, integer, verbatim, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
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
 * WAIT numreplicas timeout: there are no replicas yet, so the answer is 0 at
 * once (Redis would block until the timeout when numreplicas > 0).
 */
function wait(ctx: CommandContext, argv: Buffer[]): Reply {
  if (parseInt64(argv[1]!) === null) return Errors.notInteger();
  const timeout = parseInt64(argv[2]!);
  if (timeout === null) return error('ERR timeout is not an integer or out of range');
  if (timeout < 0) return error('ERR timeout is negative');
  return integer(0);
}

export const serverCommands: readonly CommandSpec[] = [
  defineCommand('info', info),
  defineCommand('time', time),
  defineCommand('wait', wait),
  configCommand,
  commandCommand,
];
