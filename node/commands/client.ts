/** CLIENT ID/INFO/LIST/KILL/GETNAME/SETNAME/HELP, with Redis's CLIENT LIST line format. */
import { Errors, NULL, OK, array, bulk, error, integer, simple, verbatim, type Reply } from '../resp/reply.js';
import type { ClientState, CommandContext, CommandSpec, ServerContext } from './types.js';
import { defineCommand } from './meta.js';
import { cString, optionName, parseInt64 } from './args.js';
import { sanitize } from './options.js';

const BAD_NAME = error('ERR Client names cannot contain spaces, newlines or special characters.');

/** Names must be printable ASCII without spaces so CLIENT LIST stays splittable; null if valid. */
export function validateClientName(name: Uint8Array): Reply | null {
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c < 0x21 || c > 0x7e) return BAD_NAME;
  }
  return null;
}

/** The flags field of CLIENT LIST, in Redis's letter order. */
/** A client's Pub/Sub counts (absent: no Pub/Sub in this context). */
type PubSubView = Pick<ServerContext, 'pubsub'>;

function clientFlags(c: ClientState, ps: PubSubView): string {
  let f = '';
  if (ps.pubsub?.isSubscribed(c) === true) f += 'P';
  if (c.multi !== null) f += 'x';
  if (c.watchDirty) f += 'd';
  if (c.closeAfterReply) f += 'c';
  if (c.readonly_) f += 'r';
  return f === '' ? 'N' : f;
}

/**
 * One CLIENT LIST / CLIENT INFO line. Fields IrisDB has no equivalent for
 * (fd, buffer sizes) are filled with comparable numbers so parsers keep
 * working; `argvBytes` is the current command's size for the calling client.
 */
export function clientInfoLine(c: ClientState, now: number, argvBytes = 0, ps: PubSubView = {}): string {
  const nowSec = Math.floor(now / 1000);
  const reg = ps.pubsub?.registry;
  const qbuf = c.queryBufferBytes();
  const omem = c.outputBytes();
  return `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${c.id} name=${c.name}`
    + ` age=${Math.max(0, nowSec - Math.floor(c.createdAt / 1000))}`
    + ` idle=${Math.max(0, nowSec - Math.floor(c.lastInteractionAt / 1000))}`
    + ` flags=${clientFlags(c, ps)} db=0 sub=${reg?.namesOf('channel', c).length ?? 0} psub=${reg?.namesOf('pattern', c).length ?? 0}`
    + ` ssub=${reg?.shardSubscriptionCount(c) ?? 0} multi=${c.multi === null ? -1 : c.multi.queue.length}`
    + ` qbuf=${qbuf} qbuf-free=0 argv-mem=${argvBytes} multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=${omem}`
    + ` tot-mem=${qbuf + omem + argvBytes} events=r cmd=${c.lastCommand === '' ? 'NULL' : c.lastCommand}`
    + ` user=${c.aclUser ?? 'default'} redir=-1 resp=${c.protocol}\n`;
}

function argvBytes(argv: Buffer[]): number {
  let n = 0;
  for (const a of argv) n += a.length;
  return n;
}

const CLIENT_TYPES = new Set(['normal', 'slave', 'replica', 'master', 'pubsub']);

function list(ctx: CommandContext, argv: Buffer[]): Reply {
  const { server, client, now } = ctx;
  const line = (c: ClientState): string => clientInfoLine(c, now, c === client ? argvBytes(argv) : 0, server);
  const isPubSub = (c: ClientState): boolean => server.pubsub?.isSubscribed(c) === true;
  let out = '';
  if (argv.length === 4 && optionName(argv[2]!) === 'type') {
    const t = optionName(argv[3]!);
    if (!CLIENT_TYPES.has(t)) return error(`ERR Unknown client type '${sanitize(cString(argv[3]!))}'`);
    if (t === 'normal' || t === 'pubsub') for (const c of server.clients.list()) if (isPubSub(c) === (t === 'pubsub')) out += line(c);
  } else if (argv.length > 3 && optionName(argv[2]!) === 'id') {
    for (let j = 3; j < argv.length; j++) {
      const id = parseInt64(argv[j]!);
      if (id === null) return error('ERR Invalid client ID');
      const c = typeof id === 'number' ? server.clients.get(id) : undefined;
      if (c !== undefined) out += line(c);
    }
  } else if (argv.length !== 2) {
    return Errors.syntax();
  } else {
    for (const c of server.clients.list()) out += line(c);
  }
  return verbatim(out);
}

/** CLIENT KILL addr (old form: +OK or an error) or CLIENT KILL <filter> <value> ... (count). */
function kill(ctx: CommandContext, argv: Buffer[]): Reply {
  let addr: string | null = null;
  let laddr: string | null = null;
  let user: string | null = null;
  let id = 0;
  let skipme = true;
  let typeFilter: string | null = null;
  if (argv.length === 3) {
    addr = argv[2]!.toString('latin1');
    skipme = false; // the old form may kill the calling connection
  } else {
    for (let i = 2; i < argv.length; i += 2) {
      const opt = optionName(argv[i]!);
      const more = argv.length > i + 1;
      if (!more) return Errors.syntax();
      const val = argv[i + 1]!;
      if (opt === 'id') {
        const n = parseInt64(val);
        if (n === null || n < 1) return error('ERR client-id should be greater than 0');
        id = Number(n);
      } else if (opt === 'type') {
        typeFilter = optionName(val);
        if (!CLIENT_TYPES.has(typeFilter)) return error(`ERR Unknown client type '${sanitize(cString(val))}'`);
      } else if (opt === 'addr') {
        addr = val.toString('latin1');
      } else if (opt === 'laddr') {
        laddr = val.toString('latin1');
      } else if (opt === 'user') {
        const name = val.toString('utf8');
        const known = ctx.server.acl !== undefined ? ctx.server.acl.get(name) !== undefined : name === 'default';
        if (!known) return error(`ERR No such user '${sanitize(cString(val))}'`);
        user = name;
      } else if (opt === 'skipme') {
        const v = optionName(val);
        if (v === 'yes') skipme = true;
        else if (v === 'no') skipme = false;
        else return Errors.syntax();
      } else {
        return Errors.syntax();
      }
    }
  }
  let killed = 0;
  for (const c of ctx.server.clients.list()) {
    if (addr !== null && c.addr !== addr) continue;
    if (laddr !== null && c.laddr !== laddr) continue;
    if (typeFilter !== null && typeFilter !== (ctx.server.pubsub?.isSubscribed(c) === true ? 'pubsub' : 'normal')) continue;
    if (id !== 0 && c.id !== id) continue;
    if (user !== null && (c.aclUser ?? 'default') !== user) continue;
    if (c === ctx.client && skipme) continue;
    if (c === ctx.client) c.closeAfterReply = true; // after this reply is sent
    else c.kill();
    killed++;
  }
  if (argv.length === 3) return killed === 0 ? error('ERR No such client') : OK;
  return integer(killed);
}

function setname(ctx: CommandContext, argv: Buffer[]): Reply {
  const err = validateClientName(argv[2]!);
  if (err !== null) return err;
  ctx.client.name = argv[2]!.toString('latin1');
  return OK;
}

const HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'HELP',
  '    Prints this help.',
];

export function helpReply(lines: readonly string[]): Reply {
  return array(lines.map((l) => simple(l)));
}

export const clientCommand: CommandSpec = defineCommand('client', undefined, [
  defineCommand('client|id', (ctx) => integer(ctx.client.id)),
  defineCommand('client|info', (ctx, argv) => verbatim(clientInfoLine(ctx.client, ctx.now, argvBytes(argv), ctx.server))),
  defineCommand('client|list', list),
  defineCommand('client|kill', kill),
  defineCommand('client|getname', (ctx) => (ctx.client.name === '' ? NULL : bulk(ctx.client.name))),
  defineCommand('client|setname', setname),
  defineCommand('client|help', () => helpReply(HELP)),
]);
