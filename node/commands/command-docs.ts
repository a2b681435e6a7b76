/** COMMAND, COMMAND COUNT/INFO/DOCS/LIST/GETKEYS/HELP, generated from the command table and its metadata. */
import { NULL, array, bulk, error, integer, map, set, simple, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec, CommandTable } from './types.js';
import { COMMAND_META, defineCommand } from './meta.js';
import { optionName } from './args.js';
import { compileGlob } from './glob.js';
import { helpReply } from './client.js';

/** Redis's ACL category order (the bit order COMMAND INFO lists them in). */
const ACL_ORDER = ['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap',
  'hyperloglog', 'geo', 'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous',
  'connection', 'transaction', 'scripting'];

/** Categories for a spec without Redis metadata (a command IrisDB adds itself). */
export function derivedAcl(spec: CommandSpec): string[] {
  const cats = new Set<string>();
  if (spec.flags.includes('write')) cats.add('write');
  if (spec.flags.includes('readonly')) cats.add('read');
  if (spec.flags.includes('admin')) { cats.add('admin'); cats.add('dangerous'); }
  cats.add(spec.flags.includes('fast') ? 'fast' : 'slow');
  return ACL_ORDER.filter((c) => cats.has(c));
}

function keySpecReply(fullname: string, spec: CommandSpec): Reply[] {
  const meta = COMMAND_META[fullname];
  if (meta !== undefined) {
    const k = meta.keySpec;
    if (k === null) return [];
    return [k, ...(meta.moreKeySpecs ?? [])].map((x) => keySpecMap(x.flags, x.index, x.lastkey, x.keystep, x.limit, x.notes));
  }
  if (spec.firstKey <= 0) return [];
  const last = spec.lastKey < 0 ? spec.lastKey : spec.lastKey - spec.firstKey;
  return [keySpecMap(spec.flags.includes('write') ? ['RW'] : ['RO'], spec.firstKey, last, spec.step, 0)];
}

function keySpecMap(
  flags: readonly string[], index: number, lastkey: number, keystep: number, limit: number, notes?: string,
): Reply {
  return map([
    ...(notes !== undefined ? [[bulk('notes'), bulk(notes)] as [Reply, Reply]] : []),
    [bulk('flags'), set(flags.map((f) => simple(f)))],
    [bulk('begin_search'), map([[bulk('type'), bulk('index')], [bulk('spec'), map([[bulk('index'), integer(index)]])]])],
    [bulk('find_keys'), map([[bulk('type'), bulk('range')], [bulk('spec'), map([
      [bulk('lastkey'), integer(lastkey)], [bulk('keystep'), integer(keystep)], [bulk('limit'), integer(limit)],
    ])]])],
  ]);
}

/** One COMMAND INFO entry: name, arity, flags, first/last/step, ACL categories, tips, key specs, subcommands. */
export function commandInfoReply(spec: CommandSpec, fullname: string): Reply {
  const meta = COMMAND_META[fullname];
  const acl = meta?.acl ?? derivedAcl(spec);
  return array([
    bulk(fullname),
    integer(spec.arity),
    set(spec.flags.map((f) => simple(f))),
    integer(spec.firstKey),
    integer(spec.lastKey),
    integer(spec.step),
    set(acl.map((c) => simple('@' + c))),
    set((meta?.tips ?? []).map((t) => bulk(t))),
    set(keySpecReply(fullname, spec)),
    set((spec.subcommands ?? []).map((s) => commandInfoReply(s, `${fullname}|${s.name}`))),
  ]);
}

function docsReply(spec: CommandSpec, fullname: string): Reply {
  const entries: Array<[Reply, Reply]> = [
    [bulk('summary'), bulk(spec.summary)],
    [bulk('since'), bulk(spec.since)],
    [bulk('group'), bulk(spec.group)],
  ];
  if (spec.complexity !== undefined) entries.push([bulk('complexity'), bulk(spec.complexity)]);
  if (spec.subcommands !== undefined && spec.subcommands.length > 0) {
    entries.push([bulk('subcommands'), map(spec.subcommands.map((s): [Reply, Reply] => {
      const name = `${fullname}|${s.name}`;
      return [bulk(name), docsReply(s, name)];
    }))]);
  }
  return map(entries);
}

/** "get", "GET" or "client|list" to its spec and full name. */
export function findCommand(table: CommandTable, name: string): { spec: CommandSpec; fullname: string } | null {
  const lower = name.toLowerCase();
  const bar = lower.indexOf('|');
  if (bar === -1) {
    const spec = table.lookup(lower);
    return spec === undefined ? null : { spec, fullname: lower };
  }
  const parent = table.lookup(lower.slice(0, bar));
  const sub = parent?.subcommands?.find((s) => s.name === lower.slice(bar + 1));
  return sub === undefined ? null : { spec: sub, fullname: lower };
}

function allFullnames(table: CommandTable): string[] {
  const out: string[] = [];
  for (const spec of table.all()) {
    out.push(spec.name);
    for (const s of spec.subcommands ?? []) out.push(`${spec.name}|${s.name}`);
  }
  return out;
}

function info(ctx: CommandContext, argv: Buffer[]): Reply {
  const table = ctx.server.commands;
  if (argv.length <= 2) return array(table.all().map((s) => commandInfoReply(s, s.name)));
  return array(argv.slice(2).map((a) => {
    const found = findCommand(table, a.toString('latin1'));
    return found === null ? NULL : commandInfoReply(found.spec, found.fullname);
  }));
}

function docs(ctx: CommandContext, argv: Buffer[]): Reply {
  const table = ctx.server.commands;
  const entries: Array<[Reply, Reply]> = [];
  if (argv.length <= 2) {
    for (const s of table.all()) entries.push([bulk(s.name), docsReply(s, s.name)]);
  } else {
    for (const a of argv.slice(2)) {
      const found = findCommand(table, a.toString('latin1'));
      if (found !== null) entries.push([bulk(found.fullname), docsReply(found.spec, found.fullname)]);
    }
  }
  return map(entries);
}

/** COMMAND LIST [FILTERBY PATTERN p | ACLCAT c | MODULE m]. */
function list(ctx: CommandContext, argv: Buffer[]): Reply {
  let names = allFullnames(ctx.server.commands);
  if (argv.length === 5 && optionName(argv[2]!) === 'filterby') {
    const kind = optionName(argv[3]!);
    if (kind === 'pattern') {
      const match = compileGlob(argv[4]!, true);
      names = names.filter((n) => match(Buffer.from(n, 'latin1')));
    } else if (kind === 'aclcat') {
      const cat = argv[4]!.toString('latin1').toLowerCase();
      names = names.filter((n) => {
        const found = findCommand(ctx.server.commands, n);
        return found !== null && (COMMAND_META[n]?.acl ?? derivedAcl(found.spec)).includes(cat);
      });
    } else if (kind === 'module') {
      names = [];
    } else {
      return error('ERR syntax error');
    }
  } else if (argv.length !== 2) {
    return error('ERR syntax error');
  }
  return array(names.map((n) => bulk(n)));
}

/** COMMAND GETKEYS cmd arg...: the key arguments as the command's key positions define them. */
function getkeys(ctx: CommandContext, argv: Buffer[]): Reply {
  const args = argv.slice(2);
  let spec = ctx.server.commands.lookup(args[0]!.toString('latin1').toLowerCase());
  if (spec?.subcommands !== undefined && args.length >= 2) {
    const subName = args[1]!.toString('latin1').toLowerCase();
    spec = spec.subcommands.find((s) => s.name === subName);
  }
  if (spec === undefined) return error('ERR Invalid command specified');
  if ((spec.arity > 0 && spec.arity !== args.length) || args.length < -spec.arity) {
    return error('ERR Invalid number of arguments specified for command');
  }
  if (spec.firstKey <= 0) return error('ERR The command has no key arguments');
  const last = spec.lastKey < 0 ? args.length + spec.lastKey : spec.lastKey;
  const keys: Reply[] = [];
  for (let i = spec.firstKey; i <= last && i < args.length; i += spec.step) keys.push(bulk(args[i]!));
  return array(keys);
}

const HELP = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all IrisDB commands.',
  'COUNT',
  '    Return the total number of commands in this server.',
  'LIST',
  '    Return a list of all commands in this server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full command.',
  'HELP',
  '    Prints this help.',
];

export const commandCommand: CommandSpec = defineCommand(
  'command',
  (ctx) => array(ctx.server.commands.all().map((s) => commandInfoReply(s, s.name))),
  [
    defineCommand('command|count', (ctx) => integer(ctx.server.commands.all().length)),
    defineCommand('command|info', info),
    defineCommand('command|docs', docs),
    defineCommand('command|list', list),
    defineCommand('command|getkeys', getkeys),
    defineCommand('command|help', () => helpReply(HELP)),
  ],
);
