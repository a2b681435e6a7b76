/**
 * The dispatcher's ACL step: which user a connection runs as, whether it
 * may run this command with these keys and channels, and the ACL LOG entry
 * and NOPERM reply when it may not.
 */
import type { ClientState, CommandSpec, ServerContext } from '../commands/types.js';
import { clientInfoLine } from '../commands/client.js';
import { canReadKey, checkCommand, nopermMessage, type Denial } from './check.js';
import type { AclStore } from './store.js';
import type { AclUser } from './user.js';

/** The user a connection runs as (an authenticated one, or "default" when it is open); undefined if none. */
export function connectionUser(acl: AclStore, client: ClientState): AclUser | undefined {
  if (client.authenticated) return acl.get(client.aclUser ?? 'default');
  return acl.defaultOpen() ? acl.get('default') : undefined;
}

/** Null when allowed, else the NOPERM line (the denial is logged in ACL LOG). */
export function enforceAcl(server: ServerContext, acl: AclStore, client: ClientState, fullname: string, argv: readonly Buffer[]): string | null {
  const denial = deny(server, acl, client, fullname, argv, client.multi !== null);
  return denial === null ? null : nopermMessage(denial);
}

/** Why the connection's user may not run argv (logged in ACL LOG), or null. */
function deny(server: ServerContext, acl: AclStore, client: ClientState, fullname: string, argv: readonly Buffer[], inMulti: boolean): Denial | null {
  const user = connectionUser(acl, client);
  const cmd = acl.catalog.get(fullname);
  if (cmd === undefined) return null;
  if (user === undefined) return { reason: 'command', object: fullname };
  if (user.allCommands && user.allKeys && user.allChannels) return null;
  const denial = checkCommand(user, cmd, argv, acl.matchers);
  if (denial === null) return null;
  acl.log.add({
    reason: denial.reason,
    context: inMulti ? 'multi' : 'toplevel',
    object: typeof denial.object === 'string' ? denial.object : denial.object.toString('utf8'),
    username: user.name,
    clientInfo: clientInfoLine(client, server.now()).trimEnd(),
  }, server.now());
  return denial;
}

/**
 * EXEC re-checks each queued command (Redis's execCommand): rules may have
 * changed since it was queued. Null when allowed, else the NOPERM line.
 */
export function enforceQueued(server: ServerContext, client: ClientState, spec: CommandSpec, argv: readonly Buffer[]): string | null {
  const acl = server.acl;
  if (acl === undefined || spec.flags.includes('no_auth')) return null;
  const parent = server.commands.lookup(argv[0]!.toString('latin1').toLowerCase());
  const fullname = parent === undefined || parent === spec ? spec.name : `${parent.name}|${spec.name}`;
  const denial = deny(server, acl, client, fullname, argv, true);
  if (denial === null) return null;
  const reason = denial.reason === 'command' ? 'no permission to execute the command or subcommand'
    : denial.reason === 'key' ? 'no permission to touch the specified keys'
      : 'no permission to access one of the channels used as arguments';
  return 'NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. '
    + `This command is no longer allowed for the following reason: ${reason}`;
}

/** A failed AUTH / HELLO AUTH (ACL LOG reason "auth", object "AUTH"). */
export function logAuthFailure(server: ServerContext, acl: AclStore, client: ClientState, username: string): void {
  acl.log.add({ reason: 'auth', context: 'toplevel', object: 'AUTH', username, clientInfo: clientInfoLine(client, server.now()).trimEnd() }, server.now());
}

/**
 * For listing commands (SCAN, KEYS, RANDOMKEY, CLUSTER GETKEYSINSLOT,
 * DBSIZE): the keys the connection's user may read, or null when it may
 * read every key. Redis lists every key whatever the user's patterns;
 * IrisDB filters, so a tenant cannot learn another tenant's keys.
 */
export function readableKeys(server: ServerContext, client: ClientState): ((key: Uint8Array) => boolean) | null {
  const acl = server.acl;
  if (acl === undefined) return null;
  const user = connectionUser(acl, client);
  if (user === undefined) return () => false;
  if (user.allKeys) return null;
  return (key) => canReadKey(user, key, acl.matchers);
}
