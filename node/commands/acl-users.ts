/**
 * ACL SETUSER, GETUSER, DELUSER, LIST, USERS, SAVE, LOAD with redis-server
 * 7.0's replies. In cluster mode the users come from the aclfile every node
 * reads (node/acl/file-io.ts), so SETUSER/DELUSER are refused there with a
 * message saying so, instead of changing one node only.
 */
import { OK, array, bulk, error, integer, map, type Reply } from '../resp/reply.js';
import type { CommandContext, CommandSpec, ServerContext } from './types.js';
import { defineCommand } from './meta.js';
import { serverMode } from './connection.js';
import { AclRuleError, userFlags, describeCommands, describeKeys, describeUser, type AclUser } from '../acl/user.js';
import { channelAllowed, type PatternMatchers } from '../acl/check.js';
import { AclError, type AclStore } from '../acl/store.js';
import { AclFileError } from '../acl/aclfile.js';

export const CLUSTER_ACL_REFUSED = 'ERR IrisDB cluster: users are managed in the aclfile every node reads (--aclfile); '
  + 'edit that file (every node reloads it within aclfileCheckMs) instead of ACL SETUSER/DELUSER on one node';

const NO_ACL = error('ERR ACL is not available on this server');

/** Disconnects the clients authenticated as one of `names` (Redis does so for deleted and reloaded users). */
export function disconnectUsers(server: ServerContext, names: readonly string[], self?: CommandContext['client']): void {
  if (names.length === 0) return;
  const gone = new Set(names);
  for (const c of server.clients.list()) {
    if (!c.authenticated || !gone.has(c.aclUser ?? 'default')) continue;
    if (c === self) c.closeAfterReply = true;
    else c.kill();
  }
}

function withAcl(fn: (ctx: CommandContext, acl: AclStore, argv: Buffer[]) => Reply): (ctx: CommandContext, argv: Buffer[]) => Reply {
  return (ctx, argv) => (ctx.server.acl === undefined ? NO_ACL : fn(ctx, ctx.server.acl, argv));
}

function managedByFile(server: ServerContext): boolean {
  return serverMode(server) === 'cluster';
}

const setuser = withAcl((ctx, acl, argv) => {
  if (managedByFile(ctx.server)) return error(CLUSTER_ACL_REFUSED);
  const name = argv[2]!.toString('utf8');
  try {
    acl.setUser(name, argv.slice(3).map((a) => a.toString('utf8')));
  } catch (err) {
    if (err instanceof AclRuleError) return error(`ERR ${err.message}`);
    throw err;
  }
  disconnectLostSubscribers(ctx, acl.get(name)!, acl.matchers);
  return OK;
});

/** Redis's ACLKillPubsubClientsIfNeeded: a subscriber of this user holding a channel or pattern it may no longer use is disconnected. */
function disconnectLostSubscribers(ctx: CommandContext, u: AclUser, matchers: PatternMatchers): void {
  const reg = ctx.server.pubsub?.registry;
  if (reg === undefined || u.allChannels) return;
  for (const c of ctx.server.clients.list()) {
    if (!c.authenticated || (c.aclUser ?? 'default') !== u.name) continue;
    const lost = [...reg.namesOf('channel', c), ...reg.namesOf('shard', c)].some((ch) => !channelAllowed(u, ch, false, matchers))
      || reg.namesOf('pattern', c).some((p) => !channelAllowed(u, p, true, matchers));
    if (!lost) continue;
    if (c === ctx.client) c.closeAfterReply = true;
    else c.kill();
  }
}

const getuser = withAcl((ctx, acl, argv) => {
  const u = acl.get(argv[2]!.toString('utf8'));
  if (u === undefined) return { kind: 'null' };
  const flags = userFlags(u);
  const channels = u.allChannels ? '&*' : u.channels.map((c) => '&' + c).join(' ');
  return map([
    [bulk('flags'), array(flags.map((f) => bulk(f)))],
    [bulk('passwords'), array(u.passwords.map((p) => bulk(p)))],
    [bulk('commands'), bulk(describeCommands(u))],
    [bulk('keys'), bulk(describeKeys(u))],
    [bulk('channels'), bulk(channels)],
    [bulk('selectors'), array([])],
  ]);
});

const deluser = withAcl((ctx, acl, argv) => {
  if (managedByFile(ctx.server)) return error(CLUSTER_ACL_REFUSED);
  const names = argv.slice(2).map((a) => a.toString('utf8'));
  try {
    const n = acl.delUsers(names);
    disconnectUsers(ctx.server, names, ctx.client);
    return integer(n);
  } catch (err) {
    if (err instanceof AclError) return error(err.message);
    throw err;
  }
});

const list = withAcl((_ctx, acl) => array(acl.all().map((u) => bulk(describeUser(u)))));
const users = withAcl((_ctx, acl) => array(acl.all().map((u) => bulk(u.name))));

const save = withAcl((_ctx, acl) => {
  try {
    acl.save();
    return OK;
  } catch (err) {
    if (err instanceof AclError) return error(err.message);
    return error(`ERR There was an error trying to save the ACLs. Please check the server logs for more information`);
  }
});

const load = withAcl((ctx, acl) => {
  try {
    disconnectUsers(ctx.server, acl.load(), ctx.client);
    return OK;
  } catch (err) {
    if (err instanceof AclError) return error(err.message);
    if (err instanceof AclFileError) return error(`ERR ${err.message}`);
    return error(`ERR Error loading ACLs, user list is not valid: ${(err as Error).message}`);
  }
});

export const aclUserCommands: readonly CommandSpec[] = [
  defineCommand('acl|setuser', setuser),
  defineCommand('acl|getuser', getuser),
  defineCommand('acl|deluser', deluser),
  defineCommand('acl|list', list),
  defineCommand('acl|users', users),
  defineCommand('acl|save', save),
  defineCommand('acl|load', load),
];
