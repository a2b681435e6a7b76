/**
 * FUNCTION FLUSH, FUNCTION LIST and SCRIPT FLUSH (Redis 7 functions.c,
 * eval.c). IrisDB has no functions and no script cache, so a flush has
 * nothing to delete and answers OK, and the function list is empty; the
 * arguments are checked exactly as Redis checks them.
 */
import { EMPTY_ARRAY, OK, error, type Reply } from '../resp/reply.js';
import type { CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { cString, optionName } from './args.js';

function flushMode(argv: Buffer[]): boolean {
  return argv.length === 2 || (argv.length === 3 && ['sync', 'async'].includes(optionName(argv[2]!)));
}

function functionFlush(_ctx: unknown, argv: Buffer[]): Reply {
  if (argv.length > 3) {
    return error(`ERR unknown subcommand or wrong number of arguments for '${cString(argv[1]!, 128)}'. Try FUNCTION HELP.`);
  }
  return flushMode(argv) ? OK : error('ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
}

/** functionListCommand: WITHCODE and LIBRARYNAME pattern once each; the list is empty. */
function functionList(_ctx: unknown, argv: Buffer[]): Reply {
  let withCode = false;
  let libraryName = false;
  for (let i = 2; i < argv.length; i++) {
    const o = optionName(argv[i]!);
    if (!withCode && o === 'withcode') {
      withCode = true;
      continue;
    }
    if (!libraryName && o === 'libraryname') {
      if (i >= argv.length - 1) return error('ERR library name argument was not given');
      libraryName = true;
      i++;
      continue;
    }
    return error(`ERR Unknown argument ${cString(argv[i]!)}`);
  }
  return EMPTY_ARRAY;
}

function scriptFlush(_ctx: unknown, argv: Buffer[]): Reply {
  return flushMode(argv) ? OK : error('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
}

export const functionCommand: CommandSpec = defineCommand('function', undefined, [
  defineCommand('function|flush', functionFlush),
  defineCommand('function|list', functionList),
]);

export const scriptCommand: CommandSpec = defineCommand('script', undefined, [
  defineCommand('script|flush', scriptFlush),
]);
