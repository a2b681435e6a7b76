/** Connection commands: PING, ECHO, AUTH, HELLO, SELECT, QUIT, RESET (CLIENT is in client.ts). */
import { Errors, OK, array, bulk, error, integer, map, simple, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec, ClientState, ServerContext } from './types.js';
import { defineCommand } from './meta.js';
import { cString, optionName, parseInt64 } from './args.js';
import { sanitize } from './options.js';
import { clientCommand, validateClientName } from './client.js';
import { discardTransaction } from './transaction-state.js';
import { passwordMatches } from '../server/password.js';
import { logAuthFailure } from '../acl/enforce.js';

/** The Redis version IrisDB answers as (HELLO, INFO redis_version): the release its behaviour matches. */
export const REDIS_COMPAT_VERSION = '7.0.15';

const PONG = simple('PONG');
const WRONGPASS = error('WRONGPASS invalid username-password pair or user is disabled.');

function ping(ctx: CommandContext, argv: Buffer[]): Reply {
  if (argv.length > 2) return Errors.wrongArity('ping');
  // RESP2 subscribed mode answers a multi-bulk, as Redis does.
  if (ctx.client.protocol === 2 && ctx.server.pubsub?.isSubscribed(ctx.client) === true) {
    return array([bulk('pong'), bulk(argv.length === 1 ? '' : argv[1]!)]);
  }
  return argv.length === 1 ? PONG : bulk(argv[1]!);
}

/**
 * Authenticates the connection as `user` on success. With ACLs (the node's
 * store) any enabled user with a matching password (or nopass); a failure is
 * logged in ACL LOG. Without (unit-test contexts): only "default", with
 * requirePass as its password (none = any password works).
 */
function checkCredentials(ctx: CommandContext, user: Buffer, pass: Buffer): boolean {
  const acl = ctx.server.acl;
  if (acl !== undefined) {
    const name = user.toString('utf8');
    const found = acl.authenticate(name, pass);
    if (found === null) {
      logAuthFailure(ctx.server, acl, ctx.client, name);
      return false;
    }
    ctx.client.aclUser = found.name;
    return true;
  }
  if (user.length !== 7 || user.toString('latin1') !== 'default') return false;
  const required = ctx.server.config.requirePass;
  if (required === '') return true;
  return passwordMatches(required, pass);
}

/** Whether "default" needs a password (AUTH <password> needs one; HELLO without AUTH does not). */
function defaultNeedsPassword(server: ServerContext): boolean {
  return server.acl !== undefined ? !server.acl.defaultOpen() : server.config.requirePass !== '';
}

function auth(ctx: CommandContext, argv: Buffer[]): Reply {
  if (argv.length > 3) return Errors.syntax();
  let user: Buffer;
  let pass: Buffer;
  if (argv.length === 2) {
    if (ctx.server.acl !== undefined ? ctx.server.acl.get('default')?.nopass === true : ctx.server.config.requirePass === '') {
      return error('ERR AUTH <password> called without any password configured for the default user. '
        + 'Are you sure your configuration is correct?');
    }
    user = DEFAULT_USER;
    pass = argv[1]!;
  } else {
    user = argv[1]!;
    pass = argv[2]!;
  }
  if (!checkCredentials(ctx, user, pass)) return WRONGPASS;
  ctx.client.authenticated = true;
  return OK;
}

const DEFAULT_USER = Buffer.from('default');

function hello(ctx: CommandContext, argv: Buffer[]): Reply {
  let ver = 0;
  let next = 1;
  if (argv.length >= 2) {
    const v = parseInt64(argv[next++]!);
    if (v === null) return error('ERR Protocol version is not an integer or out of range');
    if (v < 2 || v > 3) return error('NOPROTO unsupported protocol version');
    ver = Number(v);
  }
  let user: Buffer | null = null;
  let pass: Buffer | null = null;
  let name: Buffer | null = null;
  for (let j = next; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    const opt = optionName(argv[j]!);
    if (opt === 'auth' && more >= 2) {
      user = argv[j + 1]!;
      pass = argv[j + 2]!;
      j += 2;
    } else if (opt === 'setname' && more >= 1) {
      name = argv[j + 1]!;
      const err = validateClientName(name);
      if (err !== null) return err;
      j++;
    } else {
      return error(`ERR Syntax error in HELLO option '${sanitize(cString(argv[j]!))}'`);
    }
  }
  const client = ctx.client;
  if (user !== null && pass !== null) {
    if (!checkCredentials(ctx, user, pass)) return WRONGPASS;
    client.authenticated = true;
  }
  if (defaultNeedsPassword(ctx.server) && !client.authenticated) {
    return error('NOAUTH HELLO must be called with the client already authenticated, otherwise the '
      + 'HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP '
      + 'protocol version at the same time');
  }
  if (name !== null) client.name = name.toString('latin1');
  if (ver !== 0) client.protocol = ver as 2 | 3;
  return helloReply(ctx.server, client);
}

function helloReply(server: ServerContext, client: ClientState): Reply {
  return map([
    [bulk('server'), bulk('redis')],
    [bulk('version'), bulk(REDIS_COMPAT_VERSION)],
    [bulk('proto'), integer(client.protocol)],
    [bulk('id'), integer(client.id)],
    [bulk('mode'), bulk(serverMode(server))],
    [bulk('role'), bulk(server.replication?.role().role === 'replica' ? 'replica' : 'master')],
    [bulk('modules'), array([])],
  ]);
}

/**
 * HELLO's "mode" and INFO's redis_mode: "cluster" once a cluster map is
 * installed, or from the start on a --cluster-enabled member; before that a
 * standalone node owning every slot answers "standalone", so plain
 * (non-cluster) clients keep working against a single node.
 */
export function serverMode(server: ServerContext): 'standalone' | 'cluster' {
  return server.cluster?.map != null || server.cluster?.clusterEnabled === true ? 'cluster' : 'standalone';
}

/** SELECT: the index must be an int (32-bit); only database 0 exists. */
function select(ctx: CommandContext, argv: Buffer[]): Reply {
  const id = parseInt64(argv[1]!);
  if (id === null) return Errors.notInteger();
  if (id > 2147483647 || id < -2147483648) {
    return error('ERR value is out of range, value must between -2147483648 and 2147483647');
  }
  return id === 0 ? OK : error('ERR DB index is out of range');
}

function quit(ctx: CommandContext): Reply {
  ctx.client.closeAfterReply = true;
  return OK;
}

/** RESET: back to a fresh connection's state (clearClientConnectionState). */
function reset(ctx: CommandContext): Reply {
  const c = ctx.client;
  discardTransaction(c, ctx.server.watches);
  ctx.server.pubsub?.removeSubscriber(c);
  c.protocol = 2;
  c.name = '';
  c.readonly_ = false;
  c.asking = false;
  c.authenticated = !defaultNeedsPassword(ctx.server);
  c.aclUser = undefined;
  return simple('RESET');
}

export const connectionCommands: readonly CommandSpec[] = [
  defineCommand('ping', ping),
  defineCommand('echo', (ctx, argv) => bulk(argv[1]!)),
  defineCommand('auth', auth),
  defineCommand('hello', hello),
  defineCommand('select', select),
  defineCommand('quit', quit),
  defineCommand('reset', reset),
  clientCommand,
];
