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
    const notifier = ctx.server.keyspaceEvents;
    if (isWrite && notifier !== undefined && notifier.enabled) {
      return notifier.wrap(spec.name, argv, keyArgs(spec, argv), ctx.now, () => spec.handler!(ctx, argv));
    }
    return spec.handler!(ctx, argv);
  } catch (err) {
    ctx.server.onHandlerError?.(spec.name, err);
    return internalError(err);
  }
}

/** The key arguments of argv by the spec's first/last/step positions. */
function keyArgs(spec: CommandSpec, argv: readonly Buffer[]): Buffer[] {
  if (spec.firstKey <= 0) return [];
  const last = spec.lastKey < 0 ? argv.length + spec.lastKey : spec.lastKey;
  const keys: Buffer[] = [];
  for (let i = spec.firstKey; i <= last && i < argv.length; i += spec.step) keys.push(argv[i]!);
  return keys;
}

export function internalError(err: unknown): Reply {
  const msg = err instanceof Error ? err.message : String(err);
  return error(`ERR internal error: ${msg.replace(/[\r\n]+/g, ' ')}`);
}
