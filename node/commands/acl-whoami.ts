/**
 * The ACL container command: WHOAMI here (the connection's user, "default"
 * until AUTH as another), the user management and inspection subcommands
 * in acl-users.ts and acl-inspect.ts.
 */
import { bulk } from '../resp/reply.js';
import type { CommandSpec } from './types.js';
import { defineCommand } from './meta.js';
import { aclUserCommands } from './acl-users.js';
import { aclInspectCommands } from './acl-inspect.js';

export const aclCommand: CommandSpec = defineCommand('acl', undefined, [
  defineCommand('acl|whoami', (ctx) => bulk(ctx.client.aclUser ?? 'default')),
  ...aclUserCommands,
  ...aclInspectCommands,
]);
