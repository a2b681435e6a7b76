/** ACL CAT, LOG, DRYRUN, GENPASS and HELP with redis-server 7.0's replies. */
import { randomBytes } from 'node:crypto';
import { OK, array, bulk, double, error, integer, map, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { parseInt64 } from './args.js';
import { helpReply } from './client.js';
import { ACL_CATEGORIES } from '../acl/catalog.js';
import { checkCommand, dryrunMessage } from '../acl/check.js';
import type { AclStore } from '../acl/store.js';

const NO_ACL = error('ERR ACL is not available on this server');

function withAcl(fn: (ctx: CommandContext, acl: AclStore, argv: Buffer[]) => Reply): (ctx: CommandContext, argv: Buffer[]) => Reply {
  return (ctx, argv) => (ctx.server.acl === undefined ? NO_ACL : fn(ctx, ctx.server.acl, argv));
}

const cat = withAcl((_ctx, acl, argv) => {
  if (argv.length > 3) return error("ERR unknown subcommand or wrong number of arguments for 'cat'");
  if (argv.length === 2) return array(ACL_CATEGORIES.map((c) => bulk(c)));
  const name = argv[2]!.toString('utf8');
  const lower = name.toLowerCase();
  if (!ACL_CATEGORIES.includes(lower)) return error(`ERR Unknown category '${name}'`);
  return array(acl.catalog.all().filter((c) => c.categories.includes(lower)).map((c) => bulk(c.fullname)));
});

const log = withAcl((ctx, acl, argv) => {
  if (argv.length > 3) return error("ERR unknown subcommand or wrong number of arguments for 'log'");
  let count = 10;
  if (argv.length === 3) {
    if (argv[2]!.toString('latin1').toLowerCase() === 'reset') {
      acl.log.reset();
      return OK;
    }
    const n = parseInt64(argv[2]!);
    if (n === null || n < 0n) return error('ERR value is out of range, must be positive');
    count = Number(n > 1_000_000n ? 1_000_000n : n);
  }
  const now = ctx.server.now();
  return array(acl.log.list(count).map((e) => map([
    [bulk('count'), integer(e.count)],
    [bulk('reason'), bulk(e.reason)],
    [bulk('context'), bulk(e.context)],
    [bulk('object'), bulk(e.object)],
    [bulk('username'), bulk(e.username)],
    [bulk('age-seconds'), double((now - e.createdAt) / 1000)],
    [bulk('client-info'), bulk(e.clientInfo)],
  ])));
});

const dryrun = withAcl((ctx, acl, argv) => {
  const username = argv[2]!.toString('utf8');
  const user = acl.get(username);
  if (user === undefined) return error(`ERR User '${username}' not found`);
  const cmdArgv = argv.slice(3);
  const name = cmdArgv[0]!.toString('latin1').toLowerCase();
  const spec = ctx.server.commands.lookup(name);
  if (spec === undefined) return error(`ERR Command '${cmdArgv[0]!.toString('utf8')}' not found`);
  let fullname = name;
  let target = spec;
  if (spec.subcommands !== undefined && cmdArgv.length >= 2) {
    const sub = spec.subcommands.find((s) => s.name === cmdArgv[1]!.toString('latin1').toLowerCase());
    if (sub !== undefined) {
      target = sub;
      fullname = `${name}|${sub.name}`;
    }
  }
  if ((target.arity > 0 && cmdArgv.length !== target.arity) || cmdArgv.length < -target.arity) {
    return error(`ERR wrong number of arguments for '${fullname}' command`);
  }
  const entry = acl.catalog.get(fullname);
  if (entry === undefined || target.flags.includes('no_auth')) return OK;
  const denial = checkCommand(user, entry, cmdArgv, acl.matchers);
  return denial === null ? OK : bulk(dryrunMessage(denial));
});

const genpass = (_ctx: CommandContext, argv: Buffer[]): Reply => {
  let bits = 256;
  if (argv.length > 3) return error("ERR unknown subcommand or wrong number of arguments for 'genpass'");
  if (argv.length === 3) {
    const n = parseInt64(argv[2]!);
    if (n === null || n <= 0n || n > 4096n) return error('ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096');
    bits = Number(n);
  }
  const chars = Math.ceil(bits / 4);
  return bulk(randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
};

const HELP = [
  'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CAT [<category>]',
  '    List all commands that belong to <category>, or all command categories',
  '    when no category is specified.',
  'DELUSER <username> [<username> ...]',
  '    Delete a list of users.',
  'DRYRUN <username> <command> [<arg> ...]',
  '    Returns whether the user can execute the given command without executing the command.',
  'GETUSER <username>',
  "    Get the user's details.",
  'GENPASS [<bits>]',
  '    Generate a secure 256-bit user password. The optional `bits` argument can',
  '    be used to specify a different size.',
  'LIST',
  '    Show users details in config file format.',
  'LOAD',
  "    Reload users from the ACL file.",
  'LOG [<count> | RESET]',
  '    Show the ACL log entries.',
  'SAVE',
  '    Save the current config to the ACL file.',
  'SETUSER <username> <attribute> [<attribute> ...]',
  '    Create or modify a user with the specified attributes.',
  'USERS',
  '    List all the registered usernames.',
  'WHOAMI',
  '    Return the current connection username.',
  'HELP',
  '    Prints this help.',
];

export const aclInspectCommands: readonly CommandSpec[] = [
  defineCommand('acl|cat', cat),
  defineCommand('acl|log', log),
  defineCommand('acl|dryrun', dryrun),
  defineCommand('acl|genpass', genpass),
  defineCommand('acl|help', () => helpReply(HELP)),
];
