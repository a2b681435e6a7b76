/**
 * Running one command's handler after the dispatcher's checks: key size
 * limits for writes, and a thrown exception turned into an error reply (one
 * bad command never takes the connection or the process down).
 */
import { error, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandResult, CommandSpec } from './types.js';
import { checkKeySizes } from './limits.js';

export function runHandler(ctx: CommandContext, spec: CommandSpec, argv: Buffer[], isWrite: boolean): CommandResult {
  if (isWrite) {
    const tooLarge = checkKeySizes(ctx.server.config, spec, argv);
    if (tooLarge !== null) return tooLarge;
  }
  try {
    return spec.handler!(ctx, argv);
  } catch (err) {
    ctx.server.onHandlerError?.(spec.name, err);
    return internalError(err);
  }
}

export function internalError(err: unknown): Reply {
  const msg = err instanceof Error ? err.message : String(err);
  return error(`ERR internal error: ${msg.replace(/[\r\n]+/g, ' ')}`);
}
